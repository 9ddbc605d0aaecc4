package mailbox

import (
	"io"
	"strings"
	"time"
)

// Importance of a message, spelled as both EWS and Graph spell it.
type Importance string

// Importance values.
const (
	ImportanceLow    Importance = "Low"
	ImportanceNormal Importance = "Normal"
	ImportanceHigh   Importance = "High"
)

// FlagStatus is the follow-up flag of a message.
type FlagStatus string

// Flag states, spelled as EWS and Graph spell them (Graph lower-cases the first letter).
const (
	NotFlagged FlagStatus = "NotFlagged"
	Flagged    FlagStatus = "Flagged"
	Complete   FlagStatus = "Complete"
)

// Item class prefixes (PR_MESSAGE_CLASS).
const (
	ClassMessage     = "IPM.Note"
	ClassAppointment = "IPM.Appointment"
	ClassMeeting     = "IPM.Schedule.Meeting"
	ClassContact     = "IPM.Contact"
	ClassTask        = "IPM.Task"
	ClassStickyNote  = "IPM.StickyNote"
)

// Item is the metadata of one item: what listing and sync return, without
// its content.
type Item struct {
	ID string // the protocol's item id, opaque outside its adapter
	// ChangeKey is the item's version: it changes whenever the item does
	// (EWS ChangeKey, Graph changeKey). The engine compares it with the
	// version it copied to decide whether a typed item needs an update.
	ChangeKey         string
	FolderID          string
	Class             string // e.g. IPM.Note, IPM.Note.SMIME, IPM.Appointment
	Subject           string
	InternetMessageID string
	SizeBytes         int64
	Received          time.Time
	Sent              time.Time
	IsRead            bool
	IsDraft           bool
	Importance        Importance
	Categories        []string
	Flag              FlagStatus
	HasAttachments    bool
	// SourceID is the exmigrate stamp (see SourceIDPropertyName) when the
	// item was written by exmigrate; empty otherwise.
	SourceID string
	// Fingerprint is a value of the item's own content that a full-fidelity
	// copy carries to the new item: the MAPI search key (PR_SEARCH_KEY,
	// 0x300B), hex-encoded, as a listing reads it. Empty where the side
	// does not read it. It finds an imported item that carries no stamp
	// (see Fingerprinter); it is not unique (copies of one message share
	// it), so the engine never takes it alone for an identity.
	Fingerprint string
}

// Kind groups item classes the way an assessment counts them.
type Kind string

// Item kinds.
const (
	KindMail     Kind = "mail"
	KindCalendar Kind = "calendar"
	KindContacts Kind = "contacts"
	KindTasks    Kind = "tasks"
	KindNotes    Kind = "notes"
	KindOther    Kind = "other"
)

// KindOf classifies a message class. Meeting requests and responses are mail
// (they live in the Inbox and copy as messages); appointments are calendar.
func KindOf(class string) Kind {
	c := strings.ToUpper(class)
	has := func(prefix string) bool {
		p := strings.ToUpper(prefix)
		return c == p || strings.HasPrefix(c, p+".")
	}
	switch {
	case c == "" || has(ClassMessage) || has(ClassMeeting) || has("REPORT.IPM.Note") || has("IPM.Post"):
		return KindMail
	case has(ClassAppointment):
		return KindCalendar
	case has(ClassContact) || has("IPM.DistList"):
		return KindContacts
	case has(ClassTask):
		return KindTasks
	case has(ClassStickyNote):
		return KindNotes
	}
	return KindOther
}

// IsMail reports whether the copy engine carries this item as a message.
func (it Item) IsMail() bool { return KindOf(it.Class) == KindMail }

// Payload is what the copy engine hands a Target to write: one item of any
// kind, its identity at the source, and its content in a declared format.
type Payload struct {
	Item     Item
	SourceID string // written to the target as the named property below
	Format   Format
	Body     io.Reader // content in Format, consumed as a stream
	// Size is the item's size as the source reports it, or -1 when
	// unknown; a limit check, never a Content-Length.
	Size int64
	// Dialect names the stream of a FormatFullFidelity body (the source's
	// read path's Dialect), opaque otherwise.
	Dialect string
}

// Message is the MIME form of a payload: the adapters' mail writer.
func (p Payload) Message() Message {
	return Message{Item: p.Item, SourceID: p.SourceID, MIME: p.Body, Size: p.Size}
}

// Message is what the mail writers of the adapters take: the item's
// metadata, its identity at the source, and its content as an RFC 5322 (MIME)
// stream that the target must consume without holding it whole.
type Message struct {
	Item     Item
	SourceID string    // written to the target as the named property below
	MIME     io.Reader // RFC 5322 content
	// Size is the item's size as the source reports it, close to but not
	// exactly the MIME length, or -1 when unknown. Targets use it to refuse
	// an item over their limit before reading the stream, never as a
	// Content-Length.
	Size int64
}

// The named extended property that stamps every item exmigrate writes with
// its source identity, so that a rerun after a crash finds it instead of
// writing it again. Both adapters use the same property set and name, so a
// stamp written through Graph is readable through EWS and the other way.
const (
	SourceIDPropertySet  = "9d4b5a3e-6f0c-4c51-9a57-6b8e2f1d7c42"
	SourceIDPropertyName = "ExmigrateSourceId"
)

// ChangeKind says what happened to an item since the last sync state.
type ChangeKind string

// Change kinds.
const (
	ChangeCreated  ChangeKind = "created"  // new since the last state (every item on a first sync)
	ChangeUpdated  ChangeKind = "updated"  // content or properties changed
	ChangeReadFlag ChangeKind = "readflag" // only the read state changed
	ChangeDeleted  ChangeKind = "deleted"  // gone from the folder; only ID is set
)

// Change is one entry of an incremental sync.
type Change struct {
	Kind ChangeKind
	Item Item
}

// ChangePage is one round of an incremental sync. State is opaque (an EWS
// SyncState or a Graph delta or next link) and must be handed back verbatim
// on the next call; More says whether the server has more changes now.
type ChangePage struct {
	Changes []Change
	State   string
	More    bool
	// Listing marks a side that has no incremental sync for the folder's
	// kind (Graph v1.0 calendars have delta only in date windows, over
	// occurrences): every round lists every item as ChangeCreated with
	// its current ChangeKey, and the engine takes a copied item that the
	// complete listing does not name as deleted at the source.
	Listing bool
	// Resumed (Listing only) marks a page that continues a round an
	// earlier call began: a run that starts there has not seen the
	// round's earlier pages, so it cannot tell what is gone.
	Resumed bool
}
