package ews_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestContactPhoto: a contact's photo is attached after the contact
// (CreateAttachment, IsContactPhoto), held by the fake as the contact's
// picture, and read back; a picture the server refuses is a reported
// loss, and the contact is still written.
func TestContactPhoto(t *testing.T) {
	e := newEnv(t)
	box := e.c.Mailbox(testMailbox)
	photo := bytes.Repeat([]byte{0xff, 0xd8, 0xff, 0xe0, 1, 2, 3}, 100)
	c := mailbox.Contact{DisplayName: "Ana Lima", EmailAddresses: []mailbox.ContactEmail{{Address: "ana@fabrikam.example"}}, Photo: photo}
	body, err := mailbox.EncodeContact(c)
	id, err := box.CreateItem(context.Background(), "contacts", typedPayload(t, mailbox.ClassContact, "src-photo", body, err))
	if err != nil {
		t.Fatal(err)
	}
	var stored []byte
	for _, s := range e.mb.Root("contacts").Contacts() {
		if s.ID == id {
			stored = s.Photo
		}
	}
	if !bytes.Equal(stored, photo) {
		t.Fatalf("the fake holds a photo of %d bytes, want %d", len(stored), len(photo))
	}
	rc, err := box.OpenItem(context.Background(), id, mailbox.FormatTyped)
	if err != nil {
		t.Fatal(err)
	}
	got, err := mailbox.DecodeContact(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got.Photo, photo) {
		t.Fatalf("read back: photo of %d bytes, %v", len(got.Photo), err)
	}

	var losses []mailbox.Loss
	ctx := mailbox.WithLosses(context.Background(), func(l mailbox.Loss) { losses = append(losses, l) })
	e.srv.Inject(ewstest.Fault{Op: "CreateAttachment", Kind: ewstest.FaultCode, Code: "ErrorAttachmentSizeLimitExceeded"})
	body, err = mailbox.EncodeContact(c)
	if _, err := box.CreateItem(ctx, "contacts", typedPayload(t, mailbox.ClassContact, "src-photo-2", body, err)); err != nil {
		t.Fatalf("a refused photo failed the contact: %v", err)
	}
	if len(losses) != 1 || losses[0].Code != mailbox.LossContactPhoto {
		t.Errorf("losses %+v, want one %s", losses, mailbox.LossContactPhoto)
	}
}
