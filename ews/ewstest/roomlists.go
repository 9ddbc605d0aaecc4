package ewstest

import (
	"strings"
)

// roomList is a distribution group marked as a room list, as Exchange
// keeps them for GetRoomLists and GetRooms.
type roomList struct {
	address, name string
	rooms         []string
}

// AddRoomList adds a room list holding the given room mailboxes. Exchange
// lists a room only through the room lists it belongs to: a room mailbox
// in no room list is not named by GetRooms.
func (s *Server) AddRoomList(address, name string, rooms ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roomLists = append(s.roomLists, roomList{address: address, name: name, rooms: rooms})
}

// getRoomLists answers like Exchange, unwrapped: ResponseCode, then the
// room lists as EmailAddressType (MailboxType PublicDL: they are groups).
func (rc *reqCtx) getRoomLists(_ *node, x *xw) error {
	if rc.unwrapped(x, "GetRoomListsResponse", nil) {
		x.start(nsMessages, "RoomLists")
		for _, l := range rc.s.roomLists {
			x.start(nsTypes, "Address")
			x.leaf(nsTypes, "Name", l.name)
			x.leaf(nsTypes, "EmailAddress", l.address)
			x.leaf(nsTypes, "RoutingType", "SMTP")
			x.leaf(nsTypes, "MailboxType", "PublicDL")
			x.end()
		}
		x.end()
	}
	x.end()
	return nil
}

// getRooms answers the rooms of one room list; an address that is no room
// list is ErrorNameResolutionNoResults, as for a name ResolveNames cannot
// find.
func (rc *reqCtx) getRooms(op *node, x *xw) error {
	want := strings.ToLower(op.child(nsMessages, "RoomList").child(nsTypes, "EmailAddress").value())
	var list *roomList
	for i := range rc.s.roomLists {
		if strings.ToLower(rc.s.roomLists[i].address) == want {
			list = &rc.s.roomLists[i]
		}
	}
	var err error
	if list == nil {
		err = errf("ErrorNameResolutionNoResults", "No results were found.")
	}
	if rc.unwrapped(x, "GetRoomsResponse", err) && len(list.rooms) > 0 {
		x.start(nsMessages, "Rooms")
		for _, r := range list.rooms {
			name := r
			if mb := rc.s.mailboxes[strings.ToLower(r)]; mb != nil && mb.display != "" {
				name = mb.display
			}
			x.start(nsTypes, "Room")
			x.start(nsTypes, "Id")
			x.leaf(nsTypes, "Name", name)
			x.leaf(nsTypes, "EmailAddress", r)
			x.leaf(nsTypes, "RoutingType", "SMTP")
			x.leaf(nsTypes, "MailboxType", "Mailbox")
			x.end()
			x.end()
		}
		x.end()
	}
	x.end()
	return nil
}
