package mailbox

import (
	"fmt"
	"slices"
	"strings"
)

// Format is how an item's content travels between a source and a target.
// One payload type carries every kind; the format says how to read it.
type Format string

// Content formats.
const (
	// FormatMIME is RFC 5322 content: mail today, and what EWS and Graph
	// both read and write for messages.
	FormatMIME Format = "mime"
	// FormatFullFidelity is an opaque item stream (EWS ExportItems /
	// UploadItems, Graph's mailbox import/export API): every property kept,
	// no meeting mail sent. Only a side that declares it reads or writes it.
	FormatFullFidelity Format = "full-fidelity"
	// FormatTyped is the item's typed properties as JSON:
	// calendar items, contacts and tasks where no full-fidelity path exists.
	FormatTyped Format = "typed"
)

// Scope values beyond the three folder trees of a mailbox (see folder.go).
const (
	// ScopePublicFolders is the organisation's public folder tree: a store
	// of the organisation, reached through any mailbox of it.
	ScopePublicFolders Scope = "publicfolders"
)

// Stores lists every store in the order the engine visits them.
func Stores() []Scope {
	return []Scope{ScopePrimary, ScopeArchive, ScopeRecoverable, ScopePublicFolders}
}

// Kinds lists every item kind in the order the engine plans them.
func Kinds() []Kind {
	return []Kind{KindMail, KindCalendar, KindContacts, KindTasks, KindNotes, KindOther}
}

// KindOfFolder is the kind of item a folder of this container class holds.
func KindOfFolder(class string) Kind {
	c := strings.ToUpper(class)
	has := func(prefix string) bool {
		p := strings.ToUpper(prefix)
		return c == p || strings.HasPrefix(c, p+".")
	}
	switch {
	case c == "" || has(ClassMailFolder):
		return KindMail
	case has(ClassCalendarFolder):
		return KindCalendar
	case has(ClassContactsFolder):
		return KindContacts
	case has(ClassTasksFolder):
		return KindTasks
	case has(ClassNotesFolder):
		return KindNotes
	}
	return KindOther
}

// Kind is the kind of item the folder holds, from its container class.
func (f Folder) Kind() Kind { return KindOfFolder(f.Class) }

// Kind is the item's kind, from its message class.
func (it Item) Kind() Kind { return KindOf(it.Class) }

// SideEffect is something a write makes the service do besides storing the
// item. exmigrate never takes a path with a side effect that reaches people.
type SideEffect string

// Side effects a backend may declare for a write path.
const (
	// SendsMeetingMessages: the service mails invitations, updates or
	// cancellations to attendees (Graph /events with attendees).
	SendsMeetingMessages SideEffect = "sends meeting invitations, updates or cancellations to attendees"
	// SendsReceipts: the service sends read or delivery receipts.
	SendsReceipts SideEffect = "sends read or delivery receipts"
	// ChangesOrganizer: the writing account becomes the meeting's organizer.
	ChangesOrganizer SideEffect = "makes the writing account the organizer"
)

// Reaches reports whether the side effect sends something to a person.
func (s SideEffect) Reaches() bool { return s == SendsMeetingMessages || s == SendsReceipts }

// Path is one way a backend reads or writes one kind of item in one store.
type Path struct {
	Store       Scope
	Kind        Kind
	Format      Format
	SideEffects []SideEffect
	// Loses names what the path does not carry (for the report), e.g.
	// "attendees, recurrence exceptions".
	Loses string
	// Dialect, for FormatFullFidelity only, names the stream: a read path
	// produces that dialect, a write path accepts it (one path per dialect
	// accepted). Full fidelity is planned only between a read and a write
	// of the same dialect: the streams are opaque, and whether a service
	// takes another's is learned by a probe, never assumed.
	Dialect string
}

// Full-fidelity stream dialects.
const (
	// DialectEWS is EWS ExportItems data (Exchange Server).
	DialectEWS = "ews-export"
	// DialectGraph is Graph exportItems data (Exchange Online).
	DialectGraph = "graph-export"
)

// Capabilities is what a backend declares it can do for one mailbox. The
// engine plans from it alone: what no declared path carries becomes a
// finding, never a silent skip.
type Capabilities struct {
	Backend string // ews, graph, memory ...
	Reads   []Path
	Writes  []Path
	// Unsupported explains, per store and kind, why a side has no path,
	// for the findings (e.g. Graph v1.0 cannot reach an online archive).
	Unsupported map[StoreKind]string
	// ItemCounts: Folder.ItemCount is the folder's true item count. When
	// false the engine does not trust it for progress or reconciliation.
	ItemCounts bool
	// FolderSizes: Folder.SizeBytes is reported.
	FolderSizes bool
	// ReadFlagChanges: Changes reports a change of read state alone as
	// ChangeReadFlag; otherwise it comes as ChangeUpdated with IsRead set.
	ReadFlagChanges bool
	// MaxItemBytes is the largest item the side writes, 0 for no limit.
	MaxItemBytes int64
	// RefusedClasses are item classes the side does not write although it
	// writes their kind (Graph holds contacts but no contact groups,
	// IPM.DistList), with the reason: the engine skips such an item before
	// any request. A key matches its class and the classes under it.
	RefusedClasses map[string]string
	// UnstampedImports: the side's full-fidelity writes carry no exmigrate
	// stamp (Graph's import API documents none). Such a side is a
	// Fingerprinter; the engine records each import's fingerprint before
	// the write and finds it by that after a crash.
	UnstampedImports bool
}

