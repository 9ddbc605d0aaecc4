package ews

import (
	"context"
	"fmt"
	"io"

	"github.com/exmigrate/exmigrate/mailbox"
)

// notesLoses and otherLoses are what a note, and a journal entry or any
// other non-mail item, leave behind when they move as MIME (with their
// ItemClass, see soap.go): the properties that live only as MAPI
// properties. Whether Exchange's MIME for such an item keeps some of them
// (in a TNEF part, say) is unverified; these name what plain MIME cannot
// hold.
const (
	notesLoses = "a note's colour and window position, and MAPI properties MIME does not carry"
	otherLoses = "a journal entry's type, start, duration and linked contacts, and MAPI properties MIME does not carry"
)

// What typed contacts, calendar items and tasks leave behind, apart for
// reading (what the typed model has no field for) and writing (what
// Exchange does not let a client set): the planner joins the source's
// read losses with the target's write losses (see calendar.go, task.go).
const (
	contactReadLoses  = "attachments other than the photo, phone numbers other than business, home and mobile, and MAPI properties the typed contact does not hold"
	calendarReadLoses = "attachments over 3 MB and attached items (named in the body), and MAPI properties the typed event does not hold"
	taskReadLoses     = "regenerating recurrences (named in the body), attachments over 3 MB, and MAPI properties the typed task does not hold"

	calendarWriteLoses = "meetings the mailbox does not organize (written as appointments, organizer and attendees in the body), and attendees' responses (written into the body)"
	taskWriteLoses     = "owner, delegator and complete date (Exchange sets them)"
)

// Capabilities declares what the adapter does for a mailbox: mail, notes,
// journal entries and other items as MIME, and contacts (with contact
// groups), calendar items and tasks as typed properties in the primary and
// archive trees, and reading Recoverable Items (mail only). Typed calendar writes never send: see calendar.go. Folder
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
		if store == mailbox.ScopeRecoverable {
			for _, k := range mailbox.Kinds()[1:] {
				caps.Unsupported[mailbox.StoreKind{Store: store, Kind: k}] = "Recoverable Items are read (mail as MIME, every kind in full fidelity); exmigrate does not write into them"
			}
		}
		if store != mailbox.ScopeRecoverable {
			for _, p := range []struct {
				kind        mailbox.Kind
				format      mailbox.Format
				read, write string
			}{
				{mailbox.KindContacts, mailbox.FormatTyped, contactReadLoses, ""},
				{mailbox.KindCalendar, mailbox.FormatTyped, calendarReadLoses, calendarWriteLoses},
				{mailbox.KindTasks, mailbox.FormatTyped, taskReadLoses, taskWriteLoses},
				{mailbox.KindNotes, mailbox.FormatMIME, notesLoses, notesLoses},
				{mailbox.KindOther, mailbox.FormatMIME, otherLoses, otherLoses},
			} {
				caps.Reads = append(caps.Reads, mailbox.Path{Store: store, Kind: p.kind, Format: p.format, Loses: p.read})
				caps.Writes = append(caps.Writes, mailbox.Path{Store: store, Kind: p.kind, Format: p.format, Loses: p.write})
			}
		}
	}
	// Full fidelity (fullfidelity.go): ExportItems reads and UploadItems
	// writes every kind in the primary and archive stores; Recoverable
	// Items are read only (ExportItems takes any item id; reading there
	// is inferred, unverified on a server; writing there is not
	// documented, items.md E8).
	accepted := m.c.dialects.list()
	for _, store := range []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive, mailbox.ScopeRecoverable} {
		for _, k := range mailbox.Kinds() {
			p := mailbox.Path{Store: store, Kind: k, Format: mailbox.FormatFullFidelity, Dialect: mailbox.DialectEWS}
			caps.Reads = append(caps.Reads, p)
			if store != mailbox.ScopeRecoverable && m.c.cfg.FullFidelity {
				caps.Writes = append(caps.Writes, p)
				// Another service's data, where a probe found the
				// server takes it (AcceptDialect).
				for _, d := range accepted {
					p.Dialect = d
					caps.Writes = append(caps.Writes, p)
				}
			}
		}
	}
	caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopeRecoverable, Kind: mailbox.KindMail}] = "Recoverable Items are read for the assessment; exmigrate does not write into them"
	m.publicCapabilities(&caps)
	return caps
}

