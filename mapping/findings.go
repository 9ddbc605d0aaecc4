package mapping

import (
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/reports"
)

// Finding codes. They are a stable interface: reports, filters and
// run-books refer to them, so a code is never renamed or reused.
const (
	CodeMailboxUnreadable = "EXM-MAILBOX-UNREADABLE"
	CodePartUnreadable    = "EXM-PART-UNREADABLE"

	CodePublicFolders              = "EXM-PF-PRESENT"
	CodePublicFolderCalendars      = "EXM-PF-CALENDAR"
	CodePublicFolderHierarchyLimit = "EXM-PF-HIERARCHY-LIMIT"
	CodePublicFolderUnreadable     = "EXM-PF-UNREADABLE"

	CodeInPlaceHold           = "EXM-HOLD-INPLACE"
	CodeLitigationHold        = "EXM-HOLD-LITIGATION"
	CodeLitigationHoldUnknown = "EXM-HOLD-LITIGATION-UNKNOWN"

	CodeArchive          = "EXM-ARCHIVE-NOT-REACHABLE"
	CodeRecoverableItems = "EXM-RECOVERABLE-ITEMS"

	CodeDelegate          = "EXM-DELEGATE"
	CodeFolderPermission  = "EXM-FOLDER-PERMISSION"
	CodeMailboxPermission = "EXM-MAILBOX-PERMISSION"

	CodeItemOverTenantLimit = "EXM-ITEM-OVER-TENANT-LIMIT"
	CodeItemOver150MB       = "EXM-ITEM-OVER-150MB"
	CodeFolderItemsLimit    = "EXM-FOLDER-ITEMS-LIMIT"
	CodeFolderDepthLimit    = "EXM-FOLDER-DEPTH-LIMIT"
	CodeFolderChildrenLimit = "EXM-FOLDER-CHILDREN-LIMIT"
	CodeMailboxOverQuota    = "EXM-MAILBOX-OVER-QUOTA"

	CodeContentNotCopied = "EXM-CONTENT-NOT-COPIED"
	// CodeContentCarriedWithLoss: the assessment's prediction that a kind
	// moves on a path that drops part of it (the declared Path.Loses).
	CodeContentCarriedWithLoss = "EXM-CONTENT-CARRIED-WITH-LOSS"

	// What a copy carried with a loss, item by item (mailbox.Loss codes
	// the adapters report; the copy results list them).
	CodeMeetingAsAppointment = mailbox.LossMeetingAsAppointment
	CodeTaskFieldsLost       = mailbox.LossTaskFields
	CodeAttachmentLeftOut    = mailbox.LossAttachmentTooLarge
	CodeZoneUnknown          = mailbox.LossTimeZone
	CodeOccurrenceDetails    = mailbox.LossOccurrenceDetails
	CodeContactPhotoLost     = mailbox.LossContactPhoto
	CodeResponsesInBody      = mailbox.LossResponsesInBody

	CodeRuleConditionUnmappable = "EXM-RULE-CONDITION-UNMAPPABLE"
	CodeRuleExceptionUnmappable = "EXM-RULE-EXCEPTION-UNMAPPABLE"
	CodeRuleActionUnmappable    = "EXM-RULE-ACTION-UNMAPPABLE"
	CodeRuleFolderUnresolved    = "EXM-RULE-FOLDER-UNRESOLVED"
	CodeRuleNotSupported        = "EXM-RULE-NOT-SUPPORTED"
	CodeRuleInError             = "EXM-RULE-IN-ERROR"
	CodeRuleClientOnly          = "EXM-RULE-CLIENT-ONLY"
)

// FindingKind describes one finding code: what it means and what to do.
type FindingKind struct {
	Code     string           `json:"code"`
	Category reports.Category `json:"category"`
	Severity reports.Severity `json:"severity"` // the default; a finding keeps it
	Title    string           `json:"title"`
	Remedy   string           `json:"remedy"`
	// Fix is the command template, empty when no single call fixes it.
	// Placeholders in braces ({mailbox}, {user}, {folder}, {rights},
	// {object}) are filled in per finding; those in angle brackets
	// (<tenant>) are for the administrator to fill in.
	Fix string `json:"fix,omitempty"`
}

