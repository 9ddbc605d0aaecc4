package graphmail

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Fingerprints (mailbox.Fingerprinter, mailbox.FingerprintReader): an
// item imported through the import/export API carries no exmigrate stamp
// (fullfidelity.go), so the engine finds it after a crash by the MAPI
// search key (PR_SEARCH_KEY, 0x300B), which a full-fidelity copy keeps.
// Graph serves it as the extended property "Binary 0x300B", base64; the
// fingerprint is its hex. Whether the import keeps an item's search key
// is not documented by Microsoft: Exchange keeps it when it copies an
// item (MS-OXCPRPT), and the fakes do.

// searchKeyProp is PR_SEARCH_KEY in Graph's extended-property syntax.
const searchKeyProp = "Binary 0x300B"

var (
	_ mailbox.Fingerprinter     = (*Mailbox)(nil)
	_ mailbox.FingerprintReader = (*Mailbox)(nil)
)

// extProps is the singleValueExtendedProperties of an answer.
type extProps []struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

func (ps extProps) get(id string) string {
	for _, p := range ps {
		if strings.EqualFold(p.ID, id) {
			return p.Value
		}
	}
	return ""
}

// fingerprintOf reads a Binary 0x300B value (base64) as the fingerprint
// (hex, lower case); "" stays "".
func fingerprintOf(value string) (string, error) {
	if value == "" {
		return "", nil
	}
	b, err := base64.StdEncoding.DecodeString(value)
	if err != nil || len(b) == 0 {
		return "", fmt.Errorf("the search key (%s) is not base64 of at least one byte", searchKeyProp)
	}
	return hex.EncodeToString(b), nil
}

// ieItemExpand expands the search key and the exmigrate stamp on the
// import/export API's mailboxItems, one request per page.
func ieItemExpand() string {
	return "singleValueExtendedProperties($filter=id eq '" + searchKeyProp + "' or id eq '" + sourceIDProp + "')"
}

// ieWireItem is a mailboxItem with the expand of ieItemExpand.
type ieWireItem struct {
	ID        string   `json:"id"`
	ChangeKey string   `json:"changeKey"`
	Props     extProps `json:"singleValueExtendedProperties"`
}

// Fingerprints lists the unstamped items of a target folder with their
// fingerprints, through the import/export API (a listing that can
// expand: delta cannot), paged. The folder is one Folders or CreateFolder
// named: a folder of the mail, calendar or contacts API is mapped to the
// import/export API's by path (the stopgap of importFolder); an archive
// folder is one of that API already. Only with Config.FullFidelity.
func (m *Mailbox) Fingerprints(ctx context.Context, folderID string, fn func(itemID, fingerprint string) error) error {
	if err := m.fullFidelity(); err != nil {
		return fmt.Errorf("graph: fingerprints of folder %s of %s: %w", folderID, m.address, err)
	}
	ctx = m.ctx(ctx)
	box, ieFolder, err := m.ieFolderOf(ctx, folderID)
	if err != nil {
		return err
	}
	q := url.Values{"$top": {fmt.Sprint(pageSize)}, "$select": {"id"}, "$expand": {ieItemExpand()}}
	u, err := m.ieURL(ctx, box, "/folders/"+urlPathEscape(ieFolder)+"/items", q)
	if err != nil {
		return err
	}
	op := "list the fingerprints of folder " + folderID + " of " + m.address
	return listPaged(ctx, m, op, u, func(w ieWireItem) error {
		if w.Props.get(sourceIDProp) != "" {
			return nil // stamped: Stamps and FindBySourceID find it
		}
		fp, err := fingerprintOf(w.Props.get(searchKeyProp))
		if err != nil {
			return mailbox.Permanent(fmt.Errorf("graph: %s: item %s: %w", op, w.ID, err))
		}
		if fp == "" {
			return nil
		}
		return fn(w.ID, fp)
	})
}

// Fingerprint reads the fingerprint of one item that Changes delivered:
// one GET with the search key expanded (Graph's delta takes no $expand,
// so the listings do not carry it). Messages, events and contacts have
// it; To Do tasks have no extended properties (ErrUnsupported). An item
// of the archive is read through the import/export API. "" when the
// item has no search key.
func (m *Mailbox) Fingerprint(ctx context.Context, itemID string) (string, error) {
	ctx = m.ctx(ctx)
	kind, folder := m.recall(itemID)
	if m.isArchiveFolder(folder) {
		return m.archiveFingerprint(ctx, folder, itemID)
	}
	base := userPath(m.address)
	var paths []string
	switch kind {
	case mailbox.KindTasks:
		return "", mailbox.Permanent(fmt.Errorf("graph: fingerprint of To Do task %s of %s: To Do tasks have no extended properties, so no search key: %w", itemID, m.address, mailbox.ErrUnsupported))
	case mailbox.KindCalendar:
		paths = []string{base + "/events/"}
	case mailbox.KindContacts:
		paths = []string{base + "/contacts/"}
	case mailbox.KindMail:
		paths = []string{base + "/messages/"}
	default:
		// An item no listing of this Mailbox named: a message, a
		// contact or an event, in that order.
		paths = []string{base + "/messages/", base + "/contacts/", base + "/events/"}
	}
	q := url.Values{"$select": {"id"}, "$expand": {"singleValueExtendedProperties($filter=id eq '" + searchKeyProp + "')"}}
	op := "read the fingerprint of item " + itemID + " of " + m.address
	var err error
	for _, p := range paths {
		var w ieWireItem
		err = m.getJSON(ctx, op, m.c.graphURL(p+urlPathEscape(itemID), q), &w)
		if err == nil {
			fp, ferr := fingerprintOf(w.Props.get(searchKeyProp))
			if ferr != nil {
				return "", mailbox.Permanent(fmt.Errorf("graph: %s: %w", op, ferr))
			}
			return fp, nil
		}
		if !errors.Is(err, mailbox.ErrNotFound) {
			return "", err
		}
	}
	return "", err
}
