package graphmail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Capabilities declares what the adapter does for a mailbox, in the
// primary tree: mail as MIME; contacts, calendar items and To Do tasks as
// typed items, each when the app's token has the role it needs; and, with
// Config.ReadRecoverableItems, the mail of Recoverable Items\Deletions,
// read only. Graph v1.0 reaches
// neither the online archive (the beta import/export API does, with
// Config.ArchivePreview) nor the rest of Recoverable Items nor public
// folders. Calendar items are written without attendees (Graph would
// invite them), so no write path has a side effect that reaches people;
// what that loses is named in Loses. mailFolder reports totalItemCount
// but no size; delta reports a change of read state as an update with
// isRead set.
func (m *Mailbox) Capabilities() mailbox.Capabilities {
	typed := func(k mailbox.Kind, loses string) mailbox.Path {
		return mailbox.Path{Store: mailbox.ScopePrimary, Kind: k, Format: mailbox.FormatTyped, Loses: loses}
	}
	caps := mailbox.Capabilities{
		Backend:      "graph",
		ItemCounts:   true,
		MaxItemBytes: m.c.sched.limits.MaxItemBytes,
		// Graph's /contacts holds no contact groups (reference/items.md B):
		// the engine skips them with this reason before any request.
		RefusedClasses: map[string]string{mailbox.ClassContactGroup: "Graph has no contact groups (IPM.DistList); re-create the group in Outlook, or keep its members as contacts"},
		Reads: []mailbox.Path{{Store: mailbox.ScopePrimary, Kind: mailbox.KindMail, Format: mailbox.FormatMIME},
			typed(mailbox.KindContacts, contactLosses), typed(mailbox.KindCalendar, calendarReadLosses), typed(mailbox.KindTasks, "")},
		Writes: []mailbox.Path{{Store: mailbox.ScopePrimary, Kind: mailbox.KindMail, Format: mailbox.FormatMIME,
			Loses: "MAPI properties MIME does not carry; x-headers beyond 5"},
			typed(mailbox.KindContacts, contactLosses), typed(mailbox.KindCalendar, calendarLosses), typed(mailbox.KindTasks, taskLosses)},
		Unsupported: map[mailbox.StoreKind]string{},
	}
	notV1 := map[mailbox.Scope]string{
		mailbox.ScopeArchive:       "Graph v1.0 cannot reach an online archive: set archive: preview on the graph endpoint to copy it through the beta import/export API",
		mailbox.ScopeRecoverable:   "Graph v1.0 cannot reach Recoverable Items beyond its Deletions folder (set ReadRecoverableItems to read that one)",
		mailbox.ScopePublicFolders: "Graph has no API for public folders",
	}
	for _, store := range mailbox.Stores() {
		for _, k := range mailbox.Kinds() {
			sk := mailbox.StoreKind{Store: store, Kind: k}
			switch {
			case notV1[store] != "":
				caps.Unsupported[sk] = notV1[store]
			case k == mailbox.KindNotes || k == mailbox.KindOther:
				caps.Unsupported[sk] = "Graph has no structured API for notes and journal items"
			}
		}
	}
	// Contacts, calendars and tasks need their own application
	// permissions: without one the kind is not carried (a finding naming
	// the fix), not a failed folder.
	roles := m.c.appRoles()
	for _, need := range []struct {
		kind        mailbox.Kind
		read, write []string
		what        string
	}{
		{mailbox.KindContacts, []string{"Contacts.Read", "Contacts.ReadWrite"}, []string{"Contacts.ReadWrite"}, "contacts"},
		{mailbox.KindCalendar, []string{"Calendars.Read", "Calendars.ReadWrite"}, []string{"Calendars.ReadWrite"}, "calendar items"},
		{mailbox.KindTasks, []string{"Tasks.Read.All", "Tasks.ReadWrite.All"}, []string{"Tasks.ReadWrite.All"}, "To Do tasks"},
	} {
		sk := mailbox.StoreKind{Store: mailbox.ScopePrimary, Kind: need.kind}
		of := func(p mailbox.Path) bool { return p.Kind == need.kind }
		switch {
		case !roles.has(need.read...):
			caps.Reads = slices.DeleteFunc(caps.Reads, of)
			caps.Writes = slices.DeleteFunc(caps.Writes, of)
			caps.Unsupported[sk] = fmt.Sprintf("the app registration has no %s application permission: grant it in Entra ID (API permissions, admin consent) to copy %s", need.write[0], need.what)
		case !roles.has(need.write...):
			caps.Writes = slices.DeleteFunc(caps.Writes, of)
			caps.Unsupported[sk] = fmt.Sprintf("the app registration has %s only: grant %s in Entra ID (API permissions, admin consent) to write %s", need.read[0], need.write[0], need.what)
		}
	}
	if m.c.cfg.ReadRecoverableItems {
		// Recoverable Items\Deletions through the mail API (recoverable.go).
		caps.Reads = append(caps.Reads, mailbox.Path{Store: mailbox.ScopeRecoverable, Kind: mailbox.KindMail, Format: mailbox.FormatMIME,
			Loses: `Recoverable Items\Versions and \Purges (no Graph name)`})
		for _, k := range mailbox.Kinds() {
			caps.Unsupported[mailbox.StoreKind{Store: mailbox.ScopeRecoverable, Kind: k}] = recoverableUnsupported
		}
	}
	if m.c.cfg.FullFidelity {
		m.fullFidelityPaths(&caps, roles)
		if m.c.cfg.ArchivePreview {
			m.archivePaths(&caps, roles)
		}
	}
	return caps
}

