package ews

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

func TestExportBatches(t *testing.T) {
	items := func(sizes ...int64) []mailbox.Item {
		out := make([]mailbox.Item, len(sizes))
		for i, s := range sizes {
			out[i] = mailbox.Item{ID: string(rune('a' + i%26)), SizeBytes: s}
		}
		return out
	}
	many := make([]int64, 2*MaxExportBatch+1)
	for _, c := range []struct {
		name  string
		items []mailbox.Item
		want  []int // batch lengths
	}{
		{"none", nil, nil},
		{"one", items(10), []int{1}},
		{"by count", items(many...), []int{MaxExportBatch, MaxExportBatch, 1}},
		{"by bytes", items(30<<20, 30<<20, 10<<20, 10<<20), []int{1, 3}},
		{"an item over the bound goes alone", items(1, MaxExportBatchBytes+1, 1), []int{1, 1, 1}},
		{"unknown sizes count as nothing", items(-1, 0, MaxExportBatchBytes, -1), []int{4}},
	} {
		got := exportBatches(c.items)
		var lens []int
		n := 0
		for _, b := range got {
			lens = append(lens, len(b))
			n += len(b)
		}
		if len(lens) != len(c.want) || n != len(c.items) {
			t.Errorf("%s: batches of %v, want %v", c.name, lens, c.want)
			continue
		}
		for i := range lens {
			if lens[i] != c.want[i] {
				t.Errorf("%s: batches of %v, want %v", c.name, lens, c.want)
				break
			}
		}
	}
}

const seedExportItems = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:ExportItemsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>` +
	`<m:ExportItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:ItemId Id="a" ChangeKey="b"/><m:Data>RVhNRkYxCnt9</m:Data></m:ExportItemsResponseMessage>` +
	`<m:ExportItemsResponseMessage ResponseClass="Error"><m:MessageText>gone</m:MessageText><m:ResponseCode>ErrorItemNotFound</m:ResponseCode></m:ExportItemsResponseMessage>` +
	`<m:ExportItemsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:ItemId Id="c"/><m:Data>QUJD
REVG</m:Data></m:ExportItemsResponseMessage></m:ResponseMessages></m:ExportItemsResponse></s:Body></s:Envelope>`

// FuzzExportItemsAnswer: whatever a server answers to a batched
// ExportItems, walking its messages as exportBatch does never panics.
func FuzzExportItemsAnswer(f *testing.F) {
	for _, s := range []string{seedExportItems, "", "<x/>", strings.Replace(seedExportItems, "</m:Data>", "", 1)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, br, release := newDecoder(bytes.NewReader(data))
		defer release()
		w, err := newContentWalker(d, br, 200, "ExportItems", xml.Name{Space: nsMessages, Local: "Data"})
		if err != nil {
			return
		}
		for i := 0; i < 1000; i++ {
			msg, data, ok, err := w.next()
			if err != nil || !ok {
				return
			}
			if msg.err("ExportItems", i) == nil && data != nil {
				io.Copy(io.Discard, io.LimitReader(data, 1<<20))
			}
		}
	})
}
