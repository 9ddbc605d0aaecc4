package reports

import "github.com/exmigrate/exmigrate/mailbox"

import "time"

// Severity ranks a finding for the people who read the report.
type Severity string

// Severities, most serious first.
const (
	SeverityBlocker Severity = "blocker" // the mailbox cannot move as it is
	SeverityWarning Severity = "warning" // something is lost or must be rebuilt by hand
	SeverityInfo    Severity = "info"    // worth knowing, nothing to do
)

// Rank orders severities: blocker 0, warning 1, info 2, anything else 3.
func (s Severity) Rank() int {
	switch s {
	case SeverityBlocker:
		return 0
	case SeverityWarning:
		return 1
	case SeverityInfo:
		return 2
	}
	return 3
}

// Category groups findings by what they concern.
type Category string

// Finding categories, in the order reports present them.
const (
	CategoryRules         Category = "rules"          // inbox rules
	CategoryPublicFolders Category = "public-folders" // the public folder tree
	CategoryHolds         Category = "holds"          // litigation and in-place holds
	CategoryArchive       Category = "archive"        // online archive, Recoverable Items
	CategoryDelegates     Category = "delegates"      // delegates and permissions
	CategoryLimits        Category = "limits"         // sizes and counts over the target's limits
	CategoryContent       Category = "content"        // content a copy does not carry
	CategoryAccess        Category = "access"         // what the service account could not read
)

// Categories returns every finding category in the order reports present
// them; the caller may modify the slice.
func Categories() []Category {
	return []Category{CategoryRules, CategoryPublicFolders, CategoryHolds, CategoryArchive,
		CategoryDelegates, CategoryLimits, CategoryContent, CategoryAccess}
}

// Finding is one thing an assessment found, with what to do about it.
type Finding struct {
	Code     string   `json:"code"`     // stable, e.g. EXM-RULE-ACTION-UNMAPPABLE
	Severity Severity `json:"severity"` // blocker, warning, info
	Category Category `json:"category"` // one of Categories
	Mailbox  string   `json:"mailbox,omitempty"`
	Object   string   `json:"object,omitempty"` // the rule, folder or item concerned
	Found    string   `json:"found"`            // what was found, in a sentence
	Remedy   string   `json:"remedy"`           // what to do, in a sentence
	Fix      string   `json:"fix,omitempty"`    // the PowerShell or Graph call that fixes it, when one exists
	// Items is how many items the finding counts (the calendar items a
	// copy does not carry, the items copied with a loss ...), so that a
	// code found in several mailboxes is summed rather than quoted from
	// one of them; 0 when it counts no items.
	Items int64 `json:"items,omitempty"`
}

// Readiness sums up whether a mailbox can move.
type Readiness string

// Readiness values.
const (
	Ready      Readiness = "ready"      // no finding above info
	Warnings   Readiness = "warnings"   // moves, but something is lost or manual
	Blocked    Readiness = "blocked"    // a blocker must be cleared first
	Unreadable Readiness = "unreadable" // the assessment could not read it
)

// AssessmentSchemaVersion is the version of the JSON the assess command
// writes and the report command reads. Bump it on any incompatible change.
const AssessmentSchemaVersion = 1

// Assessment is the whole result of `exmigrate assess`: the input of the
// reports. Its JSON form is a documented, versioned interface.
type Assessment struct {
	SchemaVersion int                 `json:"schema_version"`
	GeneratedAt   time.Time           `json:"generated_at"`
	Tool          string              `json:"tool"` // exmigrate version that wrote it
	Mailboxes     []MailboxAssessment `json:"mailboxes"`
	PublicFolders *PublicFolderStats  `json:"public_folders,omitempty"`
	Findings      []Finding           `json:"findings"`
	// FidelityProbes are the verdicts of the fidelity probe copy ran, one
	// per pair of endpoints, when copy results were merged.
	FidelityProbes []FidelityProbe `json:"fidelity_probes,omitempty"`
	// Wave is the wave's copy forecast at the services' ceilings, the
	// mailboxes copied Wave.Parallel at a time; nil in an assessment
	// written before forecasts. A report recomputes it from the
	// mailboxes' forecasts (WaveOf), so that a selection agrees with it.
	Wave *WaveForecast `json:"wave_forecast,omitempty"`
}