// publicCapabilities: public folders read and write as MIME (mail and
// posts, notes, other items) and typed (contacts, calendar items, tasks),
// as the mailbox trees do, when the hierarchy mailbox is configured.
// Full fidelity is left out: ExportItems and UploadItems are not among
// the operations Microsoft documents for public folders.
func (m *Mailbox) publicCapabilities(caps *mailbox.Capabilities) {
	pf := mailbox.ScopePublicFolders
	if m.c.cfg.PublicFolderMailbox == "" {
		for _, k := range mailbox.Kinds() {
			caps.Unsupported[mailbox.StoreKind{Store: pf, Kind: k}] = "public folders need onprem.public_folder_mailbox (the public folder hierarchy mailbox), because exmigrate never uses Autodiscover: set it to copy public folders"
		}
		return
	}
	for _, p := range []struct {
		kind        mailbox.Kind
		format      mailbox.Format
		read, write string
	}{
		{mailbox.KindMail, mailbox.FormatMIME, "MAPI properties MIME does not carry", "MAPI properties MIME does not carry"},
		{mailbox.KindContacts, mailbox.FormatTyped, contactReadLoses, ""},
		{mailbox.KindCalendar, mailbox.FormatTyped, calendarReadLoses, calendarWriteLoses},
		{mailbox.KindTasks, mailbox.FormatTyped, taskReadLoses, taskWriteLoses},
		{mailbox.KindNotes, mailbox.FormatMIME, notesLoses, notesLoses},
		{mailbox.KindOther, mailbox.FormatMIME, otherLoses, otherLoses},
	} {
		caps.Reads = append(caps.Reads, mailbox.Path{Store: pf, Kind: p.kind, Format: p.format, Loses: p.read})
		caps.Writes = append(caps.Writes, mailbox.Path{Store: pf, Kind: p.kind, Format: p.format, Loses: p.write})
	}
}

// OpenItem streams an item's content: MIME, the typed properties of a
// contact, contact group, calendar item or task (any other item read as
// typed is ErrUnsupported), or its ExportItems data (full fidelity).
func (m *Mailbox) OpenItem(ctx context.Context, itemID string, format mailbox.Format) (io.ReadCloser, error) {
	if pctx, pm, raw, _, ok := m.public(ctx, itemID); ok {
		if format == mailbox.FormatFullFidelity {
			return nil, errPublicFullFidelity("export " + itemID)
		}
		return pm.OpenItem(pctx, raw, format)
	}
	switch format {
	case mailbox.FormatMIME:
		return m.OpenMIME(ctx, itemID)
	case mailbox.FormatTyped:
		return m.openTyped(ctx, itemID)
	case mailbox.FormatFullFidelity:
		rc, err := m.c.openFullFidelity(ctx, m.address, itemID)
		if err != nil {
			return nil, fmt.Errorf("export %s from %s: %w", itemID, m.address, err)
		}
		return rc, nil
	}
	return nil, mailbox.Permanent(fmt.Errorf("ews: read %s as %s: %w", itemID, format, mailbox.ErrUnsupported))
}

// CreateItem writes a payload: mail, notes, journal entries and other
// items from MIME (the non-mail ones keeping their ItemClass); a contact,
// contact group, calendar item or task from its typed properties; any
// item from ExportItems data with UploadItems (full fidelity).
func (m *Mailbox) CreateItem(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	if pctx, pm, raw, route, ok := m.public(ctx, folderID); ok {
		if p.Format == mailbox.FormatFullFidelity {
			return "", errPublicFullFidelity("upload " + p.SourceID)
		}
		id, err := pm.CreateItem(pctx, raw, p)
		if err != nil {
			return "", fmt.Errorf("public folder %s: %w", folderID, err)
		}
		return pfID(route, id), nil
	}
	switch k := p.Item.Kind(); {
	case p.Format == mailbox.FormatFullFidelity:
		return m.createFullFidelity(ctx, folderID, p)
	case p.Format == mailbox.FormatMIME && (k == mailbox.KindMail || k == mailbox.KindNotes || k == mailbox.KindOther):
		return m.CreateMessage(ctx, folderID, p.Message())
	case p.Format == mailbox.FormatTyped && p.Item.Kind() == mailbox.KindContacts:
		return m.createContactOrGroup(ctx, folderID, p)
	case p.Format == mailbox.FormatTyped && p.Item.Kind() == mailbox.KindCalendar:
		return m.CreateEvent(ctx, folderID, p)
	case p.Format == mailbox.FormatTyped && p.Item.Kind() == mailbox.KindTasks:
		return m.CreateTask(ctx, folderID, p)
	}
	return "", mailbox.Permanent(fmt.Errorf("ews: write a %s item as %s: %w", p.Item.Kind(), p.Format, mailbox.ErrUnsupported))
}
