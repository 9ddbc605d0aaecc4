package ewstest

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
)

// getItem streams MIME: it snapshots the items under the lock and writes
// without it, encoding base64 on the fly.
func (rc *reqCtx) getItem(op *node) {
	s := rc.s
	sh := parseShape(op.child(nsMessages, "ItemShape"), true)
	type entry struct {
		it  item
		err error
	}
	var entries []entry
	s.mu.Lock()
	for _, id := range op.child(nsMessages, "ItemIds").children {
		it, err := rc.itemOrOccurrence(id)
		if err == nil {
			err = sh.invalidErr()
		}
		e := entry{err: err}
		if err == nil {
			if sh.needsProps() {
				s.propsOf(it) // derived once, under the lock, and kept
			}
			e.it = *it
		}
		entries = append(entries, e)
	}
	s.mu.Unlock()
	x := rc.begin(rc.w, http.StatusOK)
	x.start(nsMessages, "GetItemResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, e := range entries {
		it := e.it
		var body io.ReadCloser
		err := e.err
		if err == nil && sh.mime {
			if it.open != nil {
				body, err = it.open()
				if err != nil {
					err = errf("ErrorCorruptData", "The content of the item could not be read.")
				}
			} else {
				body = io.NopCloser(bytes.NewReader(it.mime))
			}
		}
		if rc.msgStart(x, "GetItemResponseMessage", err) {
			x.start(nsMessages, "Items")
			var mime func()
			if body != nil {
				mime = func() {
					x.start(nsTypes, "MimeContent", "CharacterSet", "UTF-8")
					enc := base64.NewEncoder(base64.StdEncoding, x.w)
					io.Copy(enc, body)
					enc.Close()
					body.Close()
					x.end()
				}
			}
			rc.writeItem(x, &it, sh, mime)
			x.end()
		} else {
			x.empty(nsMessages, "Items")
		}
		x.end()
	}
	x.end()
	x.end()
	rc.finish(x)
}
