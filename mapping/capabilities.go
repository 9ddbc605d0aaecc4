package mapping

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Status says how much of an EWS capability Microsoft Graph v1.0 covers.
type Status string

// Statuses, best first.
const (
	StatusDirect  Status = "direct"  // Graph has an equivalent that carries the same data
	StatusPartial Status = "partial" // Graph covers part of it, or with a caveat
	StatusNone    Status = "none"    // no Graph equivalent; the remedy is outside Graph
)

// Capability is one row of the EWS-to-Graph map.
type Capability struct {
	ID     string `json:"id"`    // stable, e.g. rules.inbox
	Area   string `json:"area"`  // mail, folders, calendar, contacts, tasks, rules, ...
	EWS    string `json:"ews"`   // the EWS operation or element
	Graph  string `json:"graph"` // the Graph v1.0 resource or call; empty when none
	Status Status `json:"status"`
	Notes  string `json:"notes,omitempty"`  // the caveat, with the fact behind it
	Remedy string `json:"remedy,omitempty"` // what to do about a gap
}

// Capabilities returns the EWS-to-Graph capability map, a fresh slice on
// every call so that callers may sort or filter it. The facts come from
// Microsoft's "EWS to Microsoft Graph API mappings" page and the Graph and
// EWS references (see the project's reference notes).
func Capabilities() []Capability {
	return []Capability{
		// Mail.
		{
			ID: "mail.messages", Area: "mail",
			EWS:    "CreateItem / GetItem / FindItem / UpdateItem / MoveItem (t:Message)",
			Graph:  "message: POST /users/{id}/mailFolders/{id}/messages, GET, PATCH, move",
			Status: StatusDirect,
			Notes:  "A message created through Graph is a draft unless the create body sets PR_MESSAGE_FLAGS (Integer 0x0E07, never 0x08) and the received and sent times (SystemTime 0x0E06, 0x0039); they can only be set at creation. Requests are limited to 4 MB.",
			Remedy: "exmigrate writes these properties in the JSON create; nothing to do.",
		},
		{
			ID: "mail.mime-import", Area: "mail",
			EWS:    "CreateItem with t:MimeContent",
			Graph:  "POST /users/{id}/messages with text/plain base64 MIME",
			Status: StatusPartial,
			Notes:  "A message created from MIME stays a draft for good: the extended properties cannot go in the same request. The 4 MB request limit applies to the base64 body.",
			Remedy: "Parse the MIME into a JSON create with the flag and date properties (exmigrate does this).",
		},
		{
			ID: "mail.export-import", Area: "mail",
			EWS:    "ExportItems / UploadItems (full-fidelity item blobs)",
			Graph:  "mailbox import/export API: exportItems, createImportSession (beta)",
			Status: StatusPartial,
			Notes:  "Beta and global cloud only; whether blobs exported by on-premises ExportItems import cleanly is untested.",
			Remedy: "Use the JSON create path; evaluate the import/export API in a test tenant before relying on it.",
		},
		{
			ID: "mail.extended-properties", Area: "mail",
			EWS:    "t:ExtendedFieldURI (MAPI properties)",
			Graph:  "singleValueExtendedProperties / multiValueExtendedProperties",
			Status: StatusDirect,
			Notes:  "Extended properties cannot be enumerated through Graph; each must be asked for by id.",
		},
		{
			ID: "mail.categories", Area: "mail",
			EWS:    "GetUserConfiguration (CategoryList)",
			Graph:  "outlookCategory: /users/{id}/outlook/masterCategories",
			Status: StatusDirect,
		},
		{
			ID: "mail.sync", Area: "mail",
			EWS:    "SyncFolderItems",
			Graph:  "message delta: /users/{id}/mailFolders/{id}/messages/delta",
			Status: StatusDirect,
			Notes:  "Per folder. $filter only on receivedDateTime, and a filtered delta returns at most 5,000 messages. An expired state is 410 SyncStateNotFound.",
		},
		{
			ID: "mail.size-limit", Area: "mail",
			EWS:    "items up to the on-premises size limits",
			Graph:  "messages up to the mailbox's MaxReceiveSize (35 MB default send, 36 MB receive; at most 150 MB)",
			Status: StatusPartial,
			Notes:  "Items over the target mailbox's message size limit are refused until the limit is raised; nothing over 150 MB can be written.",
			Remedy: "Raise the target mailbox's limits before the copy: Set-Mailbox <mailbox> -MaxReceiveSize 150MB -MaxSendSize 150MB.",
		},

		// Folders.
		{
			ID: "folders.hierarchy", Area: "folders",
			EWS:    "CreateFolder / GetFolder / FindFolder / MoveFolder / UpdateFolder",
			Graph:  "mailFolder, childFolders",
			Status: StatusDirect,
			Notes:  "Hidden folders are listed only with includeHiddenFolders=true.",
		},
		{
			ID: "folders.sync", Area: "folders",
			EWS:    "SyncFolderHierarchy",
			Graph:  "mailFolder delta: /users/{id}/mailFolders/delta",
			Status: StatusDirect,
		},
		{
			ID: "folders.well-known", Area: "folders",
			EWS:    "t:DistinguishedFolderId",
			Graph:  "well-known folder names (inbox, sentitems, deleteditems, recoverableitemsdeletions, ...)",
			Status: StatusPartial,
			Notes:  "EWS has names Graph lacks: recoverableitemspurges, recoverableitemsversions, recoverableitemsdiscoveryholds, the archive* roots and publicfoldersroot.",
		},
		{
			ID: "folders.search", Area: "folders",
			EWS:    "t:SearchFolder with a restriction",
			Graph:  "mailSearchFolder (filterQuery, sourceFolderIds, includeNestedFolders)",
			Status: StatusPartial,
			Notes:  "The EWS restriction must be rewritten as an OData filterQuery. Exchange Online deletes search folders created by an app after 45 days without use.",
			Remedy: "Recreate search folders in Outlook, or through mailSearchFolder with an equivalent filter.",
		},
		{
			ID: "folders.limits", Area: "folders",
			EWS:    "folders of any size and depth on-premises",
			Graph:  "Exchange Online: 1,000,000 items per folder, 10,000 subfolders per folder, 300 levels deep",
			Status: StatusPartial,
			Notes:  "Folders over these limits fail to copy or to move.",
			Remedy: "Split large folders and flatten deep trees before the move.",
		},

		// Calendar, contacts, tasks, notes.
		{
			ID: "calendar.items", Area: "calendar",
			EWS:    "t:CalendarItem (IPM.Appointment) in calendar folders",
			Graph:  "event, calendar",
			Status: StatusPartial,
			Notes:  "Creating an event with attendees sends invitations; organizer, responses and recurrence exceptions do not copy one-to-one. The exmigrate copy carries mail only so far.",
			Remedy: "Move calendars with a hybrid mailbox move (New-MigrationBatch / New-MoveRequest -Remote), or let the owner re-create them.",
		},
		{
			ID: "calendar.availability", Area: "calendar",
			EWS:    "GetUserAvailability",
			Graph:  "calendar getSchedule",
			Status: StatusDirect,
		},
		{
			ID: "calendar.reminders", Area: "calendar",
			EWS:    "GetReminders / PerformReminderAction",
			Graph:  "reminderView, event dismissReminder / snoozeReminder",
			Status: StatusDirect,
		},
		{
			ID: "contacts.items", Area: "contacts",
			EWS:    "t:Contact (IPM.Contact), contacts folders",
			Graph:  "contact, contactFolder",
			Status: StatusPartial,
			Notes:  "Personal contacts map; contact groups (t:DistributionList, IPM.DistList) have no Graph resource. The exmigrate copy carries personal contacts as typed properties (EWS t:Contact, Graph contact); photos and contact groups not yet.",
			Remedy: "Move contacts with a hybrid mailbox move, or export and import them in Outlook.",
		},
		{
			ID: "tasks.items", Area: "tasks",
			EWS:    "t:Task (IPM.Task)",
			Graph:  "todoTask in todoTaskList (Microsoft To Do)",
			Status: StatusPartial,
			Notes:  "Outlook tasks surface as To Do tasks with fewer fields; task requests and assigned tasks have no Graph form.",
			Remedy: "Move tasks with a hybrid mailbox move.",
		},
		{
			ID: "notes.items", Area: "notes",
			EWS:    "Outlook notes (IPM.StickyNote) and journal (IPM.Activity) items",
			Graph:  "",
			Status: StatusNone,
			Remedy: "Move them with a hybrid mailbox move, or export them to a PST in Outlook.",
		},

		// Attachments.
		{
			ID: "attachments.small", Area: "attachments",
			EWS:    "CreateAttachment / GetAttachment (file and item attachments)",
			Graph:  "POST .../messages/{id}/attachments (fileAttachment, itemAttachment)",
			Status: StatusDirect,
			Notes:  "Under 3 MB, within the 4 MB request limit.",
		},
		{
			ID: "attachments.large", Area: "attachments",
			EWS:    "CreateAttachment with a large t:Content",
			Graph:  "attachment createUploadSession (3 MB to 150 MB, chunks under 4 MB)",
			Status: StatusDirect,
			Notes:  "The upload URL is pre-authenticated and takes no Authorization header; uploads count against 150 MB per 5 minutes per mailbox.",
		},
		{
			ID: "attachments.over-150mb", Area: "attachments",
			EWS:    "items and attachments over 150 MB",
			Graph:  "",
			Status: StatusNone,
			Notes:  "Graph cannot write anything over 150 MB; neither can a hybrid move.",
			Remedy: "Save the large attachments to OneDrive or SharePoint and send links, or export the items to a PST before the move.",
		},

		// Rules.
		{
			ID: "rules.inbox", Area: "rules",
			EWS:    "GetInboxRules / UpdateInboxRules (t:Rule)",
			Graph:  "messageRule on mailFolders/inbox/messageRules",
			Status: StatusPartial,
			Notes:  "Most predicates and actions map one-to-one. Rules with conditions Graph cannot express come back with empty conditions and isReadOnly. PATCH replaces whole condition objects, so a round trip can drop predicates. Folder ids must be remapped to the target.",
			Remedy: "exmigrate copy --rules creates the fully mappable rules and reports the rest.",
		},
		{
			ID: "rules.conditions-unmappable", Area: "rules",
			EWS:    "rule conditions and exceptions FromConnectedAccounts, ItemClasses, MessageClassifications, WithinDateRange",
			Graph:  "",
			Status: StatusNone,
			Remedy: "Re-create such rules in Outlook on the web or with New-InboxRule after the move.",
		},
		{
			ID: "rules.actions-unmappable", Area: "rules",
			EWS:    "rule actions SendSMSAlertToRecipients, ServerReplyWithMessage",
			Graph:  "",
			Status: StatusNone,
			Remedy: "Re-create the reply template and the rule in Outlook after the move.",
		},
		{
			ID: "rules.state", Area: "rules",
			EWS:    "t:Rule IsNotSupported, IsInError",
			Graph:  "messageRule isReadOnly, hasError (read-only)",
			Status: StatusPartial,
			Notes:  "A rule EWS cannot edit or that is in error cannot be carried faithfully.",
			Remedy: "Fix or re-create the rule in Outlook.",
		},
		{
			ID: "rules.client-only", Area: "rules",
			EWS:    "GetInboxRules OutlookRuleBlobExists (client-only rules)",
			Graph:  "",
			Status: StatusNone,
			Notes:  "Client-only rules live in the Outlook rule blob and are not visible through Graph.",
			Remedy: "Export them in Outlook (Rules and Alerts, Options, Export Rules) and import them on the new profile.",
		},

		// Public folders.
		{
			ID: "publicfolders.items", Area: "public-folders",
			EWS:    "publicfoldersroot: FindFolder (shallow), FindItem, GetItem",
			Graph:  "",
			Status: StatusNone,
			Notes:  "Graph has no public folder API, and the import/export API does not cover them.",
			Remedy: "Move the tree with a public folder migration batch (New-MigrationBatch with the folder-to-mailbox map), or to Microsoft 365 Groups.",
		},
		{
			ID: "publicfolders.calendars", Area: "public-folders",
			EWS:    "calendar folders (IPF.Appointment) in the public folder tree",
			Graph:  "",
			Status: StatusNone,
			Remedy: "Move them with the public folder migration, or replace them with a shared mailbox or group calendar.",
		},

		// Archive and recoverable items.
		{
			ID: "archive.mailbox", Area: "archive",
			EWS:    "archiveroot / archivemsgfolderroot (online archive)",
			Graph:  "",
			Status: StatusNone,
			Notes:  "The v1.0 mail API does not reach in-place archive mailboxes, in Exchange Online or on Exchange Server; the well-known folder 'archive' is the One-Click Archive folder of the primary. Beta only: /beta/admin/exchange/mailboxes/{inPlaceArchiveMailboxId}.",
			Remedy: "Move the archive with a hybrid move (New-MoveRequest -Remote -ArchiveOnly, or a migration batch that moves primary and archive).",
		},
		{
			ID: "recoverable.items", Area: "archive",
			EWS:    "recoverableitemsroot, recoverableitemsdeletions / purges / versions / discoveryholds",
			Graph:  "well-known folder recoverableitemsdeletions",
			Status: StatusPartial,
			Notes:  "Only the Deletions folder is reachable through Graph; a copy does not carry Recoverable Items.",
			Remedy: "Use a hybrid move when Recoverable Items must be kept (for example under hold).",
		},

		// Access.
		{
			ID: "access.impersonation", Area: "access",
			EWS:    "ExchangeImpersonation header (ApplicationImpersonation role)",
			Graph:  "application permissions (client credentials), scoped with RBAC for Applications or application access policies",
			Status: StatusPartial,
			Notes:  "The app acts as itself, not as the user. ApplicationImpersonation was removed from Exchange Online in February 2025.",
			Remedy: "Grant Mail.ReadWrite (and MailboxSettings.ReadWrite for rules) as application permissions and scope them to the migrated mailboxes.",
		},
		{
			ID: "access.onprem-through-graph", Area: "access",
			EWS:    "on-premises mailboxes through EWS",
			Graph:  "",
			Status: StatusNone,
			Notes:  "Graph REST access to on-premises mailboxes in hybrid was blocked from March 2023; Graph answers MailboxNotEnabledForRESTAPI.",
			Remedy: "Read on-premises mailboxes through EWS (exmigrate does this).",
		},

		// Holds and retention.
		{
			ID: "holds.in-place", Area: "holds",
			EWS:    "GetDiscoverySearchConfiguration / GetHoldOnMailboxes / SetHoldOnMailboxes (In-Place Hold)",
			Graph:  "",
			Status: StatusNone,
			Notes:  "In-Place Holds are retired in Exchange Online; the successor is a Microsoft Purview eDiscovery case hold (Graph security ediscoveryHoldPolicy), not part of the mail API.",
			Remedy: "Re-create the hold as a Purview eDiscovery case hold on the target before the source is retired: New-CaseHoldPolicy / New-CaseHoldRule.",
		},
		{
			ID: "holds.litigation", Area: "holds",
			EWS:    "(not in the EWS schema)",
			Graph:  "",
			Status: StatusNone,
			Notes:  "Litigation hold is a mailbox property visible only to Exchange PowerShell; a non-empty DiscoveryHolds folder is only a hint.",
			Remedy: "Check with Get-Mailbox <mailbox> | Format-List LitigationHoldEnabled,LitigationHoldDuration,InPlaceHolds and set it on the target with Set-Mailbox -LitigationHoldEnabled $true.",
		},
		{
			ID: "retention.tags", Area: "holds",
			EWS:    "GetUserRetentionPolicyTags, t:PolicyTag / t:ArchiveTag on folders and items",
			Graph:  "",
			Status: StatusNone,
			Notes:  "Graph has no API for Exchange retention tags on mailbox folders and items.",
			Remedy: "Assign the retention policy on the target (Set-Mailbox -RetentionPolicy) and re-create personal tags with New-RetentionPolicyTag.",
		},

		// Delegates and permissions.
		{
			ID: "delegates", Area: "delegates",
			EWS:    "GetDelegate / AddDelegate (delegate users and their folder permissions)",
			Graph:  "calendarPermission (delegateWithoutPrivateEventAccess, delegateWithPrivateEventAccess)",
			Status: StatusPartial,
			Notes:  "Graph has calendar sharing and delegation only: no Inbox, Contacts, Tasks or Notes delegate permissions, no meeting-request delivery setting.",
			Remedy: "Re-create delegates with Add-MailboxFolderPermission -SharingPermissionFlags Delegate on the calendar and Add-MailboxFolderPermission on the other folders.",
		},
		{
			ID: "permissions.folders", Area: "delegates",
			EWS:    "t:PermissionSet on folders (GetFolder / UpdateFolder)",
			Graph:  "calendarPermission (calendars only)",
			Status: StatusPartial,
			Notes:  "Permissions on mail, contacts and task folders have no Graph form.",
			Remedy: "Re-create them with Add-MailboxFolderPermission.",
		},
		{
			ID: "permissions.mailbox", Area: "delegates",
			EWS:    "(not in EWS) Full Access, Send As, Send on Behalf",
			Graph:  "",
			Status: StatusNone,
			Remedy: "Re-create with Add-MailboxPermission -AccessRights FullAccess, Add-RecipientPermission -AccessRights SendAs and Set-Mailbox -GrantSendOnBehalfTo.",
		},

		// Notifications.
		{
			ID: "notifications.push", Area: "notifications",
			EWS:    "Subscribe / Unsubscribe (push notifications)",
			Graph:  "subscription (change notifications to a webhook)",
			Status: StatusDirect,
			Notes:  "At most 1,000 active Outlook subscriptions per mailbox across all apps; the webhook must be reachable over HTTPS.",
		},
		{
			ID: "notifications.pull", Area: "notifications",
			EWS:    "Subscribe (pull) / GetEvents",
			Graph:  "message delta",
			Status: StatusPartial,
			Notes:  "Graph has no pull subscription; poll the delta query instead.",
		},
		{
			ID: "notifications.streaming", Area: "notifications",
			EWS:    "Subscribe (streaming) / GetStreamingEvents",
			Graph:  "subscription (webhook) or message delta",
			Status: StatusPartial,
			Notes:  "Graph has no streaming connection; notifications arrive at a webhook, or changes are polled with delta.",
		},

		// Settings and utilities.
		{
			ID: "settings.oof", Area: "settings",
			EWS:    "GetUserOofSettings / SetUserOofSettings",
			Graph:  "mailboxSettings automaticRepliesSetting",
			Status: StatusDirect,
		},
		{
			ID: "settings.mailtips", Area: "settings",
			EWS:    "GetMailTips",
			Graph:  "user getMailTips",
			Status: StatusDirect,
		},
		{
			ID: "settings.user-configuration", Area: "settings",
			EWS:    "GetUserConfiguration / UpdateUserConfiguration (folder-associated configuration items)",
			Graph:  "",
			Status: StatusNone,
			Notes:  "Only the category list has a Graph form (masterCategories).",
			Remedy: "Let a hybrid move carry them, or let users re-apply their client settings.",
		},
		{
			ID: "utility.convert-id", Area: "settings",
			EWS:    "ConvertId",
			Graph:  "user translateExchangeIds (up to 1,000 ids)",
			Status: StatusDirect,
		},
		{
			ID: "utility.resolve-names", Area: "settings",
			EWS:    "ResolveNames",
			Graph:  "List people, users",
			Status: StatusPartial,
			Notes:  "Graph searches people and users; there is no single call that resolves ambiguous names the EWS way.",
		},
	}
}

