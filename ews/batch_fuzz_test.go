package ews

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

const (
	seedBatchHead = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:%sResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>`
	seedBatchTail = `</m:ResponseMessages></m:%sResponse></s:Body></s:Envelope>`
	seedCreated   = `<m:CreateItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:ItemId Id="a" ChangeKey="c"/></t:Message></m:Items></m:CreateItemResponseMessage>` +
		`<m:CreateItemResponseMessage ResponseClass="Error"><m:MessageText>bad</m:MessageText><m:ResponseCode>ErrorMimeContentConversionFailed</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/></m:CreateItemResponseMessage>` +
		`<m:CreateItemResponseMessage ResponseClass="Warning"><m:MessageText>stopped</m:MessageText><m:ResponseCode>ErrorBatchProcessingStopped</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey><m:Items/></m:CreateItemResponseMessage>`
	seedElements = `<m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Contact><t:ItemId Id="a"/></t:Contact></m:Items></m:GetItemResponseMessage>` +
		`<m:GetItemResponseMessage ResponseClass="Error"><m:ResponseCode>ErrorItemNotFound</m:ResponseCode><m:Items/></m:GetItemResponseMessage>` +
		`<m:GetItemResponseMessage ResponseClass="Warning"><m:ResponseCode>ErrorBatchProcessingStopped</m:ResponseCode><m:Items/></m:GetItemResponseMessage>`
)

func seedBatch(op, msgs string) string {
	return strings.ReplaceAll(seedBatchHead, "%s", op) + msgs + strings.ReplaceAll(seedBatchTail, "%s", op)
}

// FuzzBatchAnswers: whatever a server answers to a batched CreateItem or
// GetItem, reading it as CreateBatch and the typed ReadBatch do never
// panics, every created item has an id or an error, and a batch is never
// read on past the first unprocessed item; the seeds read as expected.
func FuzzBatchAnswers(f *testing.F) {
	created, elements := seedBatch("CreateItem", seedCreated), seedBatch("GetItem", seedElements)
	for _, s := range []string{created, elements, "", "<x/>", strings.Replace(created, "Warning", "Success", 1)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var cr opResponse[idOnlyXML]
		if decodeResponse(bytes.NewReader(data), "CreateItem", 200, &cr) == nil {
			res := createdResults(cr.RM.Messages)
			for i, r := range res {
				if (r.ID == "") == (r.Err == nil) {
					t.Fatalf("result %d: %+v, want an id or an error", i, r)
				}
			}
			if string(data) == created && (res[0].ID != "a" || !errors.Is(res[1].Err, mailbox.ErrItemRejected) || !mailbox.IsPermanent(res[1].Err) ||
				!batchStopped(res[2].Err) || mailbox.IsPermanent(res[2].Err)) {
				t.Fatalf("the seed reads as %+v", res)
			}
		}
		type probe struct{ XMLName xml.Name }
		var gr opResponse[probe]
		if decodeResponse(bytes.NewReader(data), "GetItem", 200, &gr) == nil {
			n := len(gr.RM.Messages)
			out, errs := make([]probe, n), make([]error, n)
			read := eachAnswer(gr.RM.Messages, out, errs)
			if read > n || n > 0 && read == 0 {
				t.Fatalf("read %d of %d answers", read, n)
			}
			for i := range read {
				if i > 0 && batchStopped(errs[i]) {
					t.Fatalf("answer %d, unprocessed, was taken as read", i)
				}
			}
			if string(data) == elements && (read != 2 || out[0].XMLName.Local != "Contact" || !errors.Is(errs[1], mailbox.ErrNotFound)) {
				t.Fatalf("the seed reads %d: %+v %v", read, out, errs)
			}
		}
	})
}