// fullFidelityPaths adds the paths of Graph's mailbox import/export API
// (Config.FullFidelity) in the primary store, each when the app has its
// roles (items.md D6): reads need MailboxItem.Export(.All) or
// MailboxItem.ImportExport(.All), writes MailboxItem.ImportExport(.All).
// Imports carry no exmigrate stamp (fullfidelity.go), which the write
// paths name in Loses.
func (m *Mailbox) fullFidelityPaths(caps *mailbox.Capabilities, roles *appRoles) {
	// Finding the mailbox id (User.Read.All) and its folders
	// (MailboxFolder.Read.All) serve both; reads also list items
	// (MailboxItem.Read.All) to map the ids of the other APIs.
	base := roles.has("User.Read.All", "User.ReadBasic.All", "Directory.Read.All") &&
		roles.has("MailboxFolder.Read.All", "MailboxFolder.ReadWrite.All", "MailboxFolder.Read", "MailboxFolder.ReadWrite")
	canRead := base && roles.has("MailboxItem.Read.All", "MailboxItem.Read") &&
		roles.has("MailboxItem.Export.All", "MailboxItem.ImportExport.All", "MailboxItem.Export", "MailboxItem.ImportExport")
	canWrite := base && roles.has("MailboxItem.ImportExport.All", "MailboxItem.ImportExport")
	dialects := []string{mailbox.DialectGraph}
	if m.c.acceptsEWS() {
		dialects = append(dialects, mailbox.DialectEWS)
	}
	for _, k := range []mailbox.Kind{mailbox.KindMail, mailbox.KindCalendar, mailbox.KindContacts, mailbox.KindTasks, mailbox.KindNotes} {
		sk := mailbox.StoreKind{Store: mailbox.ScopePrimary, Kind: k}
		if canRead {
			caps.Reads = append(caps.Reads, mailbox.Path{Store: mailbox.ScopePrimary, Kind: k, Format: mailbox.FormatFullFidelity, Dialect: mailbox.DialectGraph})
		}
		if canWrite {
			for _, d := range dialects {
				caps.Writes = append(caps.Writes, mailbox.Path{Store: mailbox.ScopePrimary, Kind: k, Format: mailbox.FormatFullFidelity, Dialect: d, Loses: fullFidelityLosses})
			}
		}
		// Imports carry no stamp: the engine finds them by fingerprint.
		caps.UnstampedImports = caps.UnstampedImports || canWrite
		switch {
		case canRead && canWrite:
			delete(caps.Unsupported, sk)
		case caps.Unsupported[sk] != "":
			caps.Unsupported[sk] += "; full fidelity needs the User.Read.All, MailboxFolder.Read.All, MailboxItem.Read.All and MailboxItem.ImportExport.All application permissions"
		}
	}
}

// calendarReadLosses is what reading an event through Graph v1.0 does not
// give: per-occurrence attendee changes, item and reference attachments.
const calendarReadLosses = "per-occurrence attendee changes; item and reference attachments; properties outside mailbox.Event"

// contactLosses is what a contact loses through Graph's /contacts
// (learn.microsoft.com/graph/api/resources/contact): groups are not served
// (microsoft-graph-docs-contrib#4041), a contact has no attachments, and
// a photo travels only as a JPEG, PNG, GIF or BMP of up to 3 MB.
const contactLosses = "contact groups (IPM.DistList) are not reachable through Graph /contacts; attachments, photos over 3 MB or in other formats, and properties outside mailbox.Contact are not carried"