// Refuses says why the side does not write an item of this class, or "".
func (c Capabilities) Refuses(class string) string {
	for prefix, why := range c.RefusedClasses {
		p, cl := strings.ToUpper(prefix), strings.ToUpper(class)
		if cl == p || strings.HasPrefix(cl, p+".") {
			return why
		}
	}
	return ""
}

// StoreKind names one kind in one store.
type StoreKind struct {
	Store Scope
	Kind  Kind
}

func (sk StoreKind) String() string { return string(sk.Store) + "/" + string(sk.Kind) }

// Reader returns the paths the side reads for a store and kind.
func (c Capabilities) Reader(store Scope, kind Kind) []Path {
	return matching(c.Reads, store, kind)
}

// Writer returns the paths the side writes for a store and kind.
func (c Capabilities) Writer(store Scope, kind Kind) []Path {
	return matching(c.Writes, store, kind)
}

// HasStore reports whether the side reads or writes anything in the store.
func (c Capabilities) HasStore(store Scope) bool {
	for _, p := range slices.Concat(c.Reads, c.Writes) {
		if p.Store == store {
			return true
		}
	}
	return false
}

func matching(ps []Path, store Scope, kind Kind) []Path {
	var out []Path
	for _, p := range ps {
		if p.Store == store && p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

// formatPreference is the order in which the planner picks a format that
// both sides share: full fidelity keeps everything, MIME is today's proven
// mail path, typed properties lose the most.
var formatPreference = []Format{FormatFullFidelity, FormatMIME, FormatTyped}

// Route is how one kind of one store moves from a source to a target.
type Route struct {
	Store   Scope
	Kind    Kind
	Format  Format
	Dialect string // the full-fidelity stream's dialect
	Loses   string // what the chosen paths do not carry
}

// Gap is a kind of a store that no route carries, with the reason.
type Gap struct {
	Store  Scope
	Kind   Kind
	Code   string // finding code, e.g. EXM-KIND-NOT-CARRIED
	Reason string
}

func (g Gap) Error() string { return fmt.Sprintf("%s/%s: %s", g.Store, g.Kind, g.Reason) }

// Gap codes.
const (
	CodeKindNotCarried  = "EXM-KIND-NOT-CARRIED"
	CodeStoreNotCarried = "EXM-STORE-NOT-CARRIED"
	CodeWouldSend       = "EXM-WRITE-WOULD-SEND"
)

// PlanRoute picks how one kind of one store moves from src to dst: the best
// format that src reads and dst writes without a side effect that reaches
// people. When none exists it returns the Gap that explains why.
func PlanRoute(src, dst Capabilities, store, targetStore Scope, kind Kind) (Route, *Gap) {
	reads := src.Reader(store, kind)
	writes := dst.Writer(targetStore, kind)
	gap := func(code, format string, args ...any) (Route, *Gap) {
		return Route{}, &Gap{Store: store, Kind: kind, Code: code, Reason: fmt.Sprintf(format, args...)}
	}
	if len(reads) == 0 {
		if why := src.Unsupported[StoreKind{store, kind}]; why != "" {
			return gap(CodeKindNotCarried, "the source (%s) cannot read %s items of the %s store: %s", src.Backend, kind, store, why)
		}
		return gap(CodeKindNotCarried, "the source (%s) has no way to read %s items of the %s store", src.Backend, kind, store)
	}
	if len(writes) == 0 {
		code := CodeKindNotCarried
		if !dst.HasStore(targetStore) {
			code = CodeStoreNotCarried
		}
		if why := dst.Unsupported[StoreKind{targetStore, kind}]; why != "" {
			return gap(code, "the target (%s) cannot write %s items to the %s store: %s", dst.Backend, kind, targetStore, why)
		}
		return gap(code, "the target (%s) has no way to write %s items to the %s store", dst.Backend, kind, targetStore)
	}
	var sends []string
	for _, f := range formatPreference {
		for _, r := range reads {
			if r.Format != f {
				continue
			}
			for _, w := range writes {
				if w.Format != f || (f == FormatFullFidelity && w.Dialect != r.Dialect) {
					continue
				}
				if reach := reaching(w.SideEffects); reach != "" {
					sends = append(sends, fmt.Sprintf("%s: %s", f, reach))
					continue
				}
				return Route{Store: store, Kind: kind, Format: f, Dialect: r.Dialect, Loses: joinNonEmpty(r.Loses, w.Loses)}, nil
			}
		}
	}
	if len(sends) > 0 {
		return gap(CodeWouldSend, "the target (%s) writes %s items only in a way that makes the service send mail (%s); exmigrate never sends a message", dst.Backend, kind, strings.Join(sends, "; "))
	}
	return gap(CodeKindNotCarried, "the source (%s) reads %s items as %s and the target (%s) writes them as %s: no format in common",
		src.Backend, kind, formats(reads), dst.Backend, formats(writes))
}

func reaching(effects []SideEffect) string {
	for _, e := range effects {
		if e.Reaches() {
			return string(e)
		}
	}
	return ""
}

func formats(ps []Path) string {
	var fs []string
	for _, p := range ps {
		if !slices.Contains(fs, string(p.Format)) {
			fs = append(fs, string(p.Format))
		}
	}
	return strings.Join(fs, ", ")
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
