package ewstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

const fuzzEnvelope = `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><s:Header><t:RequestServerVersion Version="Exchange2016"/></s:Header><s:Body>`

// FuzzServeRequest drives the fake's request parser, validator and
// handlers with arbitrary bodies: it must answer, never panic.
func FuzzServeRequest(f *testing.F) {
	for _, body := range []string{
		`<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>`,
		`<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="5" Offset="0" BasePoint="End"/><m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/><t:FieldURIOrConstant><t:Constant Value="x"/></t:FieldURIOrConstant></t:IsEqualTo></m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>`,
		`<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId><t:DistinguishedFolderId Id="inbox"/></m:SavedItemFolderId><m:Items><t:Message><t:MimeContent>U3ViamVjdDogeA0KDQp4</t:MimeContent><t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x0E07" PropertyType="Integer"/><t:Value>1</t:Value></t:ExtendedProperty></t:Message></m:Items></m:CreateItem>`,
		`<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/></m:SyncFolderId><m:SyncState>RVhNRkFLRTF8SXx4fDB8MHww</m:SyncState><m:MaxChangesReturned>512</m:MaxChangesReturned></m:SyncFolderItems>`,
		`<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:ItemShape><m:ItemIds><t:ItemId Id="nope"/></m:ItemIds></m:GetItem>`,
		`<m:UpdateItem ConflictResolution="AlwaysOverwrite"><m:ItemChanges><t:ItemChange><t:ItemId Id="x"/></t:ItemChange></m:ItemChanges></m:UpdateItem>`,
		`<m:CreateItem MessageDisposition="SaveOnly"><m:Items><t:Message><t:Subject>s</t:Subject><t:Body BodyType="HTML">&lt;p&gt;x</t:Body><t:ToRecipients><t:Mailbox><t:Name>B</t:Name><t:EmailAddress>b@x.com</t:EmailAddress></t:Mailbox></t:ToRecipients><t:IsRead>true</t:IsRead></t:Message></m:Items></m:CreateItem>`,
		`<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>c</t:Subject><t:Start>2025-01-01T10:00:00Z</t:Start><t:End>2025-01-01T11:00:00Z</t:End><t:IsAllDayEvent>true</t:IsAllDayEvent></t:CalendarItem><t:Contact><t:DisplayName>A</t:DisplayName><t:EmailAddresses><t:Entry Key="EmailAddress1">a@x.com</t:Entry></t:EmailAddresses></t:Contact></m:Items></m:CreateItem>`,
		`<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:BodyType>Text</t:BodyType><t:AdditionalProperties><t:FieldURI FieldURI="item:MimeContent"/><t:FieldURI FieldURI="message:ToRecipients"/><t:IndexedFieldURI FieldURI="item:InternetMessageHeader" FieldIndex="Subject"/><t:ExtendedFieldURI DistinguishedPropertySetId="InternetHeaders" PropertyName="X-A" PropertyType="String"/><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyId="5" PropertyType="StringArray"/></t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="nope"/></m:ItemIds></m:GetItem>`,
		`<m:GetAttachment><m:AttachmentShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:AttachmentShape><m:AttachmentIds><t:AttachmentId Id="eHxhdHx8MQ=="/><t:AttachmentId Id="x"/></m:AttachmentIds></m:GetAttachment>`,
		`<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="folder:DisplayName"/></t:AdditionalProperties></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="inbox"/></m:ParentFolderIds></m:FindItem>`,
		labContactItem(`<t:JobTitle>J</t:JobTitle>`), // parseContact
		`<m:GetRoomLists/>`,
		`<m:GetRooms><m:RoomList><t:Name>R</t:Name><t:EmailAddress>rooms@contoso.com</t:EmailAddress><t:MailboxType>PublicDL</t:MailboxType></m:RoomList></m:GetRooms>`,
		`<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="contacts:PhoneNumbers"/><t:IndexedFieldURI FieldURI="contacts:PhysicalAddress:City" FieldIndex="Home"/></t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="nope"/></m:ItemIds></m:GetItem>`,
	} {
		f.Add([]byte(fuzzEnvelope + body + `</s:Body></s:Envelope>`))
	}
	f.Add([]byte("<x"))
	srv := NewServer()
	srv.AddAccount("CONTOSO", "svc", "pw", true)
	mb := srv.AddMailbox("a@contoso.com")
	srv.AddRoomList("rooms@contoso.com", "Rooms", "a@contoso.com")
	mb.Root("inbox").AddItem(Item{MIME: []byte("Subject: hi\r\n\r\nbody")})
	mb.Root("inbox").AddItem(Item{MIME: []byte(richMIME)})
	mb.Root("calendar").AddItem(Item{MIME: []byte(labCalendarMIME), Class: "IPM.Appointment"})
	evID := mb.Root("calendar").AddEvent(sampleSeries("a@contoso.com"))
	taskID := mb.Root("tasks").AddTask(mailbox.Task{Subject: "t", Status: "NotStarted"})
	for _, body := range []string{
		`<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:OccurrenceItemId RecurringMasterId="` + evID + `" InstanceIndex="2"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>2026-11-09T12:00:00Z</t:Start></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`,
		`<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToAllAndSaveCopy"><m:ItemChanges><t:ItemChange><t:ItemId Id="` + evID + `"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="calendar:Recurrence"/><t:CalendarItem><t:Recurrence><t:DailyRecurrence><t:Interval>2</t:Interval></t:DailyRecurrence><t:NumberedRecurrence><t:StartDate>2026-11-02</t:StartDate><t:NumberOfOccurrences>3</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence></t:CalendarItem></t:SetItemField><t:DeleteItemField><t:ExtendedFieldURI PropertySetId="9d4b5a3e-6f0c-4c51-9a57-6b8e2f1d7c42" PropertyName="x" PropertyType="String"/></t:DeleteItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`,
		`<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:OccurrenceItemId RecurringMasterId="` + evID + `" InstanceIndex="3"/><t:ItemId Id="` + taskID + `"/></m:ItemIds></m:DeleteItem>`,
		`<m:CreateAttachment><m:ParentItemId Id="` + evID + `"/><m:Attachments><t:FileAttachment><t:Name>a</t:Name><t:Content>AQID</t:Content></t:FileAttachment></m:Attachments></m:CreateAttachment>`,
		`<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="calendar:ModifiedOccurrences"/><t:FieldURI FieldURI="calendar:Recurrence"/></t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="` + evID + `"/><t:OccurrenceItemId RecurringMasterId="` + evID + `" InstanceIndex="1"/></m:ItemIds></m:GetItem>`,
		`<m:CreateItem><m:SavedItemFolderId><t:DistinguishedFolderId Id="tasks"/></m:SavedItemFolderId><m:Items><t:Task><t:Subject>x</t:Subject><t:PercentComplete>150</t:PercentComplete><t:Status>Completed</t:Status></t:Task><t:DistributionList><t:DisplayName>g</t:DisplayName><t:Members><t:Member><t:Mailbox><t:EmailAddress>m@x</t:EmailAddress></t:Mailbox></t:Member></t:Members></t:DistributionList></m:Items></m:CreateItem>`,
	} {
		f.Add([]byte(fuzzEnvelope + body + `</s:Body></s:Envelope>`))
	}
	acct := srv.accounts[accountKey("CONTOSO", "svc")]
	f.Fuzz(func(t *testing.T, data []byte) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/EWS/Exchange.asmx", bytes.NewReader(data))
		r.Header.Set("X-AnchorMailbox", "a@contoso.com")
		rc := &reqCtx{s: srv, acct: acct, w: w, r: r, style: StyleOdd}
		rc.imp = srv.mailboxes["a@contoso.com"]
		doc, err := parseDOM(bytes.NewReader(data))
		if err != nil {
			rc.schemaFault(0, 0, err.Error())
		} else {
			rc.serve(doc)
		}
		if w.Code != 200 && w.Code != 500 {
			t.Fatalf("status %d", w.Code)
		}
		if !strings.Contains(w.Body.String(), "Envelope") {
			t.Fatalf("no envelope in %q", w.Body.String())
		}
	})
}

