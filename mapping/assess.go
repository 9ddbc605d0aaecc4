package mapping

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/exmigrate/exmigrate/internal/humanize"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/reports"
)

// Exchange Online limits the assessment checks against.
const (
	DefaultTenantMessageBytes = 35 << 20  // default mailbox message size limit (send)
	MaxItemBytes              = 150 << 20 // nothing larger can be written to Exchange Online
	DefaultFolderItems        = 1_000_000 // items per folder
	DefaultFolderDepth        = 300       // levels below the root
	DefaultFolderChildren     = 10_000    // sub-folders per folder
	DefaultMailboxBytes       = 100 << 30 // primary mailbox quota with E3/E5 licences
	PublicFolderHierarchyMax  = 250_000   // public folders a migration supports
	DefaultLargestItems       = 10        // largest items kept per mailbox
)

// Limits are the thresholds an assessment checks. A zero field means the
// default.
type Limits struct {
	TenantMessageBytes int64 // the tenant's message size limit; default 35 MB
	MaxItemBytes       int64 // default 150 MB
	FolderItems        int64 // default 1,000,000
	FolderDepth        int   // default 300
	FolderChildren     int64 // default 10,000
	MailboxBytes       int64 // the target quota; default 100 GB
}

// DefaultLimits returns the Exchange Online defaults.
func DefaultLimits() Limits {
	return Limits{
		TenantMessageBytes: DefaultTenantMessageBytes,
		MaxItemBytes:       MaxItemBytes,
		FolderItems:        DefaultFolderItems,
		FolderDepth:        DefaultFolderDepth,
		FolderChildren:     DefaultFolderChildren,
		MailboxBytes:       DefaultMailboxBytes,
	}
}

// WithDefaults fills the zero fields of l with the defaults.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.TenantMessageBytes <= 0 {
		l.TenantMessageBytes = d.TenantMessageBytes
	}
	if l.MaxItemBytes <= 0 {
		l.MaxItemBytes = d.MaxItemBytes
	}
	if l.FolderItems <= 0 {
		l.FolderItems = d.FolderItems
	}
	if l.FolderDepth <= 0 {
		l.FolderDepth = d.FolderDepth
	}
	if l.FolderChildren <= 0 {
		l.FolderChildren = d.FolderChildren
	}
	if l.MailboxBytes <= 0 {
		l.MailboxBytes = d.MailboxBytes
	}
	return l
}

// Section names a part of a mailbox the dispatcher reads separately, so
// that a failure in one is reported without losing the others.
type Section string

// Sections of a mailbox inventory.
const (
	SectionFolders     Section = "folders"
	SectionItems       Section = "items"
	SectionArchive     Section = "archive"
	SectionRecoverable Section = "recoverable-items"
	SectionRules       Section = "rules"
	SectionDelegates   Section = "delegates"
	SectionPermissions Section = "permissions"
	SectionHolds       Section = "holds"
)

// FolderPermission is one entry of a folder's permission set.
type FolderPermission = mailbox.FolderPermission

// Mailbox-level permission rights.
const (
	RightFullAccess   = "FullAccess"
	RightSendAs       = "SendAs"
	RightSendOnBehalf = "SendOnBehalf"
)

// MailboxPermission is one mailbox-level right granted to another user.
type MailboxPermission struct {
	User  string
	Right string // RightFullAccess, RightSendAs or RightSendOnBehalf
}

// MailboxInventory is what the dispatcher read from one mailbox, on either
// side. Parts that could not be read carry their error in PartErrors.
type MailboxInventory struct {
	Address  string
	Location mailbox.Location
	Type     mailbox.MailboxType
	// TypeDetail says how Type was learnt, or why it could not be.
	TypeDetail string
	Batch      string
	// Err is set when the mailbox could not be read at all; nothing else is
	// looked at then.
	Err error

	Folders []mailbox.Folder // primary tree, root included
	Items   ItemStats        // from item pages; zero when items were not listed
	// NotCarried says, per item kind of the primary mailbox, why no route
	// carries it to the target, from the two sides' declared capabilities
	// (mailbox.PlanRoute); a kind absent from it is carried. Nil when the
	// target is not known: the findings then say what the copy carries.
	NotCarried map[mailbox.Kind]string
	// CarriedWithLoss says, per item kind carried, what the chosen path
	// drops (the sides' declared Path.Loses), for the assessment's
	// prediction. Nil or absent: nothing declared lost.
	CarriedWithLoss map[mailbox.Kind]string

	HasArchive     bool
	ArchiveFolders []mailbox.Folder
	ArchiveItems   ItemStats

	RecoverableFolders []mailbox.Folder

	Rules []mailbox.Rule
	// ClientOnlyRules is GetInboxRules' OutlookRuleBlobExists: client-only
	// rules exist that no API can see.
	ClientOnlyRules bool
	// RuleFolders resolves the folder ids rules refer to. Nil means "a
	// folder of the primary tree", which the copy will create.
	RuleFolders FolderMap

	Delegates          []mailbox.Delegate
	FolderPermissions  []FolderPermission
	MailboxPermissions []MailboxPermission

	Holds []mailbox.Hold // In-Place holds that cover the mailbox
	// LitigationHold is nil when unknown (neither EWS nor Graph shows it),
	// else whether it is enabled (e.g. from a PowerShell export).
	LitigationHold *bool

	PartErrors map[Section]error
}

