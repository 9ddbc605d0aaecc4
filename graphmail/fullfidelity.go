package graphmail

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/exmigrate/exmigrate/internal/netcheck"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Full fidelity through Graph's mailbox import/export API (reference
// items.md D): Config.FullFidelity turns it on. The API is v1.0 since
// 2026, global cloud only; its items are read with exportItems (an opaque
// stream, at most 20 items a request) and written with an import session:
// createImportSession answers a pre-authenticated importUrl on Outlook's
// host, to which each item is POSTed without an Authorization header.
//
// The ids of this API are not those of the mail, calendar and contacts
// APIs (D3) and no mapping between them is documented. OpenItem and
// CreateItem in full fidelity take ids of this API (FullFidelityFolders,
// FullFidelityItems list them) and, as a STOPGAP, ids that Folders, Items
// and Changes named: a folder is mapped by its path, an item by its
// folder and its creation time to the second (mapToImportExportID), which
// refuses an ambiguous match. Folders and Changes still list through the
// mail, calendar, contacts and To Do APIs: listing through this API (so
// that the ids are the same everywhere) is not done yet.
//
// Stamps: stamping an imported item is not documented (D5: mailboxItem
// documents get and filter of extended properties, not their creation),
// and the stream is opaque, so graphmail does not alter it. An imported
// item carries no exmigrate stamp: FindBySourceID and Stamps do not find
// it. The Mailbox declares UnstampedImports and lists the unstamped
// items by fingerprint (the MAPI search key the copy keeps,
// fingerprint.go), so that the engine finds an import whose record a
// crash lost.

// maxExportIDs is the most ids exportItems takes (D4, D7).
const maxExportIDs = 20

// importSessionMargin: a session is renewed this long before its
// expirationDateTime, so that no POST starts on a URL about to expire.
const importSessionMargin = 5 * time.Minute

// maxStreamBytes bounds one exported item's answer.
const maxStreamBytes = 200 << 20

// fullFidelityLosses is what the Graph full-fidelity write path does not
// carry: exmigrate's stamp.
const fullFidelityLosses = "no exmigrate source stamp on imported items (stamping is not documented by the import/export API): an import is found again by its search key (fingerprint)"

// errFullFidelityOff refuses full fidelity when Config.FullFidelity is off.
var errFullFidelityOff = mailbox.Permanent(fmt.Errorf("graph: full fidelity needs Config.FullFidelity (Graph's mailbox import/export API): %w", mailbox.ErrUnsupported))

// ieState is what a Mailbox keeps of the import/export API.
type ieState struct {
	// sessionMu makes one session creation at a time, so that workers
	// importing at once share a session.
	sessionMu sync.Mutex
	mu        sync.Mutex
	mbxID     string
	// sessions are the import sessions by their createImportSession URL
	// (the primary, the archive, an auxiliary archive).
	sessions map[string]*importSession
	// auxiliary are the auxiliary archives (MBX ids) that imports into
	// an archive folder were sent to by a 409 (archive.go).
	auxiliary map[string]string
	folders   []FullFidelityFolder
	// mapped are ids of the other APIs mapped to this API's, and
	// created the items of import/export folders by creation second
	// (mapToImportExportID).
	mapped  map[string]string
	created map[string]ieByCreated
	// archiveID is the main archive's id (inPlaceArchiveMailboxId) and
	// archiveFolders its folders by id, as Folders and CreateFolder
	// named them (archive.go).
	archiveID      string
	archiveFolders map[string]FullFidelityFolder
}

type importSession struct {
	url     string
	p       *preauthURL
	expires time.Time
}

// FullFidelityFolder is a folder as the import/export API lists it.
type FullFidelityFolder struct {
	ID, ParentID, Name string
	// Class is the folder's type, its container class (IPF.Note ...).
	Class string
	// Path is the folder's path of display names below the root.
	Path       string
	ItemCount  int64
	ChildCount int64
}

// FullFidelityItem is an item as the import/export API lists it.
type FullFidelityItem struct {
	ID, ChangeKey string
	Class         string // the message class
	Size          int64
	Created       time.Time
	Modified      time.Time
}

