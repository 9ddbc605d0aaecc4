package ews

import (
	"bytes"
	"testing"
)

const (
	// Default namespaces, as Exchange writes them.
	seedRoomLists = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetRoomListsResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><ResponseCode>NoError</ResponseCode><RoomLists><Address xmlns="http://schemas.microsoft.com/exchange/services/2006/types"><Name>Rooms</Name><EmailAddress>rooms@contoso.com</EmailAddress><RoutingType>SMTP</RoutingType><MailboxType>PublicDL</MailboxType></Address></RoomLists></GetRoomListsResponse></s:Body></s:Envelope>`
	seedRooms     = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetRoomsResponse ResponseClass="Success" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseCode>NoError</m:ResponseCode><m:Rooms><t:Room><t:Id><t:Name>Oslo</t:Name><t:EmailAddress>room.oslo@contoso.com</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType><t:MailboxType>Mailbox</t:MailboxType></t:Id></t:Room><t:Room><t:Id><t:Name>no address</t:Name></t:Id></t:Room></m:Rooms></m:GetRoomsResponse></s:Body></s:Envelope>`
	seedRoomsErr  = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetRoomsResponse ResponseClass="Error" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:MessageText>No results were found.</m:MessageText><m:ResponseCode>ErrorNameResolutionNoResults</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:GetRoomsResponse></s:Body></s:Envelope>`
)

// FuzzRoomAnswers: whatever the server answers to GetRoomLists and
// GetRooms, decoding returns a result or an error, never panics, and an
// answer that decodes as Success has no ResponseError.
func FuzzRoomAnswers(f *testing.F) {
	for _, s := range []string{seedRoomLists, seedRooms, seedRoomsErr, "", "<x/>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var lists getRoomListsResponse
		if err := decodeResponse(bytes.NewReader(data), "GetRoomLists", 200, &lists); err == nil {
			if lists.Class == "Success" && lists.err("GetRoomLists", -1) != nil {
				t.Fatal("a Success answer is an error")
			}
			_ = lists.RoomLists.Address
		}
		var rooms getRoomsResponse
		if err := decodeResponse(bytes.NewReader(data), "GetRooms", 200, &rooms); err == nil {
			if rerr := rooms.err("GetRooms", -1); rooms.Class == "Error" && rerr == nil {
				t.Fatal("an Error answer is not an error")
			}
		}
	})
}

// TestRoomAnswersByNamespace: the answers are read by namespace, whatever
// the prefixes, and a room without an address is left out.
func TestRoomAnswersByNamespace(t *testing.T) {
	var lists getRoomListsResponse
	if err := decodeResponse(bytes.NewReader([]byte(seedRoomLists)), "GetRoomLists", 200, &lists); err != nil || len(lists.RoomLists.Address) != 1 ||
		lists.RoomLists.Address[0].EmailAddress != "rooms@contoso.com" {
		t.Fatalf("room lists %+v, %v", lists, err)
	}
	var rooms getRoomsResponse
	if err := decodeResponse(bytes.NewReader([]byte(seedRooms)), "GetRooms", 200, &rooms); err != nil || len(rooms.Rooms.Room) != 2 ||
		rooms.Rooms.Room[0].ID.EmailAddress != "room.oslo@contoso.com" {
		t.Fatalf("rooms %+v, %v", rooms, err)
	}
	var failed getRoomsResponse
	if err := decodeResponse(bytes.NewReader([]byte(seedRoomsErr)), "GetRooms", 200, &failed); err != nil || failed.err("GetRooms", -1) == nil {
		t.Fatalf("error answer: %+v, %v", failed, err)
	}
}