// Assess turns one mailbox's inventory into its assessment and findings.
// Findings come most serious first; the assessment's Readiness is derived
// from them.
func Assess(in MailboxInventory, limits Limits) (reports.MailboxAssessment, []reports.Finding) {
	limits = limits.WithDefaults()
	a := reports.MailboxAssessment{
		Address:     in.Address,
		Location:    in.Location,
		Type:        in.Type,
		TypeDetail:  typeDetail(in),
		Batch:       in.Batch,
		ItemsByKind: map[mailbox.Kind]int64{},
	}
	if in.Err != nil {
		a.Error = in.Err.Error()
		f := unreadableFinding(in.Address, in.Location, in.Err)
		a.Readiness = reports.Unreadable
		return a, []reports.Finding{f}
	}

	var fs []reports.Finding
	add := func(f ...reports.Finding) { fs = append(fs, f...) }

	for _, s := range sectionOrder {
		if err := in.PartErrors[s]; err != nil {
			add(partUnreadableFinding(in.Address, in.Location, s, err))
		}
	}

	// Folders and sizes of the primary mailbox.
	fillFolderStats(&a, in.Folders)
	if len(in.Folders) == 0 {
		a.Items = in.Items.Items
	}
	if a.SizeBytes == 0 {
		a.SizeBytes = in.Items.SizeBytes
	}
	if len(in.Items.ByKind) > 0 {
		for k, n := range in.Items.ByKind {
			if n > 0 {
				a.ItemsByKind[k] = n
			}
		}
	} else {
		for _, f := range in.Folders {
			if f.Path != "" && f.ItemCount > 0 {
				a.ItemsByKind[folderKind(f.Class)] += f.ItemCount
			}
		}
	}
	a.LargestItems = slices.Clone(in.Items.Largest)
	a.ItemsOverTenant = in.Items.OverTenant
	a.ItemsOver150MB = in.Items.OverMax
	add(folderLimitFindings(in.Address, "", in.Folders, limits)...)
	add(itemLimitFindings(in.Address, "", in.Items, limits)...)
	if a.SizeBytes > limits.MailboxBytes {
		add(newFinding(CodeMailboxOverQuota, in.Address, "primary mailbox",
			fmt.Sprintf("The primary mailbox holds %s, over the target quota of %s.", humanize.Bytes(a.SizeBytes), humanize.Bytes(limits.MailboxBytes)),
			"", nil))
	}
	add(contentFindings(in.Address, a.ItemsByKind, in.NotCarried)...)
	add(lossFindings(in.Address, a.ItemsByKind, in.CarriedWithLoss)...)

	// Archive.
	if in.HasArchive {
		st := &reports.ArchiveStats{}
		for _, f := range in.ArchiveFolders {
			// Items can sit in the archive root itself: they count, the
			// root does not count as a folder.
			if f.Path != "" {
				st.Folders++
			}
			st.Items += f.ItemCount
			st.SizeBytes += f.SizeBytes
		}
		if in.ArchiveItems.Items > st.Items {
			// The listing counted them one by one: the truer figure.
			st.Items = in.ArchiveItems.Items
		}
		if st.SizeBytes == 0 {
			st.SizeBytes = in.ArchiveItems.SizeBytes
		}
		a.Archive = st
		add(newFinding(CodeArchive, in.Address, "online archive",
			fmt.Sprintf("The online archive holds %s (%s) in %s; Graph v1.0 cannot reach archive mailboxes.", count(st.Items, "item"), humanize.Bytes(st.SizeBytes), count(int64(st.Folders), "folder")),
			"", nil))
		add(folderLimitFindings(in.Address, "Archive", in.ArchiveFolders, limits)...)
		add(itemLimitFindings(in.Address, "Archive", in.ArchiveItems, limits)...)
	}

	// Recoverable Items.
	var discoveryHoldItems int64
	for _, f := range in.RecoverableFolders {
		if f.Path == "" {
			continue
		}
		a.RecoverableItems += f.ItemCount
		a.RecoverableBytes += f.SizeBytes
		if strings.EqualFold(f.DisplayName, "DiscoveryHolds") {
			discoveryHoldItems += f.ItemCount
		}
	}
	if a.RecoverableItems > 0 {
		add(newFinding(CodeRecoverableItems, in.Address, "Recoverable Items",
			fmt.Sprintf("Recoverable Items hold %s (%s); a copy carries them only with --stores ...,recoverable.", count(a.RecoverableItems, "item"), humanize.Bytes(a.RecoverableBytes)),
			"", nil))
	}

	// Holds.
	for _, h := range in.Holds {
		if !holdActive(h.Status) {
			continue
		}
		a.Holds++
		name := h.Name
		if name == "" {
			name = h.ID
		}
		query := ""
		if h.Query != "" {
			query = " -ContentMatchQuery '" + psQuote(h.Query) + "'"
		}
		found := fmt.Sprintf("In-Place hold %q (status %s) covers the mailbox", name, orUnknown(h.Status))
		if h.Query != "" {
			found += fmt.Sprintf(" with query %q", h.Query)
		}
		add(newFinding(CodeInPlaceHold, in.Address, name, found+".", "", map[string]string{"query": query}))
	}
	switch {
	case in.LitigationHold == nil:
		found := "Litigation hold cannot be seen through EWS or Graph, so it is unknown."
		if discoveryHoldItems > 0 {
			found = fmt.Sprintf("Litigation hold cannot be seen through EWS or Graph, so it is unknown; the DiscoveryHolds folder holds %s, a hint that a hold applies or applied.", count(discoveryHoldItems, "item"))
		}
		add(newFinding(CodeLitigationHoldUnknown, in.Address, "litigation hold", found, "", nil))
	case *in.LitigationHold:
		a.Holds++
		add(newFinding(CodeLitigationHold, in.Address, "litigation hold",
			"Litigation hold is enabled on the mailbox.", "", nil))
	}

	// Rules.
	ruleFolders := in.RuleFolders
	if ruleFolders == nil {
		ruleFolders = sourceFolderMap(in.Folders)
	}
	a.Rules = len(in.Rules)
	for _, r := range in.Rules {
		t := TranslateRule(r, ruleFolders)
		if t.Mappable {
			a.RulesMappable++
			continue
		}
		add(ruleFindings(in.Address, r, t)...)
	}
	if in.ClientOnlyRules {
		add(newFinding(CodeRuleClientOnly, in.Address, "Outlook rule blob",
			"The mailbox has client-only Outlook rules (OutlookRuleBlobExists); no API can read them.", "", nil))
	}

	// Delegates and permissions.
	a.Delegates = len(in.Delegates)
	for _, d := range in.Delegates {
		add(delegateFindings(in.Address, d)...)
	}
	// A delegate's rights are also entries of the folders' permission sets
	// (GetDelegate reads them from there): the delegate finding reports
	// them, and a pair reported once is not reported again (an export and
	// EWS may both list it).
	seen := delegateCovered(in.Delegates, in.Folders)
	for _, p := range in.FolderPermissions {
		k := permissionKey(p.User, p.Folder)
		if ignoredLevel(p.Level) || seen[k] {
			continue
		}
		seen[k] = true
		add(folderPermissionFinding(in.Address, p.Folder, p.User, p.Level, ""))
	}
	for _, p := range in.MailboxPermissions {
		add(mailboxPermissionFinding(in.Address, p))
	}

	sortFindings(fs)
	a.Readiness = DeriveReadiness(fs)
	return a, fs
}