// The commands in the fixes. Exchange Management Shell on-premises, Exchange
// Online PowerShell or Security & Compliance PowerShell as the remedy says.
const (
	fixImpersonation    = "New-ManagementRoleAssignment -Name 'exmigrate-impersonation' -Role ApplicationImpersonation -User '<service account>'"
	fixDiscovery        = "Add-RoleGroupMember -Identity 'Discovery Management' -Member '<service account>'"
	fixPFMigration      = "New-MigrationBatch -Name 'PublicFolderMigration' -SourceEndpoint '<public folder endpoint>' -CSVData ([System.IO.File]::ReadAllBytes('<folder-to-mailbox map>.csv')) -NotificationEmails '<admin>'"
	fixCaseHold         = "New-CaseHoldPolicy -Name '{object}' -Case '<eDiscovery case>' -ExchangeLocation '{mailbox}'; New-CaseHoldRule -Name '{object}' -Policy '{object}'{query}"
	fixLitigationCheck  = "Get-Mailbox -Identity '{mailbox}' | Format-List LitigationHoldEnabled,LitigationHoldDuration,InPlaceHolds"
	fixLitigationSet    = "Set-Mailbox -Identity '{mailbox}' -LitigationHoldEnabled $true"
	fixArchiveMove      = "New-MoveRequest -Identity '{mailbox}' -Remote -ArchiveOnly -RemoteHostName '<hybrid endpoint>' -TargetDeliveryDomain '<tenant>.mail.onmicrosoft.com' -RemoteCredential (Get-Credential)"
	fixMailboxMove      = "New-MoveRequest -Identity '{mailbox}' -Remote -RemoteHostName '<hybrid endpoint>' -TargetDeliveryDomain '<tenant>.mail.onmicrosoft.com' -RemoteCredential (Get-Credential)"
	fixDelegate         = "Add-MailboxFolderPermission -Identity '{mailbox}:\\Calendar' -User '{user}' -AccessRights Editor -SharingPermissionFlags Delegate"
	fixFolderPermission = "Add-MailboxFolderPermission -Identity '{mailbox}:\\{folder}' -User '{user}' -AccessRights '{rights}'"
	fixFullAccess       = "Add-MailboxPermission -Identity '{mailbox}' -User '{user}' -AccessRights FullAccess -InheritanceType All"
	fixSendAs           = "Add-RecipientPermission -Identity '{mailbox}' -Trustee '{user}' -AccessRights SendAs -Confirm:$false"
	fixSendOnBehalf     = "Set-Mailbox -Identity '{mailbox}' -GrantSendOnBehalfTo @{Add='{user}'}"
	fixMessageSize      = "Set-Mailbox -Identity '{mailbox}' -MaxReceiveSize 150MB -MaxSendSize 150MB"
	fixEnableArchive    = "Enable-Mailbox -Identity '{mailbox}' -Archive"
)