// FuzzNTLMAuthenticate feeds arbitrary AUTHENTICATE messages to the
// server-side NTLM parser and verifier.
func FuzzNTLMAuthenticate(f *testing.F) {
	good := []byte("NTLMSSP\x00\x03\x00\x00\x00")
	good = append(good, make([]byte, 64)...)
	f.Add(good)
	f.Add([]byte("NTLMSSP\x00\x01\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg []byte) {
		am, err := parseAuthenticate(msg)
		if err != nil {
			return
		}
		var ch [8]byte
		if verifyNTLMv2(am, "pw", ch) && len(am.NTResponse) < 44 {
			t.Fatal("verified a response too short for NTLMv2")
		}
	})
}

// FuzzRestore feeds arbitrary documents to the snapshot decoder and the
// store builder: they must refuse with ErrSnapshot or build a store, never
// panic.
func FuzzRestore(f *testing.F) {
	srv := NewServer()
	srv.AddAccount("CONTOSO", "svc", "pw", true)
	mb := srv.AddMailbox("a@contoso.com")
	mb.Folder("Inbox/Sub").AddItem(Item{MIME: []byte("Subject: hi\r\n\r\nbody")})
	mb.Folder("Inbox").AddItem(Item{Open: func() (io.ReadCloser, error) { return nil, nil }, Size: 10, StreamKey: "k"})
	srv.PublicFolder("P").AddItem(Item{MIME: []byte("Subject: p\r\n\r\nx")})
	doc, err := srv.snapDocLocked()
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(doc)
	f.Add(good)
	f.Add([]byte(`{"format":"exmigrate/ewstest-snapshot","version":1}`))
	f.Add([]byte(`{"format":"exmigrate/ewstest-snapshot","version":1,"folders":[{"ID":"x","Parent":"x"}]}`))
	f.Add([]byte(`{`))
	resolve := func(key string) (func() (io.ReadCloser, error), error) {
		if key == "k" {
			return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil }, nil
		}
		return nil, errors.New("unknown")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeSnapshot(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("decode error %v does not wrap ErrSnapshot", err)
			}
			return
		}
		if _, err := buildStore(d, snapConfig{resolve: resolve}); err != nil && !errors.Is(err, ErrSnapshot) {
			t.Fatalf("build error %v does not wrap ErrSnapshot", err)
		}
	})
}