// TypeReader is a mailbox that can tell its type, and how it knows or
// why it cannot (ews.Mailbox: ResolveNames and the room lists).
type TypeReader interface {
	MailboxType(ctx context.Context) (t mailbox.MailboxType, why string, err error)
}

// typeDetail is the inventory's word on the type; an unknown type always
// says why, so that "unknown" is never silent.
func typeDetail(in MailboxInventory) string {
	if in.TypeDetail != "" || in.Type != mailbox.TypeUnknown {
		return in.TypeDetail
	}
	if in.Err != nil {
		return "the mailbox could not be read"
	}
	return "the mailbox's side did not report its type"
}

// sectionOrder is the order part errors are reported in.
var sectionOrder = []Section{SectionFolders, SectionItems, SectionArchive, SectionRecoverable,
	SectionRules, SectionDelegates, SectionPermissions, SectionHolds}

// sortFindings orders findings most serious first, keeping the order of
// discovery within a severity.
func sortFindings(fs []reports.Finding) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Severity.Rank() < fs[j].Severity.Rank() })
}

// unreadableFinding explains why a mailbox could not be read. The fix is
// given only where one command clears the cause: the impersonation role for
// an on-premises mailbox the service account may not open.
func unreadableFinding(addr string, loc mailbox.Location, err error) reports.Finding {
	fix := ""
	reason := err.Error()
	switch {
	case errors.Is(err, mailbox.ErrAccessDenied) && loc == mailbox.LocationCloud:
		reason += " (the app needs the Mail.ReadWrite application permission, scoped to this mailbox)"
	case errors.Is(err, mailbox.ErrAccessDenied):
		fix = fixImpersonation
		reason += " (the service account needs the ApplicationImpersonation role on-premises, or the Mail.ReadWrite application permission in Exchange Online)"
	case errors.Is(err, mailbox.ErrMailboxNotFound):
		reason += " (check the address in the mailbox list)"
	case errors.Is(err, mailbox.ErrNotOnThisSide):
		reason += " (the mailbox lives on the other side of the hybrid: set its location in the mailbox list, or leave it on auto)"
	case errors.Is(err, mailbox.ErrAuthentication):
		reason += " (check the credentials in the configuration)"
	case errors.Is(err, mailbox.ErrMailboxBusy):
		reason += " (the mailbox is being moved or is locked; assess it again later)"
	}
	f := newFinding(CodeMailboxUnreadable, addr, addr,
		fmt.Sprintf("The mailbox could not be read: %s.", reason), "", nil)
	f.Fix = fix
	return f
}