// FidelityProbe is the fidelity probe's verdict for one pair of endpoints:
// which kinds the target took in full fidelity from the source, and why.
type FidelityProbe struct {
	Endpoints string         `json:"endpoints"` // "onprem -> cloud"
	Mailbox   string         `json:"mailbox"`   // the source mailbox probed with
	Target    string         `json:"target"`
	At        time.Time      `json:"at"`
	Dialect   string         `json:"dialect,omitempty"` // the source's full-fidelity data
	Kinds     []FidelityKind `json:"kinds"`
}

// FidelityKind is the probe's verdict for one kind.
type FidelityKind struct {
	Kind     string `json:"kind"`
	Path     string `json:"path"` // full-fidelity, mime, typed or not carried
	Accepted bool   `json:"accepted"`
	Why      string `json:"why"`
}

// MailboxAssessment is the inventory of one mailbox.
type MailboxAssessment struct {
	Address  string              `json:"address"`
	Location mailbox.Location    `json:"location"`
	Type     mailbox.MailboxType `json:"type,omitempty"`
	// TypeDetail says how the type was learnt, or why it is unknown.
	TypeDetail string    `json:"type_detail,omitempty"`
	Batch      string    `json:"batch,omitempty"`
	Readiness  Readiness `json:"readiness"`
	Error      string    `json:"error,omitempty"` // why it could not be read

	Folders          int                    `json:"folders"`
	MaxDepth         int                    `json:"max_depth"`
	MaxChildFolders  int64                  `json:"max_child_folders"`
	MaxFolderItems   int64                  `json:"max_folder_items"`
	Items            int64                  `json:"items"`
	ItemsByKind      map[mailbox.Kind]int64 `json:"items_by_kind"`
	SizeBytes        int64                  `json:"size_bytes"`
	LargestItems     []ItemSummary          `json:"largest_items,omitempty"`
	ItemsOverTenant  int64                  `json:"items_over_tenant_limit"` // over the configured message size limit
	ItemsOver150MB   int64                  `json:"items_over_150mb"`
	Archive          *ArchiveStats          `json:"archive,omitempty"`
	RecoverableBytes int64                  `json:"recoverable_bytes"`
	RecoverableItems int64                  `json:"recoverable_items"`
	Rules            int                    `json:"rules"`
	RulesMappable    int                    `json:"rules_mappable"`
	Delegates        int                    `json:"delegates"`
	Holds            int                    `json:"holds"`
	FolderStats      []FolderSummary        `json:"folder_stats,omitempty"`
	Copy             *CopySummary           `json:"copy,omitempty"`
	// Forecast is the copy's time at the services' ceilings; nil in an
	// assessment written before forecasts.
	Forecast *Forecast        `json:"forecast,omitempty"`
	Extra    map[string]int64 `json:"extra,omitempty"`
}

// ItemSummary names one notable item.
type ItemSummary struct {
	Folder    string    `json:"folder"`
	Subject   string    `json:"subject"`
	Class     string    `json:"class"`
	SizeBytes int64     `json:"size_bytes"`
	Received  time.Time `json:"received,omitzero"`
}

// FolderSummary is one folder's counts in an assessment.
type FolderSummary struct {
	Path       string `json:"path"`
	Class      string `json:"class,omitempty"`
	Items      int64  `json:"items"`
	SizeBytes  int64  `json:"size_bytes"`
	ChildCount int64  `json:"child_count"`
}

// ArchiveStats describes an online archive.
type ArchiveStats struct {
	Folders   int   `json:"folders"`
	Items     int64 `json:"items"`
	SizeBytes int64 `json:"size_bytes"`
}

