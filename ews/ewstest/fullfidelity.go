package ewstest

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/internal/fakestream"
	"github.com/exmigrate/exmigrate/mailbox"
)

// ExportItems and UploadItems: the full-fidelity path of Exchange Server
// (items.md E1). Exchange's data is an opaque FastTransfer stream; the
// fake's is a fakestream (the format the Graph fake shares), holding
// everything the fake holds of an item, so that an export uploaded into
// another mailbox is the same item property by property. An upload is
// not a send: nothing an upload writes makes the fake mail anyone.

// MaxUploadBytes is the largest UploadItems request the fake takes: about
// Exchange's default of 25 MB of base64 data per upload (Glen Scales,
// items.md E1; raisable in the EWS web.config on a server). Over it the
// fake answers HTTP 413 Request Entity Too Large before parsing anything,
// as IIS does for a request over the configured limit (which of 413 or a
// SOAP fault a real server answers at its default is unverified).
const MaxUploadBytes = 25 << 20

// Keys of the fake's own data in a stream's Ext beyond the item's
// extended properties: what the fake holds of an item that fakestream.Item
// has no field for. They never become extended properties of an item.
const (
	streamKeyMsgID   = "ewstest:internet-message-id"
	streamKeySize    = "ewstest:size"
	streamKeyContact = "ewstest:contact" // the contactData as JSON: every key the fake keeps
)

// AcceptForeignStreams makes UploadItems take streams another service
// exported (the Graph fake's), as a lab rehearsing a tenant that took
// them would. By default the fake refuses them, as Microsoft documents
// that UploadItems takes only ExportItems output (items.md E1).
func (s *Server) AcceptForeignStreams(accept bool) { s.acceptForeign.Store(accept) }