// OpenItem streams an item's content: a message as MIME; a contact, an
// event or a task as the typed body.
func (m *Mailbox) OpenItem(ctx context.Context, itemID string, format mailbox.Format) (io.ReadCloser, error) {
	if _, folder := m.recall(itemID); format != mailbox.FormatFullFidelity && m.isArchiveFolder(folder) {
		return nil, m.errArchiveFullFidelityOnly("read " + itemID + " as " + string(format))
	}
	if format == mailbox.FormatTyped {
		ctx = m.ctx(ctx)
		kind, _ := m.recall(itemID)
		switch kind {
		case mailbox.KindCalendar:
			return m.openEvent(ctx, itemID)
		case mailbox.KindTasks:
			return m.openTask(ctx, itemID)
		case mailbox.KindContacts:
			return m.openContact(ctx, itemID)
		}
		// An item no listing of this Mailbox named: a contact, an event
		// or a task, in that order.
		rc, err := m.openContact(ctx, itemID)
		if !isNotFound(err) {
			return rc, err
		}
		if rc, err = m.openEvent(ctx, itemID); !isNotFound(err) {
			return rc, err
		}
		return m.openTask(ctx, itemID)
	}
	if format == mailbox.FormatFullFidelity {
		return m.openFullFidelity(m.ctx(ctx), itemID)
	}
	if format != mailbox.FormatMIME {
		return nil, fmt.Errorf("graph: read %s as %s: %w", itemID, format, mailbox.ErrUnsupported)
	}
	return m.OpenMIME(ctx, itemID)
}

// isNotFound reports an answer that names no item.
func isNotFound(err error) bool { return err != nil && errors.Is(err, mailbox.ErrNotFound) }

// errNoContactGroups refuses a contact group: Graph has no contact-group
// resource and /contacts does not serve IPM.DistList
// (microsoft-graph-docs-contrib#4041).
var errNoContactGroups = mailbox.Permanent(fmt.Errorf("graph: Graph has no contact groups (IPM.DistList): %w", mailbox.ErrUnsupported))

// CreateItem writes a payload: mail from MIME; a contact, an event or a
// task from its typed body into a folder of its kind.
func (m *Mailbox) CreateItem(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	if p.Format != mailbox.FormatFullFidelity && m.isArchiveFolder(folderID) {
		return "", m.errArchiveFullFidelityOnly("write a " + string(p.Format) + " item")
	}
	if p.Format == mailbox.FormatFullFidelity {
		return m.createFullFidelity(ctx, folderID, p)
	}
	if p.Format == mailbox.FormatTyped {
		ctx = m.ctx(ctx)
		switch {
		case strings.EqualFold(p.Item.Class, mailbox.ClassContactGroup) || strings.HasPrefix(strings.ToUpper(p.Item.Class), "IPM.DISTLIST."):
			return "", fmt.Errorf("graph: write contact group %q of %s: %w", p.Item.Subject, m.address, errNoContactGroups)
		case p.Item.Kind() == mailbox.KindContacts:
			return m.createContact(ctx, folderID, p)
		case p.Item.Kind() == mailbox.KindCalendar:
			return m.createEvent(ctx, folderID, p)
		case p.Item.Kind() == mailbox.KindTasks:
			return m.createTask(ctx, folderID, p)
		}
	}
	if p.Format != mailbox.FormatMIME || p.Item.Kind() != mailbox.KindMail {
		return "", mailbox.Permanent(fmt.Errorf("graph: write a %s item as %s: %w", p.Item.Kind(), p.Format, mailbox.ErrUnsupported))
	}
	return m.CreateMessage(ctx, folderID, p.Message())
}

// UpdateItem rewrites a typed item written earlier, in place: a contact
// (PATCH, and its photo), an event (PATCH without attendees, and its
// exceptions again) or a task (PATCH). Nothing is sent.
func (m *Mailbox) UpdateItem(ctx context.Context, itemID string, p mailbox.Payload) error {
	ctx = m.ctx(ctx)
	if _, folder := m.recall(itemID); m.isArchiveFolder(folder) {
		return m.errArchiveFullFidelityOnly("update " + itemID)
	}
	if p.Format != mailbox.FormatTyped {
		return mailbox.Permanent(fmt.Errorf("graph: update %s as %s: %w", itemID, p.Format, mailbox.ErrUnsupported))
	}
	switch p.Item.Kind() {
	case mailbox.KindContacts:
		if strings.EqualFold(p.Item.Class, mailbox.ClassContactGroup) {
			return fmt.Errorf("graph: update contact group %s of %s: %w", itemID, m.address, errNoContactGroups)
		}
		return m.updateContact(ctx, itemID, p)
	case mailbox.KindCalendar:
		return m.updateEvent(ctx, itemID, p)
	case mailbox.KindTasks:
		return m.updateTask(ctx, itemID, p)
	}
	return mailbox.Permanent(fmt.Errorf("graph: update a %s item: %w", p.Item.Kind(), mailbox.ErrUnsupported))
}