func partUnreadableFinding(addr string, loc mailbox.Location, s Section, err error) reports.Finding {
	if errors.Is(err, mailbox.ErrUnsupported) {
		// Not a failure: the protocol cannot see that part (Graph v1.0 and
		// the archive or Recoverable Items). Say how to look instead.
		f := newFinding(CodePartUnreadable, addr, string(s),
			fmt.Sprintf("The %s of the mailbox cannot be seen through Microsoft Graph v1.0, so it was not assessed.", s), "", nil)
		f.Severity = reports.SeverityInfo
		f.Remedy = "Check it in Exchange Online PowerShell if it matters for the move."
		if s == SectionArchive {
			f.Fix = "Get-MailboxStatistics -Identity '" + psQuote(addr) + "' -Archive"
		} else {
			f.Fix = "Get-MailboxFolderStatistics -Identity '" + psQuote(addr) + "' -FolderScope RecoverableItems"
		}
		return f
	}
	f := newFinding(CodePartUnreadable, addr, string(s),
		fmt.Sprintf("The %s of the mailbox could not be read: %v; the assessment of that part is incomplete.", s, err), "", nil)
	if errors.Is(err, mailbox.ErrAccessDenied) {
		switch {
		case s == SectionHolds:
			f.Fix = fixDiscovery // eDiscovery operations need the Discovery Management role group
		case loc != mailbox.LocationCloud:
			f.Fix = fixImpersonation
		}
	}
	return f
}

// fillFolderStats counts the primary tree. The root (empty path) is not a
// folder of its own.
func fillFolderStats(a *reports.MailboxAssessment, folders []mailbox.Folder) {
	for _, f := range folders {
		if f.Path == "" {
			a.MaxChildFolders = max(a.MaxChildFolders, f.ChildCount)
			continue
		}
		a.Folders++
		a.Items += f.ItemCount
		a.SizeBytes += f.SizeBytes
		a.MaxDepth = max(a.MaxDepth, f.Depth())
		a.MaxChildFolders = max(a.MaxChildFolders, f.ChildCount)
		a.MaxFolderItems = max(a.MaxFolderItems, f.ItemCount)
		a.FolderStats = append(a.FolderStats, reports.FolderSummary{
			Path: f.Path, Class: f.Class, Items: f.ItemCount, SizeBytes: f.SizeBytes, ChildCount: f.ChildCount,
		})
	}
}