var catalogue = []FindingKind{
	{CodeMailboxUnreadable, reports.CategoryAccess, reports.SeverityBlocker,
		"Mailbox could not be read",
		"Fix the cause named in the finding (permission, address, location) and assess again.",
		fixImpersonation},
	{CodePartUnreadable, reports.CategoryAccess, reports.SeverityWarning,
		"Part of the mailbox could not be read",
		"The assessment is incomplete for that part; grant the missing right or fix the cause and assess again.",
		""},
	{CodePublicFolders, reports.CategoryPublicFolders, reports.SeverityWarning,
		"Public folders have no Graph equivalent",
		"Into Exchange Online, move the tree with a public folder migration batch (or to Microsoft 365 Groups): Graph has no public folder API. Between Exchange Server organisations, exmigrate copies public folder content (copy --public-folders).",
		fixPFMigration},
	{CodePublicFolderCalendars, reports.CategoryPublicFolders, reports.SeverityWarning,
		"Public folder calendars have no Graph equivalent",
		"Move them with the public folder migration, or replace them with a shared mailbox or group calendar.",
		""},
	{CodePublicFolderHierarchyLimit, reports.CategoryPublicFolders, reports.SeverityBlocker,
		"Public folder hierarchy over the migration limit",
		"Remove or archive unused public folders until the hierarchy is under the limit.",
		""},
	{CodePublicFolderUnreadable, reports.CategoryPublicFolders, reports.SeverityWarning,
		"Public folder tree could not be read",
		"Check the configured public folder mailbox and that the service account can read public folders, then assess again.",
		""},
	{CodeInPlaceHold, reports.CategoryHolds, reports.SeverityBlocker,
		"In-Place hold covers the mailbox",
		"In-Place Holds are retired in Exchange Online and a copy does not carry held content: re-create the hold as a Purview eDiscovery case hold on the target before the source is retired (Security & Compliance PowerShell).",
		fixCaseHold},
	{CodeLitigationHold, reports.CategoryHolds, reports.SeverityBlocker,
		"Litigation hold is enabled",
		"A copy does not carry Recoverable Items or the hold: set litigation hold on the target before the copy and keep the source until legal agrees (Exchange Online PowerShell).",
		fixLitigationSet},
	{CodeLitigationHoldUnknown, reports.CategoryHolds, reports.SeverityInfo,
		"Litigation hold is not visible through the API",
		"Check litigation hold with Exchange PowerShell; if it is enabled, set it on the target before the copy.",
		fixLitigationCheck},
	{CodeArchive, reports.CategoryArchive, reports.SeverityWarning,
		"Online archive is not reachable through Graph v1.0",
		"Copy it through Graph's import/export API for archives, which Microsoft offers as a preview (beta): set archive: preview and full_fidelity: true on the cloud endpoint and copy with --stores primary,archive; or move the archive with a hybrid move request (archive only).",
		fixArchiveMove},
	{CodeRecoverableItems, reports.CategoryArchive, reports.SeverityInfo,
		"Recoverable Items are copied only on request",
		"Nothing to do unless they must be kept (for example under hold): then copy with --stores primary,archive,recoverable, which puts them in the folder \"Recoverable Items (migrated)\" of the target's primary mailbox or archive (--recoverable-into), because no service documents a write into Recoverable Items; or use a hybrid move, which keeps them in place.",
		""},
	{CodeDelegate, reports.CategoryDelegates, reports.SeverityWarning,
		"Delegate must be re-created",
		"Graph can express calendar delegation only (calendarPermission); re-create the delegate and its folder permissions with Exchange Online PowerShell after the move.",
		fixDelegate},
	{CodeFolderPermission, reports.CategoryDelegates, reports.SeverityWarning,
		"Folder permission must be re-created",
		"Graph has calendar permissions only; re-create folder permissions with Add-MailboxFolderPermission after the move.",
		fixFolderPermission},
	{CodeMailboxPermission, reports.CategoryDelegates, reports.SeverityWarning,
		"Mailbox permission must be re-created",
		"Full Access, Send As and Send on Behalf have no Graph form; re-create them with Exchange Online PowerShell after the move.",
		fixFullAccess},
	{CodeItemOverTenantLimit, reports.CategoryLimits, reports.SeverityWarning,
		"Items over the tenant's message size limit",
		"Raise the target mailbox's message size limits (up to 150 MB) before the copy, or those items are refused.",
		fixMessageSize},
	{CodeItemOver150MB, reports.CategoryLimits, reports.SeverityBlocker,
		"Items over 150 MB",
		"Nothing over 150 MB can be written to Exchange Online: save the large attachments to OneDrive or SharePoint, or export the items to a PST, before the move.",
		""},
	{CodeFolderItemsLimit, reports.CategoryLimits, reports.SeverityBlocker,
		"Folder over the item limit",
		"Split the folder (move older items into sub-folders) until each folder is under the limit.",
		""},
	{CodeFolderDepthLimit, reports.CategoryLimits, reports.SeverityBlocker,
		"Folder nested deeper than the limit",
		"Flatten the folder tree until no folder is deeper than the limit.",
		""},
	{CodeFolderChildrenLimit, reports.CategoryLimits, reports.SeverityBlocker,
		"Folder with more sub-folders than the limit",
		"Regroup the sub-folders under intermediate folders until no folder has more than the limit.",
		""},
	{CodeMailboxOverQuota, reports.CategoryLimits, reports.SeverityWarning,
		"Primary mailbox larger than the target quota",
		"License the target for a larger mailbox, or enable the archive and move older content there.",
		fixEnableArchive},
	{CodeContentNotCopied, reports.CategoryContent, reports.SeverityWarning,
		"Items the copy does not carry",
		"No path of the two sides carries these items (the finding says why): move them with a hybrid move, or export and import them in Outlook.",
		fixMailboxMove},
	{CodeContentCarriedWithLoss, reports.CategoryContent, reports.SeverityInfo,
		"Items the copy carries with a loss",
		"The items move on a typed path that drops what the finding names, and nothing is sent to anyone. Where that loss matters, run exmigrate check --fidelity to learn whether the full-fidelity path (EWS ExportItems/UploadItems between Exchange servers; the Graph mailbox import/export API with full_fidelity: true on the Graph endpoint) takes this mailbox's items, or move it with a hybrid move.",
		fixMailboxMove},
	{CodeMeetingAsAppointment, reports.CategoryContent, reports.SeverityWarning,
		"Meetings copied as appointments",
		"Graph cannot write a meeting without inviting its attendees, so each meeting is in the owner's calendar as an appointment: its organizer, attendees and their responses are written into its body, and no one was sent anything. To keep meetings live, move the mailbox with a hybrid move, or with exmigrate's full-fidelity path where exmigrate check --fidelity finds that the tenant's import takes the source's data (full_fidelity and accept_ews_streams on the Graph endpoint), or have organizers re-send them from the target after cut-over.",
		fixMailboxMove},
	{CodeResponsesInBody, reports.CategoryContent, reports.SeverityInfo,
		"Meetings copied without their attendees' responses",
		"Exchange lets no client set an attendee's response: the meeting keeps its attendees, nothing was sent, and each response the source knew is written into the body. Attendees who answer again update it.",
		""},
	{CodeTaskFieldsLost, reports.CategoryContent, reports.SeverityWarning,
		"Tasks copied without some fields",
		"The target does not take every task field: Microsoft To Do holds no percent complete, owner, delegator or sensitivity, and Exchange sets a task's owner, delegator and complete date itself. The finding names what each task lost; tell the owners, or run exmigrate check --fidelity to learn whether the full-fidelity path carries them whole.",
		""},
	{CodeAttachmentLeftOut, reports.CategoryContent, reports.SeverityWarning,
		"Attachments too large for a typed item",
		"Typed items carry attachments up to 3 MB; the larger ones were left out and are named in the item's body. Copy them by hand from the source item.",
		""},
	{CodeZoneUnknown, reports.CategoryContent, reports.SeverityInfo,
		"Calendar items in a time zone exmigrate does not know",
		"The item keeps its times as instants in UTC; its recurrence may drift by an hour around summer time. Open the series on the target and set its time zone.",
		""},
	{CodeOccurrenceDetails, reports.CategoryContent, reports.SeverityWarning,
		"Changed occurrences that kept their times only",
		"A changed occurrence of a series kept its new times but not its own subject, location or body. Edit it on the target.",
		""},
	{CodeContactPhotoLost, reports.CategoryContent, reports.SeverityInfo,
		"Contact photos not carried",
		"The target holds no photo for these contacts; add the photos again in Outlook.",
		""},
	{CodeRuleConditionUnmappable, reports.CategoryRules, reports.SeverityWarning,
		"Rule condition has no Graph form",
		"The rule is not created on the target; re-create it in Outlook on the web after the move.",
		""},
	{CodeRuleExceptionUnmappable, reports.CategoryRules, reports.SeverityWarning,
		"Rule exception has no Graph form",
		"The rule is not created on the target; re-create it in Outlook on the web after the move.",
		""},
	{CodeRuleActionUnmappable, reports.CategoryRules, reports.SeverityWarning,
		"Rule action has no Graph form",
		"The rule is not created on the target; re-create it in Outlook on the web after the move.",
		""},
	{CodeRuleFolderUnresolved, reports.CategoryRules, reports.SeverityWarning,
		"Rule names a folder that cannot be resolved",
		"Point the rule at an existing folder (or copy that folder) and assess again.",
		""},
	{CodeRuleNotSupported, reports.CategoryRules, reports.SeverityWarning,
		"Rule cannot be read through the API",
		"The rule has client-made parts; re-create it in Outlook after the move.",
		""},
	{CodeRuleInError, reports.CategoryRules, reports.SeverityInfo,
		"Rule is in error",
		"The rule does not run on the source either; fix or delete it in Outlook.",
		""},
	{CodeRuleClientOnly, reports.CategoryRules, reports.SeverityWarning,
		"Client-only rules exist",
		"Client-only rules live in the Outlook rule blob and are not visible to Graph: export them in Outlook (Rules and Alerts, Options, Export Rules) and import them after the move.",
		""},
}

