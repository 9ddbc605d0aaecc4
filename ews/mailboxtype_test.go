package ews_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestMailboxType reads mailbox types through the real client from the
// fake over HTTPS with NTLM: ResolveNames says whether the address is a
// mailbox, the room lists name the rooms, and every other answer is
// unknown with the reason.
func TestMailboxType(t *testing.T) {
	e := newEnv(t)
	e.srv.AddMailbox("room.oslo@contoso.com").SetDisplayName("Room Oslo")
	e.srv.AddMailbox("room.bergen@contoso.com") // a room in no room list
	e.srv.AddMailbox("team@contoso.com").SetType("GroupMailbox")
	e.srv.AddRoomList("rooms.norway@contoso.com", "Rooms Norway", "room.oslo@contoso.com")
	e.srv.AddRoomList("rooms.empty@contoso.com", "No rooms yet")
	ctx := context.Background()
	tests := []struct {
		address string
		want    mailbox.MailboxType
		why     string
	}{
		{"room.oslo@contoso.com", mailbox.TypeRoom, "in the room list rooms.norway@contoso.com"},
		{"ROOM.OSLO@contoso.com", mailbox.TypeRoom, "in the room list"},
		{testMailbox, mailbox.TypeUnknown, "EWS does not tell a user mailbox from a shared or equipment mailbox"},
		{"room.bergen@contoso.com", mailbox.TypeUnknown, "a mailbox in no room list"},
		{"team@contoso.com", mailbox.TypeUnknown, "a GroupMailbox recipient, not a mailbox"},
		{"nobody@contoso.com", mailbox.TypeUnknown, "does not find the address"},
	}
	for _, tc := range tests {
		got, why, err := e.c.Mailbox(tc.address).MailboxType(ctx)
		if err != nil || got != tc.want || !strings.Contains(why, tc.why) {
			t.Errorf("MailboxType(%s) = %q, %q, %v; want %q and a reason with %q", tc.address, got, why, err, tc.want, tc.why)
		}
	}
	// The room lists are read once per client, not once per mailbox.
	if n := e.srv.Requests("GetRoomLists"); n != 1 {
		t.Errorf("GetRoomLists asked %d times, want 1", n)
	}
	if n := e.srv.Requests("GetRooms"); n != 2 {
		t.Errorf("GetRooms asked %d times, want 2 (one per room list)", n)
	}
}

// TestMailboxTypeRoomListsUnreadable: when the room lists cannot be read,
// the type is unknown and the reason says why; a failed ResolveNames is
// an error.
func TestMailboxTypeRoomListsUnreadable(t *testing.T) {
	e := newEnv(t)
	e.srv.AddRoomList("rooms@contoso.com", "Rooms", testMailbox)
	e.srv.Inject(ewstest.Fault{Op: "GetRoomLists", Kind: ewstest.FaultCode, Code: "ErrorAccessDenied"})
	got, why, err := e.c.Mailbox(testMailbox).MailboxType(context.Background())
	if err != nil || got != mailbox.TypeUnknown || !strings.Contains(why, "room lists could not be read") || !strings.Contains(why, "ErrorAccessDenied") {
		t.Errorf("MailboxType = %q, %q, %v; want unknown, the room lists could not be read (ErrorAccessDenied)", got, why, err)
	}

	e.srv.Inject(ewstest.Fault{Op: "ResolveNames", Kind: ewstest.FaultCode, Code: "ErrorAccessDenied"})
	_, _, err = e.c.Mailbox(testMailbox).MailboxType(context.Background())
	var re *ews.ResponseError
	if !errors.As(err, &re) || re.Code != "ErrorAccessDenied" {
		t.Errorf("error %v, want the ResolveNames ErrorAccessDenied", err)
	}
}

// TestRoomListGone: a room list that no longer resolves when its rooms
// are asked for is passed over; the rooms of the others still count.
func TestRoomListGone(t *testing.T) {
	e := newEnv(t)
	e.srv.AddMailbox("room.oslo@contoso.com")
	e.srv.AddRoomList("gone@contoso.com", "Gone")
	e.srv.AddRoomList("rooms@contoso.com", "Rooms", "room.oslo@contoso.com")
	e.srv.Inject(ewstest.Fault{Op: "GetRooms", Kind: ewstest.FaultCode, Code: "ErrorNameResolutionNoResults"})
	got, why, err := e.c.Mailbox("room.oslo@contoso.com").MailboxType(context.Background())
	if err != nil || got != mailbox.TypeRoom {
		t.Errorf("MailboxType = %q, %q, %v; want room", got, why, err)
	}
}

// TestGetRoomsUnknownList: GetRooms of an address that is no room list is
// an error, as in Exchange.
func TestGetRoomsUnknownList(t *testing.T) {
	e := newEnv(t)
	_, err := e.c.Rooms(context.Background(), "nolist@contoso.com")
	var re *ews.ResponseError
	if !errors.As(err, &re) || re.Code != "ErrorNameResolutionNoResults" {
		t.Errorf("error %v, want ErrorNameResolutionNoResults", err)
	}
	lists, err := e.c.RoomLists(context.Background())
	if err != nil || len(lists) != 0 {
		t.Errorf("RoomLists = %v, %v; want none", lists, err)
	}
}
