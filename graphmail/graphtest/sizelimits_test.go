package graphtest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestSetMessageSizeLimits(t *testing.T) {
	f := start(t)
	fx := f.s.Mailbox(alice)
	if send, recv := fx.MessageSizeLimits(); send != 35<<20 || recv != 36<<20 {
		t.Errorf("default limits %d/%d, want Exchange Online's 35 MB/36 MB", send, recv)
	}
	for _, tc := range []struct {
		send, recv int64
		ok         bool
	}{
		{150 << 20, 150 << 20, true},
		{1 << 20, 2 << 20, true},
		{0, 1 << 20, false},
		{1 << 20, 150<<20 + 1, false},
		{-1, -1, false},
	} {
		err := fx.SetMessageSizeLimits(tc.send, tc.recv)
		if (err == nil) != tc.ok {
			t.Errorf("SetMessageSizeLimits(%d, %d): %v, want ok=%v", tc.send, tc.recv, err, tc.ok)
		}
	}
	// 1 MB to send, 2 MB to receive: the smaller binds.
	tok := f.bearer(t, appID, secret)
	create := func(attachment int) answer {
		a := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, attachment))
		return f.call(t, tok, "POST", "/users/"+alice+"/mailFolders/inbox/messages",
			[]byte(`{"subject":"s","attachments":[{"@odata.type":"#microsoft.graph.fileAttachment","name":"a","contentBytes":"`+a+`"}]}`))
	}
	if a := create(900 << 10); a.status != 201 {
		t.Fatalf("900 KB under a 1 MB limit: %d %v", a.status, a.body)
	}
	a := create(1100 << 10)
	if a.status != 400 || a.code() != "ErrorMessageSizeExceeded" || errMessage(a) != "The message exceeds the maximum supported size." {
		t.Errorf("1.1 MB over a 1 MB limit: %d %v", a.status, a.body)
	}
	id := fx.Messages("Inbox")[0].ID
	attach := f.call(t, tok, "POST", "/users/"+alice+"/messages/"+url.PathEscape(id)+"/attachments",
		[]byte(`{"@odata.type":"#microsoft.graph.fileAttachment","name":"b","contentBytes":"`+base64.StdEncoding.EncodeToString(make([]byte, 200<<10))+`"}`))
	if attach.status != 400 || attach.code() != "ErrorMessageSizeExceeded" {
		t.Errorf("an attachment taking the message over: %d %v", attach.status, attach.body)
	}
	us := f.call(t, tok, "POST", "/users/"+alice+"/messages/"+url.PathEscape(id)+"/attachments/createUploadSession",
		[]byte(fmt.Sprintf(`{"AttachmentItem":{"attachmentType":"file","name":"c","size":%d}}`, 3<<20)))
	if us.status != 400 || us.code() != "ErrorMessageSizeExceeded" {
		t.Errorf("an upload session taking the message over: %d %v", us.status, us.body)
	}
	// The limits survive a snapshot.
	var buf bytes.Buffer
	if err := f.s.Snapshot(&buf); err != nil {
		t.Fatal(err)
	}
	s2 := NewServer()
	if err := s2.Restore(&buf); err != nil {
		t.Fatal(err)
	}
	if send, recv := s2.Mailbox(alice).MessageSizeLimits(); send != 1<<20 || recv != 2<<20 {
		t.Errorf("restored limits %d/%d", send, recv)
	}
	if err := fx.SetMessageSizeLimits(1, 1); err != nil || !strings.Contains(fmt.Sprint(fx.SetMessageSizeLimits(1<<40, 1)), "150 MB") {
		t.Errorf("the range error does not name the range")
	}
}