// Catalogue returns every finding code with its category, default
// severity, title, remedy and fix template, in a stable order.
func Catalogue() []FindingKind {
	return append([]FindingKind(nil), catalogue...)
}

// KindByCode returns the catalogue entry for a code.
func KindByCode(code string) (FindingKind, bool) {
	for _, k := range catalogue {
		if k.Code == code {
			return k, true
		}
	}
	return FindingKind{}, false
}

// psQuote escapes a value for a single-quoted PowerShell string.
func psQuote(s string) string { return strings.ReplaceAll(s, "'", "''") }

// render fills a fix template. Values are escaped for single-quoted
// PowerShell strings, which is where every placeholder sits, except
// {query}, which is a ready-made fragment.
func render(tmpl string, vars map[string]string) string {
	if tmpl == "" {
		return ""
	}
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		if k != "query" {
			v = psQuote(v)
		}
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(tmpl)
}

// newFinding builds a finding of a catalogued kind. The fix template is the
// kind's unless fix is given; an empty vars map leaves no placeholder.
func newFinding(code, mbx, object, found string, fixTmpl string, vars map[string]string) reports.Finding {
	k, ok := KindByCode(code)
	if !ok {
		panic("mapping: finding code not in the catalogue: " + code) // a programming error caught by the tests
	}
	if fixTmpl == "" {
		fixTmpl = k.Fix
	}
	if vars == nil {
		vars = map[string]string{}
	}
	if _, ok := vars["mailbox"]; !ok {
		vars["mailbox"] = mbx
	}
	if _, ok := vars["object"]; !ok {
		vars["object"] = object
	}
	if _, ok := vars["query"]; !ok {
		vars["query"] = ""
	}
	return reports.Finding{
		Code:     k.Code,
		Severity: k.Severity,
		Category: k.Category,
		Mailbox:  mbx,
		Object:   object,
		Found:    found,
		Remedy:   k.Remedy,
		Fix:      render(fixTmpl, vars),
	}
}

// DeriveReadiness sums findings up: unreadable when the mailbox could not
// be read, blocked when any finding is a blocker, warnings when any is a
// warning, ready otherwise.
func DeriveReadiness(findings []reports.Finding) reports.Readiness {
	r := reports.Ready
	for _, f := range findings {
		switch {
		case f.Code == CodeMailboxUnreadable:
			return reports.Unreadable
		case f.Severity == reports.SeverityBlocker:
			r = reports.Blocked
		case f.Severity == reports.SeverityWarning && r == reports.Ready:
			r = reports.Warnings
		}
	}
	return r
}