// exportItems serves ExportItems: per id, the item's stream in m:Data
// after its m:ItemId (ExportItemsResponseMessageType); an id the fake
// does not hold answers ErrorItemNotFound for that id alone.
func (rc *reqCtx) exportItems(op *node, x *xw) error {
	x.start(nsMessages, "ExportItemsResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, ref := range op.child(nsMessages, "ItemIds").children {
		var it *item
		var err error
		switch {
		case ref.is(nsTypes, "ItemId"):
			if _, _, occ := parseOccurrenceID(ref.attr("Id")); occ {
				err = errf("ErrorInvalidOperation", "The fake exports series, not their occurrences.")
			} else {
				it, err = rc.itemByID(ref.attr("Id"))
			}
		default:
			err = errf("ErrorInvalidOperation", "The fake exports series, not their occurrences.")
		}
		var data []byte
		if err == nil {
			data, err = rc.s.exportItem(it)
		}
		if rc.msgStart(x, "ExportItemsResponseMessage", err) {
			x.empty(nsMessages, "ItemId", "Id", it.id, "ChangeKey", it.changeKey())
			x.leaf(nsMessages, "Data", base64.StdEncoding.EncodeToString(data))
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
}

// exportItem is the stream of everything the fake holds of an item.
func (s *Server) exportItem(it *item) ([]byte, error) {
	content := it.mime
	if it.open != nil {
		rc, err := it.open()
		if err != nil {
			return nil, errf("ErrorCorruptData", "The content of the item could not be read.")
		}
		content, err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, errf("ErrorCorruptData", "The content of the item could not be read.")
		}
	}
	fi := fakestream.Item{Dialect: fakestream.DialectEWS, Class: it.class, Subject: it.subject, IsRead: it.isRead, IsDraft: it.isDraft,
		Received: it.received, Sent: it.sent, MIME: content, Categories: it.categories, Ext: maps.Clone(it.ext)}
	if t, err := time.Parse(time.RFC3339, it.ext["0x3007"]); err == nil {
		fi.Created = t
	}
	fi.Importance = importanceOf(it.importance)
	fi.Flag = flagOf(it.ext["0x1090"])
	fi.Event, fi.Task, fi.Group = it.event, it.task, it.group
	if it.contact != nil {
		c := contactOfData(it.contact, it)
		fi.Contact = &c
		b, err := json.Marshal(it.contact)
		if err != nil {
			return nil, err
		}
		fi.Ext[streamKeyContact] = string(b)
	}
	if it.msgID != "" {
		fi.Ext[streamKeyMsgID] = it.msgID
	}
	fi.Ext[streamKeySize] = strconv.FormatInt(it.size, 10)
	// The search key travels in its own field (the one the Graph fake
	// reads too), not as an extended property.
	fi.SearchKey = searchKeyHex(fi.Ext[searchKeyTag])
	delete(fi.Ext, searchKeyTag)
	return fakestream.Encode(fi)
}

// uploadItems serves UploadItems. CreateNew makes a new item (an ItemId
// is refused); Update replaces the item ItemId names, which must be in
// ParentFolderId; UpdateOrCreate updates it when it is there and creates
// one otherwise (item-uploaditemtype.md). The refusals, in the absence of
// documented codes: an ItemId with CreateNew, or none with Update, is
// ErrorInvalidRequest; an item that is not in ParentFolderId is
// ErrorItemNotFound; data that is not a stream, or a stream another
// service exported (unless AcceptForeignStreams), is ErrorInvalidRequest:
// Microsoft documents only that UploadItems takes ExportItems output.
func (rc *reqCtx) uploadItems(op *node, x *xw) error {
	x.start(nsMessages, "UploadItemsResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, in := range op.child(nsMessages, "Items").children {
		it, err := rc.uploadOne(in)
		if rc.msgStart(x, "UploadItemsResponseMessage", err) {
			x.empty(nsMessages, "ItemId", "Id", it.id, "ChangeKey", it.changeKey())
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
}

func (rc *reqCtx) uploadOne(in *node) (*item, error) {
	// ParentFolderId is a FolderIdType itself: a folder id, never a
	// distinguished name.
	target := rc.s.folders[in.child(nsTypes, "ParentFolderId").attr("Id")]
	if target == nil {
		return nil, errf("ErrorFolderNotFound", "The specified folder could not be found in the store.")
	}
	if err := rc.access(target.mb, target.mb == nil); err != nil {
		return nil, err
	}
	if err := rc.injected(); err != nil {
		return nil, err
	}
	action := in.attr("CreateAction")
	ref := in.child(nsTypes, "ItemId")
	var existing *item
	switch {
	case action == "CreateNew" && ref != nil:
		return nil, errf("ErrorInvalidRequest", "CreateAction CreateNew takes no ItemId.")
	case action == "Update" && ref == nil:
		return nil, errf("ErrorInvalidRequest", "CreateAction Update needs the ItemId of the item to update.")
	case ref != nil:
		x := rc.s.items[ref.attr("Id")]
		if x != nil && x.f == target {
			if err := rc.access(x.f.mb, x.f.mb == nil); err != nil {
				return nil, err
			}
			existing = x
		} else if action == "Update" {
			return nil, errf("ErrorItemNotFound", "The item to update is not in the folder ParentFolderId names.")
		}
	}
	data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(in.child(nsTypes, "Data").text.String()), ""))
	if err != nil {
		return nil, errf("ErrorInvalidRequest", "The Data is not base64.")
	}
	fi, err := fakestream.Decode(data)
	if err != nil {
		return nil, errf("ErrorInvalidRequest", "The Data is not an item stream ExportItems wrote: %v.", err)
	}
	if fi.Dialect != fakestream.DialectEWS && !rc.s.acceptForeign.Load() {
		return nil, errf("ErrorInvalidRequest", "The Data is a stream of another service (%s); UploadItems takes ExportItems output only.", fi.Dialect)
	}
	var contact *contactData
	if v, ok := fi.Ext[streamKeyContact]; ok {
		contact = &contactData{}
		if err := json.Unmarshal([]byte(v), contact); err != nil {
			return nil, errf("ErrorInvalidRequest", "The Data is not an item stream ExportItems wrote: a corrupt contact.")
		}
	} else if fi.Contact != nil {
		contact = contactDataOf(*fi.Contact)
	}
	size := int64(len(fi.MIME))
	if v, ok := fi.Ext[streamKeySize]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			size = n
		}
	}
	mb := target.mb
	var freed int64
	if existing != nil {
		freed = existing.size
	}
	if mb != nil && mb.quota > 0 && mb.used-freed+size > mb.quota {
		return nil, errf("ErrorQuotaExceeded", "The mailbox quota has been exceeded.")
	}
	it := existing
	if it == nil {
		it = rc.s.addItem(target, Item{Class: fi.Class, Received: fi.Received})
	} else {
		it.updated = rc.s.nextSeq()
	}
	if mb != nil {
		mb.used += size - it.size
	}
	it.class, it.subject, it.isRead, it.isDraft = fi.Class, fi.Subject, fi.IsRead, fi.IsDraft
	it.received, it.sent, it.categories = fi.Received.UTC(), fi.Sent.UTC(), fi.Categories
	it.importance = orDefault(string(fi.Importance), "Normal")
	it.mime, it.open, it.streamKey, it.derived, it.size = fi.MIME, nil, "", nil, size
	it.msgID = fi.Ext[streamKeyMsgID]
	if it.msgID == "" {
		_, it.msgID = headersOf(fi.MIME)
	}
	it.event, it.task, it.group, it.contact = fi.Event, fi.Task, fi.Group, contact
	ext := map[string]string{}
	for k, v := range fi.Ext {
		if !strings.HasPrefix(k, "ewstest:") && k != searchKeyTag {
			ext[k] = v
		}
	}
	// PR_SEARCH_KEY: an update keeps the item's; a new item keeps the
	// stream's (Exchange keeps it through an export and an import), or
	// gets its own when the stream has none (addItem gave it one).
	switch raw, err := hex.DecodeString(fi.SearchKey); {
	case existing != nil || fi.SearchKey == "" || err != nil || len(raw) == 0:
		ext[searchKeyTag] = it.ext[searchKeyTag]
	default:
		ext[searchKeyTag] = base64.StdEncoding.EncodeToString(raw)
	}
	if _, ok := ext["0x1090"]; !ok {
		switch fi.Flag {
		case "Flagged":
			ext["0x1090"] = "2"
		case "Complete":
			ext["0x1090"] = "1"
		}
	}
	if _, ok := ext["0x3007"]; !ok && !fi.Created.IsZero() {
		ext["0x3007"] = xsTime(fi.Created)
	}
	it.ext = ext
	rc.s.writes.Add(1)
	return it, nil
}

func importanceOf(s string) mailbox.Importance {
	switch s {
	case "Low", "High":
		return mailbox.Importance(s)
	}
	return mailbox.ImportanceNormal
}

// flagOf is the follow-up flag PR_FLAG_STATUS holds.
func flagOf(v string) mailbox.FlagStatus {
	switch v {
	case "1":
		return mailbox.Complete
	case "2":
		return mailbox.Flagged
	}
	return mailbox.NotFlagged
}

// StoredStream is everything the fake holds of one item, as ExportItems
// would export it: for tests that compare a full-fidelity copy with its
// source property by property.
type StoredStream struct {
	ID       string
	SourceID string // the exmigrate stamp, "" when none
	Item     fakestream.Item
}

// Streams lists the folder's items as ExportItems exports them, in order.
func (f *FolderFixture) Streams() ([]StoredStream, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	var out []StoredStream
	for _, x := range f.f.items {
		data, err := f.s.exportItem(x)
		if err != nil {
			return nil, err
		}
		fi, err := fakestream.Decode(data)
		if err != nil {
			return nil, err
		}
		out = append(out, StoredStream{ID: x.id, SourceID: x.ext[sourceKey], Item: fi})
	}
	return out, nil
}
