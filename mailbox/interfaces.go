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

// ContentReader opens an item's MIME content as a stream. The caller closes it.
type ContentReader interface {
	OpenMIME(ctx context.Context, itemID string) (io.ReadCloser, error)
}

// Source is a mailbox the copy engine reads from.
type Source interface {
	FolderLister
	ChangeReader
	ContentReader
}

// Target is a mailbox the copy engine writes to. Every write is recorded by
// the caller in the audit log.
type Target interface {
	FolderLister
	// CreateFolder creates a folder under parentID, or returns the existing
	// one of the same display name there (idempotent).
	CreateFolder(ctx context.Context, parentID, displayName, class string) (Folder, error)
	// CreateMessage writes msg into the folder as a received (not draft)
	// message with its read state and dates, stamped with msg.SourceID,
	// and returns the new item's id.
	CreateMessage(ctx context.Context, folderID string, msg Message) (string, error)
	// FindBySourceID looks an item up by the exmigrate stamp in one folder;
	// found is false when no item carries it.
	FindBySourceID(ctx context.Context, folderID, sourceID string) (itemID string, found bool, err error)
	// SetRead changes the read state of an item written earlier.
	SetRead(ctx context.Context, itemID string, read bool) error
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