// folderKind classifies a folder's items by its container class, for when
// items were not listed one by one.
func folderKind(class string) mailbox.Kind {
	c := strings.ToUpper(class)
	has := func(p string) bool { p = strings.ToUpper(p); return c == p || strings.HasPrefix(c, p+".") }
	switch {
	case c == "" || has(mailbox.ClassMailFolder):
		return mailbox.KindMail
	case has(mailbox.ClassCalendarFolder):
		return mailbox.KindCalendar
	case has(mailbox.ClassContactsFolder):
		return mailbox.KindContacts
	case has(mailbox.ClassTasksFolder):
		return mailbox.KindTasks
	case has(mailbox.ClassNotesFolder):
		return mailbox.KindNotes
	}
	return mailbox.KindOther
}

func folderLimitFindings(addr, prefix string, folders []mailbox.Folder, l Limits) []reports.Finding {
	var out []reports.Finding
	for _, f := range folders {
		obj := displayPath(prefix, f.Path)
		if f.ItemCount > l.FolderItems {
			out = append(out, newFinding(CodeFolderItemsLimit, addr, obj,
				fmt.Sprintf("Folder %s holds %d items, over the limit of %d per folder.", obj, f.ItemCount, l.FolderItems), "", nil))
		}
		if d := f.Depth(); d > l.FolderDepth {
			out = append(out, newFinding(CodeFolderDepthLimit, addr, obj,
				fmt.Sprintf("Folder %s is %d levels deep, over the limit of %d.", obj, d, l.FolderDepth), "", nil))
		}
		if f.ChildCount > l.FolderChildren {
			out = append(out, newFinding(CodeFolderChildrenLimit, addr, obj,
				fmt.Sprintf("Folder %s has %d sub-folders, over the limit of %d.", obj, f.ChildCount, l.FolderChildren), "", nil))
		}
	}
	return out
}

func displayPath(prefix, path string) string {
	switch {
	case prefix == "" && path == "":
		return "(root)"
	case prefix == "":
		return path
	case path == "":
		return prefix
	}
	return prefix + "/" + path
}

func itemLimitFindings(addr, prefix string, st ItemStats, l Limits) []reports.Finding {
	var out []reports.Finding
	where := "The mailbox"
	if prefix != "" {
		where = "The " + strings.ToLower(prefix)
	}
	if n := st.OverTenant - st.OverMax; n > 0 {
		obj, largest := largestBetween(st.Largest, l.TenantMessageBytes, l.MaxItemBytes)
		if obj == "" { // the largest items kept are all over the maximum
			obj = displayPath(prefix, "items over "+humanize.Bytes(l.TenantMessageBytes))
		}
		found := fmt.Sprintf("%s has %s over the %s message size limit and under %s", where, count(n, "item"), humanize.Bytes(l.TenantMessageBytes), humanize.Bytes(l.MaxItemBytes))
		if largest > 0 {
			found += fmt.Sprintf("; the largest is %s", humanize.Bytes(largest))
		}
		f := newFinding(CodeItemOverTenantLimit, addr, obj, found+".", "", nil)
		f.Items = n
		out = append(out, f)
	}
	if st.OverMax > 0 {
		obj, largest := largestBetween(st.Largest, l.MaxItemBytes, 0)
		if obj == "" { // the items were counted but not kept (no item list)
			obj = displayPath(prefix, "items over "+humanize.Bytes(l.MaxItemBytes))
		}
		found := fmt.Sprintf("%s has %s over %s, which cannot be written to Exchange Online", where, count(st.OverMax, "item"), humanize.Bytes(l.MaxItemBytes))
		if largest > 0 {
			found += fmt.Sprintf("; the largest is %s", humanize.Bytes(largest))
		}
		f := newFinding(CodeItemOver150MB, addr, obj, found+".", "", nil)
		f.Items = st.OverMax
		out = append(out, f)
	}
	return out
}

// largestBetween names the largest known item over lo (and at most hi when
// hi > 0): "Inbox/Media: Q3 video".
func largestBetween(items []reports.ItemSummary, lo, hi int64) (string, int64) {
	for _, it := range items { // largest first
		if it.SizeBytes > lo && (hi <= 0 || it.SizeBytes <= hi) {
			return it.Folder + ": " + it.Subject, it.SizeBytes
		}
	}
	return "", 0
}