// ExportedItem is one item of an exportItems answer: its opaque stream,
// or Err.
type ExportedItem struct {
	ItemID, ChangeKey string
	Data              []byte
	Err               error
	// MovedTo is, for an item of an auxiliary archive, the exportItems
	// URL the answer named (ErrorArchiveFolderMovedPermanently).
	MovedTo string
}

func (m *Mailbox) fullFidelity() error {
	if !m.c.cfg.FullFidelity {
		return errFullFidelityOff
	}
	return nil
}

// MailboxID is the mailbox's id in the import/export API
// (GET /users/{id}/settings/exchange, primaryMailboxId), read once.
func (m *Mailbox) MailboxID(ctx context.Context) (string, error) {
	if err := m.fullFidelity(); err != nil {
		return "", err
	}
	op := "read the import/export mailbox id of " + m.address
	return m.exchangeSetting(ctx, op, m.c.graphURL(userPath(m.address)+"/settings/exchange", nil), "primaryMailboxId", &m.ie.mbxID,
		func() error {
			return mailbox.Permanent(fmt.Errorf("graph: %s: the answer has no primaryMailboxId", op))
		})
}

// exchangeSetting reads one id of a user's settings/exchange at u, once:
// *cache (guarded by m.ie.mu) keeps it; an answer without it is missing().
func (m *Mailbox) exchangeSetting(ctx context.Context, op, u, field string, cache *string, missing func() error) (string, error) {
	m.ie.mu.Lock()
	id := *cache
	m.ie.mu.Unlock()
	if id != "" {
		return id, nil
	}
	var out map[string]any
	if err := m.getJSON(m.ctx(ctx), op, u, &out); err != nil {
		return "", err
	}
	id, _ = out[field].(string)
	if id == "" {
		return "", missing()
	}
	m.ie.mu.Lock()
	*cache = id
	m.ie.mu.Unlock()
	return id, nil
}

// adminURL is a URL below /admin/exchange/mailboxes/{mbx}.
func (m *Mailbox) adminURL(ctx context.Context, rest string, q url.Values) (string, error) {
	mbx, err := m.MailboxID(ctx)
	if err != nil {
		return "", err
	}
	return m.c.graphURL("/admin/exchange/mailboxes/"+url.PathEscape(mbx)+rest, q), nil
}

// FullFidelityFolders lists every folder of the mailbox through the
// import/export API, with their paths.
func (m *Mailbox) FullFidelityFolders(ctx context.Context) ([]FullFidelityFolder, error) {
	ctx = m.ctx(ctx)
	u, err := m.adminURL(ctx, "/folders", url.Values{"$top": {fmt.Sprint(pageSize)}})
	if err != nil {
		return nil, err
	}
	type wireFolder struct {
		ID               string `json:"id"`
		DisplayName      string `json:"displayName"`
		ParentFolderID   string `json:"parentFolderId"`
		Type             string `json:"type"`
		TotalItemCount   int64  `json:"totalItemCount"`
		ChildFolderCount int64  `json:"childFolderCount"`
	}
	var all []FullFidelityFolder
	err = listPaged(ctx, m, "list import/export folders of "+m.address, u, func(w wireFolder) error {
		all = append(all, FullFidelityFolder{ID: w.ID, ParentID: w.ParentFolderID, Name: w.DisplayName, Class: w.Type, ItemCount: w.TotalItemCount, ChildCount: w.ChildFolderCount})
		return nil
	})
	if err != nil {
		return nil, err
	}
	byID := map[string]*FullFidelityFolder{}
	for i := range all {
		byID[all[i].ID] = &all[i]
	}
	var path func(f *FullFidelityFolder, depth int) string
	path = func(f *FullFidelityFolder, depth int) string {
		p := byID[f.ParentID]
		if p == nil || depth > 64 {
			return "" // the root
		}
		if pp := path(p, depth+1); pp != "" {
			return pp + "/" + f.Name
		}
		return f.Name
	}
	for i := range all {
		all[i].Path = path(&all[i], 0)
	}
	m.ie.mu.Lock()
	m.ie.folders = all
	m.ie.mu.Unlock()
	return all, nil
}

