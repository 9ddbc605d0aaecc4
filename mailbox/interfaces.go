package mailbox

import (
	"context"
	"io"
)

// The interfaces below are what the engines need from one mailbox, opened for
// one address on one side. Each adapter (ews, graphmail) implements all of
// them; each engine asks only for the ones it uses.

// FolderLister lists the folder tree of one scope of a mailbox, parents
// before children. The root itself is included with the empty Path.
type FolderLister interface {
	Folders(ctx context.Context, scope Scope) ([]Folder, error)
}

// ItemLister pages through the items of one folder, calling fn for each.
// It stops at the first error fn returns and returns that error.
type ItemLister interface {
	Items(ctx context.Context, folderID string, fn func(Item) error) error
}

// ChangeReader is the incremental sync of one folder. The empty state starts
// a full sync, which reports every item as ChangeCreated. An expired state
// returns an error matching ErrSyncStateInvalid.
type ChangeReader interface {
	Changes(ctx context.Context, folderID, state string) (ChangePage, error)
}

// ContentReader opens an item's content as a stream in one of the formats
// the side declares for the item's kind (Capabilities.Reads). A format the
// side does not read fails with ErrUnsupported. The caller closes the
// stream; the side never holds a whole item in memory.
type ContentReader interface {
	OpenItem(ctx context.Context, itemID string, format Format) (io.ReadCloser, error)
}

// Capable is a side that declares what it can do for a mailbox.
type Capable interface {
	Capabilities() Capabilities
}

// Source is a mailbox the copy engine reads from.
//
// The contract, pinned by mailbox/mailboxtest:
//   - Folders lists the root (empty Path) first and every parent before its
//     children, with Path filled; ItemCount is true when Capabilities says so.
//   - Changes from the empty state reports every item as ChangeCreated,
//     pages until More is false, and maps an expired state to
//     ErrSyncStateInvalid. Items carry their class, dates, read state,
//     importance, categories and flag.
//   - Errors match the mailbox sentinels (ErrNotFound, ErrAccessDenied,
//     ErrMailboxNotFound, ErrItemRejected, ErrThrottled ...), and an answer
//     no retry can change is marked with Permanent.
type Source interface {
	Capable
	FolderLister
	ChangeReader
	ContentReader
}

// Target is a mailbox the copy engine writes to. Every write is recorded by
// the caller in the audit log.
//
// The contract, pinned by mailbox/mailboxtest:
//   - CreateFolder with an empty parentID creates under the root of the
//     primary store; it is idempotent (the same name under the same parent
//     returns the existing folder) and returns the folder with Path filled.
//   - CreateItem writes the payload as a received (never draft, never sent)
//     item with its read state and dates, stamped with p.SourceID, streaming
//     the body. An item whose write did not complete (a crash between two
//     requests of one write) is never reported by FindBySourceID: the side
//     removes or completes it before it writes that stamp again.
//   - An item over the side's limit fails with *ItemTooLargeError before the
//     body is read.
type Target interface {
	Capable
	FolderLister
	// CreateFolder creates a folder under parentID (empty: the primary
	// root), or returns the existing one of the same display name there.
	CreateFolder(ctx context.Context, parentID, displayName, class string) (Folder, error)
	// CreateItem writes p into the folder and returns the new item's id.
	CreateItem(ctx context.Context, folderID string, p Payload) (string, error)
	// FindBySourceID looks an item up by the exmigrate stamp in one folder;
	// found is false when no complete item carries it.
	FindBySourceID(ctx context.Context, folderID, sourceID string) (itemID string, found bool, err error)
	// Stamps lists the complete items of one folder that carry a stamp
	// (Item.SourceID), with their id and read state, in pages: how a copy
	// without state learns what a folder already holds with one listing
	// instead of a lookup per item. It stops at the first error fn returns
	// and returns that error.
	Stamps(ctx context.Context, folderID string, fn func(Item) error) error
	// SetRead changes the read state of an item written earlier.
	SetRead(ctx context.Context, itemID string, read bool) error
}

