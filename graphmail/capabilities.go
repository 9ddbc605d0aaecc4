package graphmail

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Capabilities declares what the adapter does for a mailbox: mail as MIME
// and contacts as typed items in the primary tree. Graph v1.0 reaches neither the online archive nor
// Recoverable Items nor public folders; its /events API cannot write a
// meeting without mailing the attendees, so no calendar path is declared.
// mailFolder reports totalItemCount but no size; delta reports a change
// of read state as an update with isRead set.
func (m *Mailbox) Capabilities() mailbox.Capabilities {
	caps := mailbox.Capabilities{
		Backend:      "graph",
		ItemCounts:   true,
		MaxItemBytes: m.c.sched.limits.MaxItemBytes,
		Reads: []mailbox.Path{{Store: mailbox.ScopePrimary, Kind: mailbox.KindMail, Format: mailbox.FormatMIME},
			{Store: mailbox.ScopePrimary, Kind: mailbox.KindContacts, Format: mailbox.FormatTyped, Loses: contactLosses}},
		Writes: []mailbox.Path{{Store: mailbox.ScopePrimary, Kind: mailbox.KindMail, Format: mailbox.FormatMIME,
			Loses: "MAPI properties MIME does not carry; x-headers beyond 5"},
			{Store: mailbox.ScopePrimary, Kind: mailbox.KindContacts, Format: mailbox.FormatTyped, Loses: contactLosses}},
		Unsupported: map[mailbox.StoreKind]string{},
	}
	notV1 := map[mailbox.Scope]string{
		mailbox.ScopeArchive:       "Graph v1.0 cannot reach an online archive",
		mailbox.ScopeRecoverable:   "Graph v1.0 cannot reach Recoverable Items",
		mailbox.ScopePublicFolders: "Graph has no API for public folders",
	}
	for _, store := range mailbox.Stores() {
		for _, k := range mailbox.Kinds() {
			sk := mailbox.StoreKind{Store: store, Kind: k}
			switch {
			case notV1[store] != "":
				caps.Unsupported[sk] = notV1[store]
			case k == mailbox.KindCalendar:
				caps.Unsupported[sk] = "Graph /events sends invitations when it writes a meeting with attendees; exmigrate's Graph adapter does not carry calendar items yet"
			case k == mailbox.KindNotes || k == mailbox.KindOther:
				caps.Unsupported[sk] = "Graph has no structured API for notes and journal items"
			case k != mailbox.KindMail && k != mailbox.KindContacts:
				caps.Unsupported[sk] = "exmigrate's Graph adapter does not carry this kind yet (it reads and writes mail as MIME and contacts as typed items only)"
			}
		}
	}
	// Contacts need their own application permission: without it the
	// kind is not carried (a finding naming the fix), not a failed folder.
	sk := mailbox.StoreKind{Store: mailbox.ScopePrimary, Kind: mailbox.KindContacts}
	roles := m.c.appRoles()
	switch {
	case !roles.has("Contacts.Read", "Contacts.ReadWrite"):
		caps.Reads = slices.DeleteFunc(caps.Reads, isContacts)
		caps.Writes = slices.DeleteFunc(caps.Writes, isContacts)
		caps.Unsupported[sk] = "the app registration has no Contacts.ReadWrite application permission: grant it in Entra ID (API permissions, admin consent) to copy contacts"
	case !roles.has("Contacts.ReadWrite"):
		caps.Writes = slices.DeleteFunc(caps.Writes, isContacts)
		caps.Unsupported[sk] = "the app registration has Contacts.Read only: grant Contacts.ReadWrite in Entra ID (API permissions, admin consent) to write contacts"
	}
	return caps
}

func isContacts(p mailbox.Path) bool { return p.Kind == mailbox.KindContacts }

// contactLosses is what a contact loses through Graph's /contacts
// (learn.microsoft.com/graph/api/resources/contact): groups are not served
// (microsoft-graph-docs-contrib#4041), and the model carries no photo or
// attachments.
const contactLosses = "contact groups (IPM.DistList) are not reachable through Graph /contacts; photos, attachments and properties outside mailbox.Contact are not carried"

// OpenItem streams an item's content: a message as MIME, a contact as the
// typed body.
func (m *Mailbox) OpenItem(ctx context.Context, itemID string, format mailbox.Format) (io.ReadCloser, error) {
	if format == mailbox.FormatTyped {
		return m.openContact(m.ctx(ctx), itemID)
	}
	if format != mailbox.FormatMIME {
		return nil, fmt.Errorf("graph: read %s as %s: %w", itemID, format, mailbox.ErrUnsupported)
	}
	return m.OpenMIME(ctx, itemID)
}

// CreateItem writes a payload: mail from MIME, a contact from its typed
// body into a contact folder.
func (m *Mailbox) CreateItem(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	if p.Format == mailbox.FormatTyped && p.Item.Kind() == mailbox.KindContacts {
		return m.createContact(m.ctx(ctx), folderID, p)
	}
	if p.Format != mailbox.FormatMIME || p.Item.Kind() != mailbox.KindMail {
		return "", mailbox.Permanent(fmt.Errorf("graph: write a %s item as %s: %w", p.Item.Kind(), p.Format, mailbox.ErrUnsupported))
	}
	return m.CreateMessage(ctx, folderID, p.Message())
}