// FullFidelityItems lists the items of a folder of the import/export API.
func (m *Mailbox) FullFidelityItems(ctx context.Context, folderID string, fn func(FullFidelityItem) error) error {
	ctx = m.ctx(ctx)
	u, err := m.adminURL(ctx, "/folders/"+urlPathEscape(folderID)+"/items", url.Values{"$top": {fmt.Sprint(pageSize)}})
	if err != nil {
		return err
	}
	type wireItem struct {
		ID        string    `json:"id"`
		ChangeKey string    `json:"changeKey"`
		Type      string    `json:"type"`
		Size      int64     `json:"size"`
		Created   time.Time `json:"createdDateTime"`
		Modified  time.Time `json:"lastModifiedDateTime"`
	}
	return listPaged(ctx, m, "list import/export items of folder "+folderID+" of "+m.address, u, func(w wireItem) error {
		return fn(FullFidelityItem{ID: w.ID, ChangeKey: w.ChangeKey, Class: w.Type, Size: w.Size, Created: w.Created, Modified: w.Modified})
	})
}

// exportRequest is the body of exportItems.
type exportRequest struct {
	ItemIDs []string `json:"itemIds"`
}

// exportBatches splits ids into exportItems requests of at most 20.
func exportBatches(ids []string) []exportRequest {
	var out []exportRequest
	for len(ids) > 0 {
		n := min(len(ids), maxExportIDs)
		out = append(out, exportRequest{ItemIDs: ids[:n:n]})
		ids = ids[n:]
	}
	return out
}

// ExportItems exports items of the mailbox by their import/export ids,
// 20 to a request, in the order asked. An item the service could not
// export has Err set (ErrNotFound for one that is gone).
func (m *Mailbox) ExportItems(ctx context.Context, ids []string) ([]ExportedItem, error) {
	return m.exportItemsIn(ctx, primaryBox, ids)
}

// exportItemsIn is ExportItems in one box (the primary or the archive).
func (m *Mailbox) exportItemsIn(ctx context.Context, box ieBox, ids []string) ([]ExportedItem, error) {
	ctx = m.ctx(ctx)
	u, err := m.ieURL(ctx, box, "/exportItems", nil)
	if err != nil {
		return nil, err
	}
	return m.exportItemsAt(ctx, u, ids)
}

