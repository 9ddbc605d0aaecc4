package ews

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/exmigrate/exmigrate/mailbox"
)

// --- GetRoomLists and GetRooms (unwrapped responses), mailbox types ---

// emailAddressXML is the schema's EmailAddressType.
type emailAddressXML struct {
	Name         string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Name"`
	EmailAddress string `xml:"http://schemas.microsoft.com/exchange/services/2006/types EmailAddress"`
	RoutingType  string `xml:"http://schemas.microsoft.com/exchange/services/2006/types RoutingType"`
	MailboxType  string `xml:"http://schemas.microsoft.com/exchange/services/2006/types MailboxType"`
}

type getRoomListsResponse struct {
	responseMessage
	RoomLists struct {
		Address []emailAddressXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Address"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages RoomLists"`
}

type getRoomsResponse struct {
	responseMessage
	Rooms struct {
		Room []struct {
			ID emailAddressXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Id"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Room"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Rooms"`
}

// RoomLists returns the SMTP addresses of the organisation's room lists
// (distribution groups marked as room lists), with GetRoomLists.
func (c *Client) RoomLists(ctx context.Context) ([]string, error) {
	r := c.newRequest("")
	r.body.CreateElement("m:GetRoomLists")
	var resp getRoomListsResponse
	err := c.do(ctx, call{op: "GetRoomLists", body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "GetRoomLists", st, &resp); err != nil {
			return err
		}
		return resp.err("GetRoomLists", -1)
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range resp.RoomLists.Address {
		if a.EmailAddress != "" {
			out = append(out, a.EmailAddress)
		}
	}
	return out, nil
}

// Rooms returns the SMTP addresses of the rooms in a room list, with
// GetRooms.
func (c *Client) Rooms(ctx context.Context, roomList string) ([]string, error) {
	r := c.newRequest("")
	elem(r.body.CreateElement("m:GetRooms").CreateElement("m:RoomList"), "t:EmailAddress", roomList)
	var resp getRoomsResponse
	err := c.do(ctx, call{op: "GetRooms", body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "GetRooms", st, &resp); err != nil {
			return err
		}
		return resp.err("GetRooms", -1)
	})
	if err != nil {
		return nil, fmt.Errorf("rooms of the room list %s: %w", roomList, err)
	}
	var out []string
	for _, room := range resp.Rooms.Room {
		if room.ID.EmailAddress != "" {
			out = append(out, room.ID.EmailAddress)
		}
	}
	return out, nil
}

// roomDirectory is the organisation's rooms, read once per client: every
// mailbox of an assessment asks, and the answer is the same for all.
type roomDirectory struct {
	mu     sync.Mutex
	loaded bool
	rooms  map[string]string // lower-cased room address -> its room list
	err    error
}

func (d *roomDirectory) lookup(ctx context.Context, c *Client, address string) (list string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.loaded {
		d.rooms, d.err = readRooms(ctx, c)
		// A cancelled read is not the organisation's answer: ask again.
		d.loaded = ctx.Err() == nil
	}
	return d.rooms[strings.ToLower(address)], d.err
}

func readRooms(ctx context.Context, c *Client) (map[string]string, error) {
	lists, err := c.RoomLists(ctx)
	if err != nil {
		return nil, err
	}
	rooms := map[string]string{}
	for _, l := range lists {
		rs, err := c.Rooms(ctx, l)
		var re *ResponseError
		if errors.As(err, &re) && re.Code == "ErrorNameResolutionNoResults" {
			continue // the list went away since GetRoomLists: the others still count
		}
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			rooms[strings.ToLower(r)] = l
		}
	}
	return rooms, nil
}

// MailboxType tells what EWS knows of the mailbox's type. ResolveNames
// says whether the address is a mailbox (MailboxType Mailbox) but not
// which kind; the room lists (GetRoomLists, GetRooms) name rooms. So a
// room in a room list is TypeRoom; anything else is TypeUnknown, with the
// reason in why: EWS has no property that tells a user mailbox from a
// shared or equipment mailbox (RecipientTypeDetails is PowerShell's).
// An error is a failed request, not an unknown type.
func (m *Mailbox) MailboxType(ctx context.Context) (t mailbox.MailboxType, why string, err error) {
	res, err := m.c.ResolveNames(ctx, "smtp:"+m.address)
	if err != nil {
		return mailbox.TypeUnknown, "", fmt.Errorf("mailbox type of %s: %w", m.address, err)
	}
	var kinds []string
	found := false
	for _, r := range res {
		if !strings.EqualFold(r.SMTPAddress, m.address) {
			continue
		}
		if r.MailboxType == "Mailbox" {
			found = true
			break
		}
		kinds = append(kinds, r.MailboxType)
	}
	switch {
	case !found && len(kinds) > 0:
		return mailbox.TypeUnknown, "ResolveNames names the address a " + strings.Join(kinds, ", ") + " recipient, not a mailbox", nil
	case !found:
		return mailbox.TypeUnknown, "ResolveNames does not find the address in the directory", nil
	}
	list, err := m.c.rooms.lookup(ctx, m.c, m.address)
	if err != nil {
		if ctx.Err() != nil {
			return mailbox.TypeUnknown, "", ctx.Err()
		}
		return mailbox.TypeUnknown, fmt.Sprintf("a mailbox; the room lists could not be read (%v), so whether it is a room is unknown", err), nil
	}
	if list != "" {
		return mailbox.TypeRoom, "in the room list " + list, nil
	}
	return mailbox.TypeUnknown, "a mailbox in no room list: EWS does not tell a user mailbox from a shared or equipment mailbox (RecipientTypeDetails in the Get-Mailbox export does)", nil
}