// CapabilityByID returns the capability with the given id.
func CapabilityByID(id string) (Capability, bool) {
	for _, c := range Capabilities() {
		if c.ID == id {
			return c, true
		}
	}
	return Capability{}, false
}

// WriteCapabilitiesTable writes caps as an aligned text table (STATUS, ID,
// EWS, GRAPH, REMEDY) followed by a one-line summary.
func WriteCapabilitiesTable(w io.Writer, caps []Capability) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tID\tEWS\tGRAPH\tREMEDY")
	counts := map[Status]int{}
	for _, c := range caps {
		counts[c.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n",
			cell(string(c.Status)), cell(c.ID), cell(c.EWS), cell(c.Graph), cell(c.Remedy))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write capabilities table: %w", err)
	}
	_, err := fmt.Fprintf(w, "\n%d capabilities: %d direct, %d partial, %d none\n",
		len(caps), counts[StatusDirect], counts[StatusPartial], counts[StatusNone])
	if err != nil {
		return fmt.Errorf("write capabilities table: %w", err)
	}
	return nil
}

// cell keeps one value on one table row: tabs and newlines would break the
// alignment.
// An empty cell is a dash, so that no row ends in padding.
func cell(s string) string {
	if s = strings.Join(strings.Fields(s), " "); s == "" {
		return "-"
	}
	return s
}

// WriteCapabilitiesJSON writes caps as an indented JSON array.
func WriteCapabilitiesJSON(w io.Writer, caps []Capability) error {
	if caps == nil {
		caps = []Capability{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // remedies hold <placeholders>; this is not HTML
	if err := enc.Encode(caps); err != nil {
		return fmt.Errorf("write capabilities JSON: %w", err)
	}
	return nil
}