// PublicFolderStats is the inventory of the public folder tree.
type PublicFolderStats struct {
	Folders   int   `json:"folders"`
	Items     int64 `json:"items"`
	SizeBytes int64 `json:"size_bytes"`
	MaxDepth  int   `json:"max_depth"`
	// Largest are the public folders holding the most, per folder: their
	// items and size (at most MaxPublicFolderStats, largest first).
	Largest []FolderSummary `json:"largest_folders,omitempty"`
}

// MaxPublicFolderStats bounds PublicFolderStats.Largest.
const MaxPublicFolderStats = 50

// CopySummary is the outcome of copy jobs for one mailbox, merged into the
// report when copy results are given.
type CopySummary struct {
	Status       string `json:"status"` // completed (signed off), done, partial, failed, running, interrupted, not-started
	ItemsCopied  int64  `json:"items_copied"`
	BytesCopied  int64  `json:"bytes_copied"`
	ItemsSkipped int64  `json:"items_skipped"`
	// ItemsPending are recorded as about to be written: in flight, or
	// written before a crash and not yet confirmed.
	ItemsPending   int64            `json:"items_pending,omitempty"`
	SkipReasons    map[string]int64 `json:"skip_reasons,omitempty"`
	SourceItems    int64            `json:"source_items"`
	TargetItems    int64            `json:"target_items"`
	LastPass       time.Time        `json:"last_pass,omitzero"`
	DurationMillis int64            `json:"duration_ms"`
	// Kinds is the same per item kind (mail, calendar, contacts, tasks,
	// notes, other): what was copied, skipped and carried with a loss.
	Kinds map[string]KindCopy `json:"kinds,omitempty"`
	// Losses names the items carried with a loss (at most
	// MaxCopyLosses; Kinds counts them all).
	Losses []CopyLoss `json:"losses,omitempty"`
	// Paths says how each store and kind moved at the last pass, by
	// "store/kind": full-fidelity, mime, typed or not carried.
	Paths map[string]string `json:"paths,omitempty"`
	// Skipped names the items the copy skipped (at most MaxSkippedItems;
	// ItemsSkipped counts them all).
	Skipped []SkippedItem `json:"skipped_items,omitempty"`
	// Observed is the rate the copy reached, measured from the state's
	// records; nil when copy results were merged without it.
	Observed *ObservedRate `json:"observed,omitempty"`
	// SignOff is finalize's acceptance of the mailbox (Status
	// "completed"); nil before it.
	SignOff *SignOff `json:"sign_off,omitempty"`
}

// SignOff is who accepted a mailbox's copy as complete, and on what terms.
type SignOff struct {
	At            time.Time `json:"at"`
	By            string    `json:"by"` // the account that ran finalize, user@host
	ItemsOnTarget int64     `json:"items_on_target"`
	Skipped       int64     `json:"items_skipped"`
	Approved      int64     `json:"skipped_approved"` // equal to Skipped: finalize signs nothing off otherwise
	Note          string    `json:"note,omitempty"`
}

// SkippedItem is one item a copy skipped for good, and why.
type SkippedItem struct {
	Folder    string `json:"folder"` // source folder path
	Subject   string `json:"subject"`
	Kind      string `json:"kind"` // mail, calendar, contacts, tasks, notes, other
	SizeBytes int64  `json:"size_bytes"`
	Reason    string `json:"reason"`
}

// MaxSkippedItems bounds the items a CopySummary names.
const MaxSkippedItems = 10000

// KindCopy is one item kind's share of a mailbox's copy.
type KindCopy struct {
	Copied  int64 `json:"copied"`
	Skipped int64 `json:"skipped"`
	// Losses counts the copied items that lost something, by loss code
	// (e.g. EXM-CAL-MEETING-AS-APPOINTMENT).
	Losses map[string]int64 `json:"losses,omitempty"`
}

// CopyLoss is one item the copy carried with a loss.
type CopyLoss struct {
	Kind    string `json:"kind"`
	Code    string `json:"code"`
	Subject string `json:"subject"`
}

// MaxCopyLosses bounds the items a CopySummary names.
const MaxCopyLosses = 500