// exportItemsAt is ExportItems through one exportItems URL.
func (m *Mailbox) exportItemsAt(ctx context.Context, u string, ids []string) ([]ExportedItem, error) {
	var out []ExportedItem
	for _, batch := range exportBatches(ids) {
		op := fmt.Sprintf("export %d items of %s", len(batch.ItemIDs), m.address)
		var ans struct {
			Value []struct {
				ItemID    string `json:"itemId"`
				ChangeKey string `json:"changeKey"`
				Data      string `json:"data"`
				Error     *struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			} `json:"value"`
		}
		b, _ := json.Marshal(batch)
		resp, err := m.c.do(ctx, op, http.MethodPost, u, bytes.NewReader(b), int64(len(b)), http.Header{"Content-Type": {"application/json"}})
		if err != nil {
			return nil, err
		}
		err = decodeAnswer(resp, maxStreamBytes, &ans)
		resp.Body.Close()
		if err != nil {
			return nil, wrapErr(op, err)
		}
		for _, v := range ans.Value {
			e := ExportedItem{ItemID: v.ItemID, ChangeKey: v.ChangeKey}
			switch {
			case v.Error != nil:
				ge := &Error{Op: "export item " + v.ItemID + " of " + m.address, Status: http.StatusOK, Code: v.Error.Code, Message: v.Error.Message}
				switch v.Error.Code {
				case "ErrorItemNotFound":
					e.Err = fmt.Errorf("%w: %w", ge, mailbox.ErrNotFound)
				case "ErrorInvalidIdMalformed":
					e.Err = mailbox.Permanent(fmt.Errorf("%w (an id of the mail, calendar or contacts API is not an import/export id): %w", ge, mailbox.ErrUnsupported))
				case "ErrorArchiveFolderMovedPermanently":
					// The item is in an auxiliary archive (items.md D8):
					// the message is the exportItems URL to ask there.
					e.MovedTo = v.Error.Message
					e.Err = mailbox.Permanent(fmt.Errorf("%w (the item is in an auxiliary archive): %w", ge, mailbox.ErrUnsupported))
				default:
					e.Err = mailbox.Permanent(ge)
				}
			default:
				data, err := base64.StdEncoding.DecodeString(v.Data)
				if err != nil || len(data) == 0 {
					e.Err = mailbox.Permanent(fmt.Errorf("graph: export item %s of %s: the answer's data is not base64", v.ItemID, m.address))
				}
				e.Data = data
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// openFullFidelity streams the export of one item.
func (m *Mailbox) openFullFidelity(ctx context.Context, itemID string) (io.ReadCloser, error) {
	if err := m.fullFidelity(); err != nil {
		return nil, err
	}
	if _, folder := m.recall(itemID); m.isArchiveFolder(folder) {
		return m.openArchiveItem(ctx, itemID)
	}
	m.ie.mu.Lock()
	mapped := m.ie.mapped[itemID]
	m.ie.mu.Unlock()
	ieID := itemID
	if mapped != "" {
		ieID = mapped
	}
	for attempt := 0; ; attempt++ {
		items, err := m.ExportItems(ctx, []string{ieID})
		var ge *Error
		if err != nil && !(attempt == 0 && mapped == "" && errors.As(err, &ge) && ge.Status == http.StatusBadRequest) {
			return nil, err
		}
		var it ExportedItem
		switch {
		case err != nil:
			// How the service answers an id of another API is not
			// documented: a whole-request 400 is taken as that too.
			it.Err = fmt.Errorf("%w: %w", err, mailbox.ErrUnsupported)
		case len(items) != 1 || items[0].ItemID != ieID:
			return nil, mailbox.Permanent(fmt.Errorf("graph: export item %s of %s: the answer does not name it", itemID, m.address))
		default:
			it = items[0]
		}
		// An id the import/export API does not know may be one of the
		// mail, calendar, contacts or To Do API: map it (a stopgap).
		if attempt == 0 && mapped == "" && (errors.Is(it.Err, mailbox.ErrUnsupported) || errors.Is(it.Err, mailbox.ErrNotFound)) {
			x, merr := m.mapToImportExportID(ctx, itemID)
			if merr != nil {
				if errors.Is(it.Err, mailbox.ErrNotFound) && errors.Is(merr, mailbox.ErrNotFound) {
					return nil, it.Err
				}
				return nil, merr
			}
			ieID = x
			continue
		}
		if it.Err != nil {
			return nil, it.Err
		}
		return io.NopCloser(bytes.NewReader(it.Data)), nil
	}
}

// importSessionFor returns a usable import session: the cached one until
// importSessionMargin before it expires, else a new one (renew forces one).
func (m *Mailbox) importSessionFor(ctx context.Context, box ieBox, aux string, renew *importSession) (*importSession, error) {
	var u string
	var err error
	if aux != "" {
		// An auxiliary archive a 409 named (the guide: create the
		// session on that mailbox id).
		u = m.c.betaURL("/admin/exchange/mailboxes/"+url.PathEscape(aux)+"/createImportSession", nil)
	} else if u, err = m.ieURL(ctx, box, "/createImportSession", nil); err != nil {
		return nil, err
	}
	m.ie.sessionMu.Lock()
	defer m.ie.sessionMu.Unlock()
	m.ie.mu.Lock()
	s := m.ie.sessions[u]
	m.ie.mu.Unlock()
	// renew is the session that was refused: another worker may have
	// renewed it meanwhile.
	if s != nil && s != renew && time.Until(s.expires) > importSessionMargin {
		return s, nil
	}
	op := "create an import session for " + m.address
	switch {
	case aux != "":
		op += "'s auxiliary archive " + aux
	case box == archiveBox:
		op += "'s archive"
	}
	var ans struct {
		ImportURL  string    `json:"importUrl"`
		Expiration time.Time `json:"expirationDateTime"`
	}
	// No body (createImportSession). The pages disagree on 200 and 201;
	// both are taken.
	resp, err := m.c.do(ctx, op, http.MethodPost, u, nil, 0, nil)
	if err != nil {
		return nil, err
	}
	err = decodeAnswer(resp, 1<<20, &ans)
	resp.Body.Close()
	if err != nil {
		// The answer holds the URL's secret: never quote it.
		return nil, newPreauthURL(ans.ImportURL).redactErr(wrapErr(op, err))
	}
	p := newPreauthURL(ans.ImportURL)
	iu, err := url.Parse(ans.ImportURL)
	if ans.ImportURL == "" || err != nil || (iu.Scheme != "https" && !(iu.Scheme == "http" && netcheck.IsLoopback(iu.Hostname()))) {
		return nil, mailbox.Permanent(fmt.Errorf("graph: %s: refusing import URL %s: not an https URL", op, p))
	}
	if ans.Expiration.IsZero() {
		ans.Expiration = time.Now().Add(importSessionMargin + time.Minute)
	}
	s = &importSession{url: ans.ImportURL, p: p, expires: ans.Expiration}
	m.ie.mu.Lock()
	if m.ie.sessions == nil {
		m.ie.sessions = map[string]*importSession{}
	}
	m.ie.sessions[u] = s
	m.ie.mu.Unlock()
	return s, nil
}

// importFolder maps a folder id to the import/export API's: an id of
// that API as it is, else the folder of the same path that Folders
// named (the ids of the two APIs differ, D3). The mapping by path is
// exmigrate's: no mapping is documented.
func (m *Mailbox) importFolder(ctx context.Context, folderID string) (string, error) {
	m.mu.Lock()
	path, known := m.paths[folderID]
	m.mu.Unlock()
	for attempt := 0; attempt < 2; attempt++ {
		m.ie.mu.Lock()
		folders := m.ie.folders
		m.ie.mu.Unlock()
		if folders == nil || attempt == 1 {
			var err error
			if folders, err = m.FullFidelityFolders(ctx); err != nil {
				return "", err
			}
		}
		for _, f := range folders {
			if f.ID == folderID {
				return f.ID, nil
			}
		}
		if known {
			for _, f := range folders {
				if f.Path != "" && strings.EqualFold(f.Path, path) {
					return f.ID, nil
				}
			}
		}
	}
	return "", mailbox.Permanent(fmt.Errorf("graph: import into folder %s of %s: no folder of the import/export API has that id or path: %w", folderID, m.address, mailbox.ErrNotFound))
}

// createFullFidelity imports an item stream into a folder (Mode create).
// The POST goes to the importUrl through the scheduler without a token;
// an answer of 401 or 403 (an expired or revoked session) takes a new
// session once.
func (m *Mailbox) createFullFidelity(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	if err := m.fullFidelity(); err != nil {
		return "", err
	}
	ctx = m.ctx(ctx)
	// The stream's dialect, when the engine names it, is checked before
	// anything is read or sent: Graph documents import of exportItems
	// data only (items.md D9); EWS data goes only where a probe found the
	// tenant takes it (Config.AcceptEWSStreams), or to the probe that
	// finds it out (mailbox.WithProbe), whose scratch folder is the only
	// place such a stream is sent untried.
	switch p.Dialect {
	case "", mailbox.DialectGraph:
	case mailbox.DialectEWS:
		if !m.c.acceptsEWS() && !mailbox.IsProbe(ctx) {
			return "", mailbox.Permanent(fmt.Errorf("graph: import %s into %s: an EWS ExportItems stream, and Graph documents import of exportItems data only (set AcceptEWSStreams when a probe found the tenant takes EWS data): %w", p.SourceID, m.address, mailbox.ErrUnsupported))
		}
	default:
		return "", mailbox.Permanent(fmt.Errorf("graph: import %s into %s: a stream of dialect %q: %w", p.SourceID, m.address, p.Dialect, mailbox.ErrUnsupported))
	}
	if p.Size > m.c.sched.limits.MaxItemBytes {
		return "", fmt.Errorf("graph: import %q into %s: %w", p.Item.Subject, m.address, &mailbox.ItemTooLargeError{Size: p.Size, Limit: m.c.sched.limits.MaxItemBytes})
	}
	box, folder, err := m.ieFolderOf(ctx, folderID)
	if err != nil {
		return "", err
	}
	body, err := importBody(folder, p.Body, m.c.sched.limits.MaxItemBytes, p.Size)
	var tooLarge *mailbox.ItemTooLargeError
	if errors.As(err, &tooLarge) {
		return "", fmt.Errorf("graph: import %q into %s: %w", p.Item.Subject, m.address, err)
	}
	if err != nil {
		return "", fmt.Errorf("graph: import %q into %s: read the stream: %w", p.Item.Subject, m.address, err)
	}
	var refused *importSession
	renewed, hops := false, 0
	aux := m.auxiliaryOf(box, folder)
	for {
		s, err := m.importSessionFor(ctx, box, aux, refused)
		if err != nil {
			return "", err
		}
		id, err := m.postImport(ctx, s, body, p.Item.Subject)
		var ge *Error
		switch {
		case !renewed && errors.As(err, &ge) && (ge.Status == http.StatusUnauthorized || ge.Status == http.StatusForbidden):
			m.c.log.Debug("graph import session refused, taking a new one", "mailbox", m.address, "status", ge.Status)
			refused, renewed = s, true
			continue
		case box == archiveBox && hops < maxArchiveHops && errors.As(err, &ge) && ge.Status == http.StatusConflict:
			// The folder's content is in an auxiliary archive: the 409
			// names it (items.md D8); import through a session of it.
			if next := auxiliaryMailbox.FindString(ge.Message); next != "" && next != aux {
				m.c.log.Debug("archive folder in an auxiliary archive, importing there", "mailbox", m.address, "folder", folder)
				aux, refused, hops = next, nil, hops+1
				m.setAuxiliary(folder, aux)
				continue
			}
		}
		return id, err
	}
}

// importBody is the import POST's JSON body, the stream base64-encoded
// into it as it is read: the body is the one copy held (a retry sends it
// again), not the stream, its base64 and the body each in turn. A stream
// over limit bytes is an ItemTooLargeError.
func importBody(folder string, r io.Reader, limit, sizeHint int64) ([]byte, error) {
	f, _ := json.Marshal(folder)
	var b bytes.Buffer
	if sizeHint > 0 && sizeHint <= limit {
		b.Grow(len(f) + 48 + base64.StdEncoding.EncodedLen(int(sizeHint)))
	}
	b.WriteString(`{"FolderId":`)
	b.Write(f)
	b.WriteString(`,"Mode":"create","Data":"`)
	enc := base64.NewEncoder(base64.StdEncoding, &b)
	n, err := io.Copy(enc, io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, &mailbox.ItemTooLargeError{Size: n, Limit: limit}
	}
	enc.Close()
	b.WriteString(`"}`)
	return b.Bytes(), nil
}

// postImport POSTs one import body to the session's URL.
func (m *Mailbox) postImport(ctx context.Context, s *importSession, body []byte, subject string) (string, error) {
	op := fmt.Sprintf("import %q into %s through %s", subject, m.address, s.p)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("graph: %s: %w", op, s.p.redactErr(err))
	}
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.c.doPreauth(s.p, op, req)
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) && ge.Status == http.StatusBadRequest {
			// The service refused the stream (e.g. data of another dialect).
			return "", mailbox.Permanent(fmt.Errorf("%w: %w", err, mailbox.ErrItemRejected))
		}
		return "", err
	}
	defer resp.Body.Close()
	var ans struct {
		ItemID    string `json:"itemId"`
		ChangeKey string `json:"changeKey"`
	}
	if err := decodeAnswer(resp, 1<<20, &ans); err != nil {
		return "", s.p.redactErr(wrapErr(op, err))
	}
	if ans.ItemID == "" {
		return "", mailbox.Permanent(fmt.Errorf("graph: %s: the answer has no itemId", op))
	}
	return ans.ItemID, nil
}

// ieByCreated is one import/export folder's items by creation second.
type ieByCreated map[int64][]string

// mapToImportExportID maps an id of the mail, calendar, contacts or To Do
// API to the import/export API's. No mapping is documented (D3), so this
// is a STOPGAP: the item's folder is matched by path (the folder must have
// been named by Folders), and the item within it by its creation time to
// the second. When two items of that folder were created in the same
// second the match is ambiguous and the item is refused (never guessed);
// when none matches it is ErrNotFound.
func (m *Mailbox) mapToImportExportID(ctx context.Context, id string) (string, error) {
	m.ie.mu.Lock()
	if x := m.ie.mapped[id]; x != "" {
		m.ie.mu.Unlock()
		return x, nil
	}
	m.ie.mu.Unlock()
	var it struct {
		Created        *time.Time `json:"createdDateTime"`
		ParentFolderID string     `json:"parentFolderId"`
	}
	kind, folder := m.recall(id)
	var u string
	switch kind {
	case mailbox.KindCalendar:
		u = m.c.graphURL(userPath(m.address)+"/events/"+urlPathEscape(id), nil)
	case mailbox.KindContacts:
		u = m.c.graphURL(userPath(m.address)+"/contacts/"+urlPathEscape(id), nil)
	case mailbox.KindTasks:
		u = m.c.graphURL(m.tasksPath(folder)+"/"+urlPathEscape(id), nil)
	default:
		u = m.c.graphURL(userPath(m.address)+"/messages/"+urlPathEscape(id), url.Values{"$select": {"createdDateTime,parentFolderId"}})
	}
	op := "find the import/export id of item " + id + " of " + m.address
	if err := m.getJSON(ctx, op, u, &it); err != nil {
		return "", err
	}
	if it.ParentFolderID != "" {
		folder = it.ParentFolderID
	}
	if it.Created == nil || folder == "" {
		return "", mailbox.Permanent(fmt.Errorf("graph: %s: no creation time or folder to match: %w", op, mailbox.ErrUnsupported))
	}
	ieFolder, err := m.importFolder(ctx, folder)
	if err != nil {
		return "", err
	}
	sec := it.Created.Unix()
	for attempt := 0; attempt < 2; attempt++ {
		m.ie.mu.Lock()
		idx := m.ie.created[ieFolder]
		m.ie.mu.Unlock()
		if idx == nil || attempt == 1 {
			idx = ieByCreated{}
			err := m.FullFidelityItems(ctx, ieFolder, func(x FullFidelityItem) error {
				idx[x.Created.Unix()] = append(idx[x.Created.Unix()], x.ID)
				return nil
			})
			if err != nil {
				return "", err
			}
			m.ie.mu.Lock()
			if m.ie.created == nil {
				m.ie.created = map[string]ieByCreated{}
			}
			m.ie.created[ieFolder] = idx
			m.ie.mu.Unlock()
		}
		switch ids := idx[sec]; len(ids) {
		case 0:
			continue
		case 1:
			m.ie.mu.Lock()
			if m.ie.mapped == nil || len(m.ie.mapped) > 1<<20 {
				m.ie.mapped = map[string]string{}
			}
			m.ie.mapped[id] = ids[0]
			m.ie.mu.Unlock()
			return ids[0], nil
		default:
			// Items created in the same second (a bulk import, a seeded
			// lab): the search key, which both APIs read, tells them apart.
			x, err := m.mapByFingerprint(ctx, id, ieFolder, ids)
			if err != nil {
				return "", fmt.Errorf("graph: %s: %d items of its folder were created in the same second: %w", op, len(ids), err)
			}
			return x, nil
		}
	}
	return "", fmt.Errorf("graph: %s: no item of the import/export folder was created at %s: %w", op, it.Created.UTC().Format(time.RFC3339), mailbox.ErrNotFound)
}

// mapByFingerprint picks, among import/export items created in the same
// second, the one that carries the item's search key and that no other id
// was mapped to (copies of one message share a key, and are alike).
func (m *Mailbox) mapByFingerprint(ctx context.Context, id, ieFolder string, candidates []string) (string, error) {
	fp, err := m.Fingerprint(ctx, id)
	if err != nil {
		return "", err
	}
	if fp == "" {
		return "", mailbox.Permanent(fmt.Errorf("the item has no search key to tell them apart: %w", mailbox.ErrUnsupported))
	}
	want := map[string]bool{}
	for _, c := range candidates {
		want[c] = true
	}
	q := url.Values{"$top": {fmt.Sprint(pageSize)}, "$select": {"id"}, "$expand": {ieItemExpand()}}
	u, err := m.ieURL(ctx, primaryBox, "/folders/"+urlPathEscape(ieFolder)+"/items", q)
	if err != nil {
		return "", err
	}
	var match []string
	err = listPaged(ctx, m, "list the search keys of import/export folder "+ieFolder+" of "+m.address, u, func(w ieWireItem) error {
		if !want[w.ID] {
			return nil
		}
		if k, ferr := fingerprintOf(w.Props.get(searchKeyProp)); ferr == nil && k == fp {
			match = append(match, w.ID)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	m.ie.mu.Lock()
	defer m.ie.mu.Unlock()
	taken := map[string]bool{}
	for _, x := range m.ie.mapped {
		taken[x] = true
	}
	for _, x := range match {
		if !taken[x] {
			if m.ie.mapped == nil || len(m.ie.mapped) > 1<<20 {
				m.ie.mapped = map[string]string{}
			}
			m.ie.mapped[id] = x
			return x, nil
		}
	}
	return "", mailbox.Permanent(fmt.Errorf("none of them carries the item's search key %s: %w", fp, mailbox.ErrNotFound))
}

// FullFidelityChanges is one round of the import/export API's item delta
// of a folder (…/folders/{id}/items/delta): state is "" for a first round,
// else the whole nextLink or deltaLink of the last one. Items carry ids of
// this API, their class, size and change key; removals come as
// ChangeDeleted. A state the service forgot is ErrSyncStateInvalid, as
// for the other deltas.
func (m *Mailbox) FullFidelityChanges(ctx context.Context, folderID, state string) (mailbox.ChangePage, error) {
	ctx = m.ctx(ctx)
	if err := m.fullFidelity(); err != nil {
		return mailbox.ChangePage{}, err
	}
	first, err := m.adminURL(ctx, "/folders/"+urlPathEscape(folderID)+"/items/delta", nil)
	if err != nil {
		return mailbox.ChangePage{}, err
	}
	type wireChange struct {
		ID        string     `json:"id"`
		ChangeKey string     `json:"changeKey"`
		Type      string     `json:"type"`
		Size      int64      `json:"size"`
		Created   *time.Time `json:"createdDateTime"`
		Modified  *time.Time `json:"lastModifiedDateTime"`
		Removed   *struct {
			Reason string `json:"reason"`
		} `json:"@removed"`
	}
	op := "sync import/export folder " + folderID + " of " + m.address
	return deltaRound(ctx, m, op, state, first, func(w wireChange) mailbox.Change {
		it := mailbox.Item{ID: w.ID, ChangeKey: w.ChangeKey, FolderID: folderID, Class: w.Type, SizeBytes: w.Size}
		if w.Removed != nil {
			return mailbox.Change{Kind: mailbox.ChangeDeleted, Item: it}
		}
		return mailbox.Change{Kind: changeKind(state, w.Created, w.Modified), Item: it}
	})
}

var _ mailbox.DialectAccepter = (*Mailbox)(nil)

// AcceptDialect takes a fidelity probe's verdict that the tenant's import
// takes another service's data (mailbox.DialectAccepter): from then on
// every mailbox of the client imports EWS ExportItems streams and
// declares those writes, as Config.AcceptEWSStreams does. Only the EWS
// dialect is known; another is ignored. Without FullFidelity there is
// no import to take it.
func (m *Mailbox) AcceptDialect(dialect string) {
	if dialect == mailbox.DialectEWS && m.c.cfg.FullFidelity {
		m.c.acceptEWS.Store(true)
		m.c.log.Info("imports take EWS ExportItems streams from now on (fidelity probe)", "mailbox", m.address)
	}
}
