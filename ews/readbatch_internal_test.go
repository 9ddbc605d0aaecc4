package ews

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

const seedGetItemMIME = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetItemResponse xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><ResponseMessages>` +
	`<GetItemResponseMessage ResponseClass="Success"><ResponseCode>NoError</ResponseCode><Items><Message xmlns="http://schemas.microsoft.com/exchange/services/2006/types"><MimeContent CharacterSet="UTF-8">U3ViamVjdDogYQ0KDQp4</MimeContent><ItemId Id="a"/></Message></Items></GetItemResponseMessage>` +
	`<GetItemResponseMessage ResponseClass="Error"><MessageText>gone</MessageText><ResponseCode>ErrorItemNotFound</ResponseCode><DescriptiveLinkKey>0</DescriptiveLinkKey><Items/></GetItemResponseMessage>` +
	`<GetItemResponseMessage ResponseClass="Success"><ResponseCode>NoError</ResponseCode><Items><Message xmlns="http://schemas.microsoft.com/exchange/services/2006/types"><MimeContent>U3Vi
amVjdDogYg0KDQp5</MimeContent></Message></Items></GetItemResponseMessage></ResponseMessages></GetItemResponse></s:Body></s:Envelope>`

// FuzzGetItemMIMEAnswer: whatever a server answers to a batched GetItem
// of MIME, walking its messages as ReadBatch does never panics, and the
// seed's answers come out one per id, in order.
func FuzzGetItemMIMEAnswer(f *testing.F) {
	for _, s := range []string{seedGetItemMIME, "", "<x/>", strings.Replace(seedGetItemMIME, "</MimeContent>", "", 1),
		strings.Replace(seedGetItemMIME, "U3ViamVjdDogYQ0KDQp4", "&#x41;", 1)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, br, release := newDecoder(bytes.NewReader(data))
		defer release()
		w, err := newMIMEWalker(d, br, 200)
		if err != nil {
			return
		}
		var got []string
		for i := 0; i < 1000; i++ {
			msg, mime, ok, err := w.next()
			if err != nil || !ok {
				break
			}
			switch {
			case msg.err("GetItem", i) != nil:
				got = append(got, "error")
			case mime != nil:
				b, _ := io.ReadAll(io.LimitReader(mime, 1<<20))
				got = append(got, string(b))
			default:
				got = append(got, "")
			}
		}
		if string(data) == seedGetItemMIME && strings.Join(got, "|") != "Subject: a\r\n\r\nx|error|Subject: b\r\n\r\ny" {
			t.Errorf("the seed walks as %q", got)
		}
	})
}
