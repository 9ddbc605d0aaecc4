package ews_test

import (
	"bytes"
	"context"
	"io"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// typedSteps writes, reads and updates one item of each typed kind, the
// meeting series with its moved and cancelled occurrences, so that every
// request those paths send is validated and pinned.
func typedSteps(ctx context.Context, box *ews.Mailbox, contactID *string) []struct {
	name string
	run  func() error
} {
	var eventID, taskID, groupID string
	write := func(id *string, class, folder, sid string, body []byte, err error) error {
		if err != nil {
			return err
		}
		*id, err = box.CreateItem(ctx, folder, mailbox.Payload{Item: mailbox.Item{Class: class}, SourceID: sid,
			Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))})
		return err
	}
	read := func(id *string) error {
		rc, err := box.OpenItem(ctx, *id, mailbox.FormatTyped)
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		return err
	}
	update := func(id *string, body []byte, err error) error {
		if err != nil {
			return err
		}
		return box.UpdateItem(ctx, *id, mailbox.Payload{Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))})
	}
	meeting := mailboxtest.SampleMeeting(testMailbox)
	meeting.Attachments = []mailbox.Attachment{{Name: "agenda.txt", ContentType: "text/plain", Data: []byte("1. status\n")}}
	task := mailboxtest.SampleTask()
	task.Owner = ""
	changedTask := task
	changedTask.Status, changedTask.PercentComplete = "Completed", 100
	changedContact := fullContact()
	changedContact.JobTitle = "CTO"
	return []struct {
		name string
		run  func() error
	}{
		{"CreateItem meeting series", func() error {
			b, err := mailbox.EncodeEvent(meeting)
			return write(&eventID, mailbox.ClassAppointment, "calendar", "src-meeting", b, err)
		}},
		{"OpenItem typed meeting", func() error { return read(&eventID) }},
		{"UpdateItem meeting series", func() error {
			b, err := mailbox.EncodeEvent(meeting)
			return update(&eventID, b, err)
		}},
		{"CreateItem task", func() error {
			b, err := mailbox.EncodeTask(task)
			return write(&taskID, mailbox.ClassTask, "tasks", "src-task", b, err)
		}},
		{"OpenItem typed task", func() error { return read(&taskID) }},
		{"UpdateItem task", func() error {
			b, err := mailbox.EncodeTask(changedTask)
			return update(&taskID, b, err)
		}},
		{"CreateItem contact group", func() error {
			b, err := mailbox.EncodeContactGroup(mailboxtest.SampleContactGroup())
			return write(&groupID, mailbox.ClassContactGroup, "contacts", "src-group", b, err)
		}},
		{"OpenItem typed contact group", func() error { return read(&groupID) }},
		{"UpdateItem contact group", func() error {
			g := mailboxtest.SampleContactGroup()
			g.Members = g.Members[:1]
			b, err := mailbox.EncodeContactGroup(g)
			return update(&groupID, b, err)
		}},
		{"CreateItem contact with photo", func() error {
			c := mailbox.Contact{DisplayName: "Photo Person", Photo: []byte("\xff\xd8\xff\xe0 not really a JPEG")}
			b, err := mailbox.EncodeContact(c)
			var id string
			if err := write(&id, mailbox.ClassContact, "contacts", "src-photo", b, err); err != nil {
				return err
			}
			return read(&id)
		}},
		{"UpdateItem contact", func() error {
			b, err := mailbox.EncodeContact(changedContact)
			return update(contactID, b, err)
		}},
	}
}