// Fingerprinter is a target whose full-fidelity writes carry no exmigrate
// stamp (Graph's import API documents no way to set one): it lists the
// fingerprints (Item.Fingerprint) of the unstamped items of a folder, so
// that the engine can find an import whose record a crash lost, and adopt
// what a copy without state finds there, instead of importing it again.
type Fingerprinter interface {
	// Fingerprints calls fn with the id and fingerprint of each complete
	// item of the folder that carries no stamp and has a fingerprint. It
	// stops at the first error fn returns and returns that error.
	Fingerprints(ctx context.Context, folderID string, fn func(itemID, fingerprint string) error) error
}

// BatchReader is a source that reads several items' content in one
// request (EWS GetItem and ExportItems take many ids): at a network's
// latency that is most of a copy's time. fn is called once per item, in
// the order given, with its content (valid only during the call) or that
// item's own error; a failure of the whole request is ReadBatch's error.
// The caller bounds the batch by count and by the listing's sizes.
type BatchReader interface {
	ReadBatch(ctx context.Context, items []Item, format Format, fn func(it Item, body io.Reader, err error) error) error
}

// BatchWriter is a target that writes several items into one folder in
// one request (EWS CreateItem takes many). Each payload is written as
// CreateItem would, stamped; the results are in the payloads' order: the
// new item's id, or that payload's own error. When a request fails as a
// whole its payloads carry that error (their outcome is unknown: the
// engine looks each up by its stamp) and CreateBatch returns it too.
type BatchWriter interface {
	CreateBatch(ctx context.Context, folderID string, ps []Payload) ([]BatchResult, error)
}

// BatchLimiter is a BatchWriter with limits of its own: at most items
// payloads a request (Graph's $batch takes 20), each of at most itemBytes
// by the source's size.
type BatchLimiter interface {
	BatchLimits() (items int, itemBytes int64)
}

// BatchResult is one payload's outcome in CreateBatch.
type BatchResult struct {
	ID  string
	Err error
}

// DialectAccepter is a side that can be told, after the fidelity probe
// found it takes another service's full-fidelity data, to accept that
// dialect from then on (for every mailbox of its client): its
// Capabilities then declare those writes.
type DialectAccepter interface {
	AcceptDialect(dialect string)
}

// FingerprintReader is a source that does not fill Item.Fingerprint in its
// listings: it reads one item's fingerprint on demand (one request). The
// engine asks only for an item it is about to write in full fidelity to a
// Fingerprinter, and records the answer before the write.
type FingerprintReader interface {
	Fingerprint(ctx context.Context, itemID string) (string, error)
}

// RuleReader reads the server-side inbox rules of a mailbox.
type RuleReader interface {
	Rules(ctx context.Context) ([]Rule, error)
}

// RuleWriter creates an inbox rule and returns its id.
type RuleWriter interface {
	CreateRule(ctx context.Context, rule Rule) (string, error)
}

// DelegateReader reads the delegates of a mailbox.
type DelegateReader interface {
	Delegates(ctx context.Context) ([]Delegate, error)
}

// HoldReader reads the In-Place holds that cover a mailbox.
type HoldReader interface {
	Holds(ctx context.Context) ([]Hold, error)
}

// FolderPermissionReader reads the permission sets of a mailbox's folders.
type FolderPermissionReader interface {
	FolderPermissions(ctx context.Context) ([]FolderPermission, error)
}

// Updater rewrites an item the tool wrote earlier with its source's new
// content, in place and without sending anything (no meeting update, no
// receipt). The engine uses it for typed kinds (calendar, contacts,
// tasks) when the source item changes after its copy; p carries the same
// stamp as the first write. A target without it leaves a changed item as
// first copied, and the engine counts it as not updated.
type Updater interface {
	UpdateItem(ctx context.Context, itemID string, p Payload) error
}

// Deleter removes an item the tool wrote (the fidelity probe's scratch
// items), sending nothing: where removal would make the service send a
// cancellation or an update, it fails with ErrWouldSend and leaves the
// item.
type Deleter interface {
	DeleteItem(ctx context.Context, itemID string) error
}