// contentFindings names the kinds of items the copy will not carry. With
// the sides' declarations (notCarried) each reason is the planner's; without
// them, every kind but mail, which both adapters carry.
func contentFindings(addr string, byKind map[mailbox.Kind]int64, notCarried map[mailbox.Kind]string) []reports.Finding {
	var out []reports.Finding
	for _, k := range mailbox.Kinds() {
		n := byKind[k]
		if n == 0 {
			continue
		}
		var why string
		if notCarried != nil {
			reason, gap := notCarried[k]
			if !gap {
				continue
			}
			why = reason + "."
		} else {
			// The target is not known: only what no target of exmigrate
			// takes from every source is sure to stay behind.
			if k != mailbox.KindNotes && k != mailbox.KindOther {
				continue
			}
			why = "Exchange Online (Graph) has no API for them, so a copy into it leaves them behind."
		}
		f := newFinding(CodeContentNotCopied, addr, string(k),
			fmt.Sprintf("The mailbox has %s; %s", count(n, kindNoun[k]), why), "", nil)
		f.Items = n
		out = append(out, f)
	}
	return out
}

// lossFindings predicts, per kind the copy carries with a declared loss,
// what it will lose. Mail is left out: its MIME path loses only what no
// user sees (the README lists it), and a warning on every mailbox would
// drown the ones that matter.
func lossFindings(addr string, byKind map[mailbox.Kind]int64, loses map[mailbox.Kind]string) []reports.Finding {
	var out []reports.Finding
	for _, k := range mailbox.Kinds() {
		n, what := byKind[k], loses[k]
		if n == 0 || what == "" || k == mailbox.KindMail {
			continue
		}
		f := newFinding(CodeContentCarriedWithLoss, addr, string(k),
			fmt.Sprintf("The mailbox has %s; the copy carries them on a path that loses %s.", count(n, kindNoun[k]), what), "", nil)
		f.Items = n
		out = append(out, f)
	}
	return out
}

