package ews

import (
	"context"
	"fmt"
	"io"

	"github.com/exmigrate/exmigrate/mailbox"
)

// notYet is the reason for kinds EWS could carry but this adapter does not
// write yet: calendar items need CreateItem with SendMeetingInvitations
// "SendToNone", contacts and tasks their typed properties.
const notYet = "exmigrate's EWS adapter does not carry this kind yet (it reads and writes mail as MIME only)"

// Capabilities declares what the adapter does for a mailbox: mail as MIME
// in the primary and archive trees, and reading Recoverable Items. Folder
// item counts and sizes are reported (0x0E08), and SyncFolderItems reports
// a change of read state alone as ReadFlagChange.
func (m *Mailbox) Capabilities() mailbox.Capabilities {
	caps := mailbox.Capabilities{
		Backend:         "ews",
		ItemCounts:      true,
		FolderSizes:     true,
		ReadFlagChanges: true,
		Unsupported:     map[mailbox.StoreKind]string{},
	}
	for _, store := range []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive, mailbox.ScopeRecoverable} {
		caps.Reads = append(caps.Reads, mailbox.Path{Store: store, Kind: mailbox.KindMail, Format: mailbox.FormatMIME})
		if store != mailbox.ScopeRecoverable {
			caps.Writes = append(caps.Writes, mailbox.Path{Store: store, Kind: mailbox.KindMail, Format: mailbox.FormatMIME,
				Loses: "MAPI properties MIME does not carry"})
		}
		for _, k := range mailbox.Kinds()[1:] {
			caps.Unsupported[mailbox.StoreKind{Store: store, Kind: k}] = notYet
		}
	}
	caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopeRecoverable, Kind: mailbox.KindMail}] = "Recoverable Items are read for the assessment; exmigrate does not write into them"
	for _, k := range mailbox.Kinds() {
		caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopePublicFolders, Kind: k}] = "public folder items are inventoried, not copied, by exmigrate's EWS adapter"
	}
	return caps
}

// OpenItem streams an item's content. EWS reads MIME today.
func (m *Mailbox) OpenItem(ctx context.Context, itemID string, format mailbox.Format) (io.ReadCloser, error) {
	if format != mailbox.FormatMIME {
		return nil, fmt.Errorf("ews: read %s as %s: %w", itemID, format, mailbox.ErrUnsupported)
	}
	return m.OpenMIME(ctx, itemID)
}

// CreateItem writes a payload. EWS writes mail from MIME today.
func (m *Mailbox) CreateItem(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	if p.Format != mailbox.FormatMIME || p.Item.Kind() != mailbox.KindMail {
		return "", mailbox.Permanent(fmt.Errorf("ews: write a %s item as %s: %w", p.Item.Kind(), p.Format, mailbox.ErrUnsupported))
	}
	return m.CreateMessage(ctx, folderID, p.Message())
}