// holdActive reports whether an EWS MailboxHoldStatus means the hold
// applies or was meant to (Pending, PartialHold and Failed are reported
// too: legal wants the mailbox held). An empty status is taken as on hold:
// the reader listed it.
func holdActive(status string) bool {
	return !strings.EqualFold(status, "NotOnHold")
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// sourceFolderMap resolves a rule's folder reference to itself when the
// folder exists in the primary tree: the copy creates it on the target.
func sourceFolderMap(folders []mailbox.Folder) FolderMap {
	ids := make(map[string]string, len(folders))
	for _, f := range folders {
		if f.ID != "" {
			ids[f.ID] = f.ID
		}
	}
	return FolderMapOf(ids)
}

func ruleFindings(addr string, r mailbox.Rule, t RuleTranslation) []reports.Finding {
	name := r.Name
	if name == "" {
		name = r.ID
	}
	otherActionGap := false
	for _, g := range t.Unmappable {
		if strings.HasPrefix(g.Part, "actions.") {
			otherActionGap = true
		}
	}
	var out []reports.Finding
	for _, g := range t.Unmappable {
		var code string
		switch {
		case g.Part == "rule.IsNotSupported":
			code = CodeRuleNotSupported
		case g.Part == "rule.IsInError":
			code = CodeRuleInError
		case strings.HasPrefix(g.Part, "conditions."):
			code = CodeRuleConditionUnmappable
		case strings.HasPrefix(g.Part, "exceptions."):
			code = CodeRuleExceptionUnmappable
		case g.Part == "actions.MoveToFolder" || g.Part == "actions.CopyToFolder":
			code = CodeRuleFolderUnresolved
		case g.Part == "actions" && otherActionGap:
			continue // already explained by the action gap itself
		default:
			code = CodeRuleActionUnmappable
		}
		out = append(out, newFinding(code, addr, name,
			fmt.Sprintf("Rule %q: %s cannot be carried: %s.", name, g.Part, g.Reason), "", nil))
	}
	return out
}

func ignoredLevel(level string) bool {
	return level == "" || strings.EqualFold(level, "None")
}

func delegateFindings(addr string, d mailbox.Delegate) []reports.Finding {
	var perms []string
	folders := make([]string, 0, len(d.Permissions))
	for f := range d.Permissions {
		folders = append(folders, f)
	}
	sort.Strings(folders)
	for _, f := range folders {
		if !ignoredLevel(d.Permissions[f]) {
			perms = append(perms, f+": "+d.Permissions[f])
		}
	}
	found := fmt.Sprintf("%s is a delegate", d.User)
	if len(perms) > 0 {
		found += " (" + strings.Join(perms, ", ") + ")"
	}
	var extra []string
	if d.ReceiveCopiesOfMeetings {
		extra = append(extra, "receives copies of meeting messages")
	}
	if d.ViewPrivateItems {
		extra = append(extra, "can view private items")
	}
	if len(extra) > 0 {
		found += " and " + strings.Join(extra, " and ")
	}
	found += "; Graph can re-create calendar delegation only."

	vars := map[string]string{"user": d.User}
	fix := ""
	cal := d.Permissions["Calendar"]
	switch {
	case strings.EqualFold(cal, "Editor") && d.ViewPrivateItems:
		fix = strings.Replace(fixDelegate, "-SharingPermissionFlags Delegate", "-SharingPermissionFlags Delegate,CanViewPrivateItems", 1)
	case strings.EqualFold(cal, "Editor"):
		fix = fixDelegate
	case !ignoredLevel(cal):
		// The delegate flag needs Editor; a lesser level is a plain permission.
		fix = fixFolderPermission
		vars["folder"] = "Calendar"
		vars["rights"] = cal
	}
	f := newFinding(CodeDelegate, addr, d.User, found, fix, vars)
	// newFinding filled vars in; without calendar access there is nothing
	// to re-create on the calendar, so no fix rather than the default one.
	f.Fix = render(fix, vars)
	out := []reports.Finding{f}
	for _, f := range folders {
		if f == "Calendar" || ignoredLevel(d.Permissions[f]) {
			continue
		}
		out = append(out, folderPermissionFinding(addr, f, d.User, d.Permissions[f], "as a delegate "))
	}
	return out
}

// delegateFolders are the folders GetDelegate's DelegatePermissions name,
// by the well-known folder each one is.
var delegateFolders = map[string]mailbox.WellKnown{
	"Calendar": mailbox.CalendarFolder, "Inbox": mailbox.Inbox, "Contacts": mailbox.ContactsFolder,
	"Tasks": mailbox.TasksFolder, "Notes": mailbox.NotesFolder, "Journal": mailbox.JournalFolder,
}

// delegateCovered returns the user+folder pairs (permissionKey) that
// delegateFindings reports: each folder a delegate holds more than None
// on, under its delegate name and under its path in the tree, which
// differs when the folder names are localised ("Posteingang").
func delegateCovered(delegates []mailbox.Delegate, folders []mailbox.Folder) map[string]bool {
	paths := map[mailbox.WellKnown]string{}
	for _, f := range folders {
		if f.WellKnown != mailbox.NotWellKnown && f.Path != "" {
			paths[f.WellKnown] = f.Path
		}
	}
	out := map[string]bool{}
	for _, d := range delegates {
		for name, level := range d.Permissions {
			if ignoredLevel(level) {
				continue
			}
			out[permissionKey(d.User, name)] = true
			if p, ok := paths[delegateFolders[name]]; ok {
				out[permissionKey(d.User, p)] = true
			}
		}
	}
	return out
}

// permissionKey identifies a user's entry on a folder; Exchange compares
// both without regard to case.
func permissionKey(user, folder string) string {
	return strings.ToLower(user) + "\x00" + strings.ToLower(folder)
}

func folderPermissionFinding(addr, folder, user, level, how string) reports.Finding {
	graph := "Graph has no form for it"
	if strings.EqualFold(firstSegment(folder), "Calendar") {
		graph = "Graph can express it as a calendarPermission, which exmigrate does not copy yet"
	}
	obj := folder + " (" + user + ")"
	return newFinding(CodeFolderPermission, addr, obj,
		fmt.Sprintf("%s holds %s %son folder %s; %s.", user, level, how, folder, graph),
		"", map[string]string{"user": user, "folder": psFolderPath(folder), "rights": level})
}

func mailboxPermissionFinding(addr string, p MailboxPermission) reports.Finding {
	fix := fixFullAccess
	switch p.Right {
	case RightSendAs:
		fix = fixSendAs
	case RightSendOnBehalf:
		fix = fixSendOnBehalf
	}
	return newFinding(CodeMailboxPermission, addr, p.User+" ("+p.Right+")",
		fmt.Sprintf("%s holds %s on the mailbox; Graph has no form for it.", p.User, p.Right),
		fix, map[string]string{"user": p.User})
}

// psFolderPath turns a Folder.Path ("Inbox/A\/B") into the form
// Add-MailboxFolderPermission takes after "mailbox:\" ("Inbox\A/B").
func psFolderPath(path string) string {
	segs := splitPath(path)
	for i, s := range segs {
		segs[i] = unescapeName(s)
	}
	return strings.Join(segs, `\`)
}

func firstSegment(path string) string {
	segs := splitPath(path)
	if len(segs) == 0 {
		return ""
	}
	return unescapeName(segs[0])
}

// count writes "1 item" or "3 items".
func count(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// kindNoun names one item of a kind in a sentence.
var kindNoun = map[mailbox.Kind]string{
	mailbox.KindMail:     "mail item",
	mailbox.KindCalendar: "calendar item",
	mailbox.KindContacts: "contact",
	mailbox.KindTasks:    "task",
	mailbox.KindNotes:    "note",
	mailbox.KindOther:    "other item",
}

// PublicFoldersUnreadable is the finding for a public folder tree that
// could not be read, with the reason.
func PublicFoldersUnreadable(err error) reports.Finding {
	f := newFinding(CodePublicFolderUnreadable, "", "Public Folders",
		fmt.Sprintf("The public folder tree could not be read: %v; public folders were not assessed.", err), "", nil)
	if errors.Is(err, mailbox.ErrAccessDenied) {
		f.Fix = fixImpersonation
	}
	return f
}

// AssessPublicFolders inventories the public folder tree (as listed from
// publicfoldersroot, root included) against limits (zero fields: the
// defaults).
func AssessPublicFolders(folders []mailbox.Folder, limits Limits) (reports.PublicFolderStats, []reports.Finding) {
	l := limits.WithDefaults()
	var st reports.PublicFolderStats
	var calendars []string
	for _, f := range folders {
		if f.Path == "" {
			continue
		}
		st.Folders++
		st.Items += f.ItemCount
		st.SizeBytes += f.SizeBytes
		st.MaxDepth = max(st.MaxDepth, f.Depth())
		if f.ItemCount > 0 || f.SizeBytes > 0 {
			st.Largest = append(st.Largest, reports.FolderSummary{Path: f.Path, Class: f.Class, Items: f.ItemCount, SizeBytes: f.SizeBytes, ChildCount: f.ChildCount})
		}
		if folderKind(f.Class) == mailbox.KindCalendar {
			calendars = append(calendars, f.Path)
		}
	}
	if st.Folders == 0 {
		return st, nil
	}
	slices.SortStableFunc(st.Largest, func(a, b reports.FolderSummary) int {
		return cmp.Or(cmp.Compare(b.SizeBytes, a.SizeBytes), cmp.Compare(b.Items, a.Items), cmp.Compare(a.Path, b.Path))
	})
	st.Largest = st.Largest[:min(len(st.Largest), reports.MaxPublicFolderStats)]
	var fs []reports.Finding
	fs = append(fs, newFinding(CodePublicFolders, "", "Public Folders",
		fmt.Sprintf("The public folder tree has %s holding %s (%s), %s deep; Graph has no public folder API.",
			count(int64(st.Folders), "folder"), count(st.Items, "item"), humanize.Bytes(st.SizeBytes), count(int64(st.MaxDepth), "level")), "", nil))
	if st.Folders > PublicFolderHierarchyMax {
		fs = append(fs, newFinding(CodePublicFolderHierarchyLimit, "", "Public Folders",
			fmt.Sprintf("The public folder tree has %d folders, over the %d a migration supports.", st.Folders, PublicFolderHierarchyMax), "", nil))
	}
	if len(calendars) > 0 {
		obj := calendars[0]
		if len(calendars) > 1 {
			obj = fmt.Sprintf("%s and %d more", calendars[0], len(calendars)-1)
		}
		fs = append(fs, newFinding(CodePublicFolderCalendars, "", obj,
			fmt.Sprintf("The public folder tree has %s; Graph has no equivalent.", count(int64(len(calendars)), "calendar folder")), "", nil))
	}
	fs = append(fs, folderLimitFindings("", "Public Folders", folders, l)...)
	sortFindings(fs)
	return st, fs
}
