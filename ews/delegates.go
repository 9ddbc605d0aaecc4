package ews

import (
	"context"
	"fmt"
	"io"

	"github.com/exmigrate/exmigrate/mailbox"
)

// --- GetDelegate ---

type getDelegateResponse struct {
	responseMessage
	Messages []struct {
		responseMessage
		DelegateUser struct {
			UserID struct {
				SID                string `xml:"http://schemas.microsoft.com/exchange/services/2006/types SID"`
				PrimarySmtpAddress string `xml:"http://schemas.microsoft.com/exchange/services/2006/types PrimarySmtpAddress"`
				DisplayName        string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DisplayName"`
			} `xml:"http://schemas.microsoft.com/exchange/services/2006/types UserId"`
			DelegatePermissions struct {
				Calendar string `xml:"http://schemas.microsoft.com/exchange/services/2006/types CalendarFolderPermissionLevel"`
				Tasks    string `xml:"http://schemas.microsoft.com/exchange/services/2006/types TasksFolderPermissionLevel"`
				Inbox    string `xml:"http://schemas.microsoft.com/exchange/services/2006/types InboxFolderPermissionLevel"`
				Contacts string `xml:"http://schemas.microsoft.com/exchange/services/2006/types ContactsFolderPermissionLevel"`
				Notes    string `xml:"http://schemas.microsoft.com/exchange/services/2006/types NotesFolderPermissionLevel"`
				Journal  string `xml:"http://schemas.microsoft.com/exchange/services/2006/types JournalFolderPermissionLevel"`
			} `xml:"http://schemas.microsoft.com/exchange/services/2006/types DelegatePermissions"`
			ReceiveCopiesOfMeetingMessages bool `xml:"http://schemas.microsoft.com/exchange/services/2006/types ReceiveCopiesOfMeetingMessages"`
			ViewPrivateItems               bool `xml:"http://schemas.microsoft.com/exchange/services/2006/types ViewPrivateItems"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages DelegateUser"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>DelegateUserResponseMessageType"`
	DeliverMeetingRequests string `xml:"http://schemas.microsoft.com/exchange/services/2006/messages DeliverMeetingRequests"`
}

// Delegates reads the delegates with GetDelegate.
func (m *Mailbox) Delegates(ctx context.Context) ([]mailbox.Delegate, error) {
	c := m.c
	r := c.newRequest(m.address)
	gd := r.body.CreateElement("m:GetDelegate")
	gd.CreateAttr("IncludePermissions", "true")
	gd.CreateElement("m:Mailbox").CreateElement("t:EmailAddress").SetText(m.address)
	var resp getDelegateResponse
	err := c.do(ctx, call{op: "GetDelegate", anchor: m.address, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "GetDelegate", st, &resp); err != nil {
			return err
		}
		return resp.err("GetDelegate", -1)
	})
	if err != nil {
		return nil, fmt.Errorf("delegates of %s: %w", m.address, err)
	}
	var out []mailbox.Delegate
	for i, dm := range resp.Messages {
		if err := dm.err("GetDelegate", i); err != nil {
			return nil, fmt.Errorf("delegates of %s: %w", m.address, err)
		}
		du := dm.DelegateUser
		user := du.UserID.PrimarySmtpAddress
		if user == "" {
			user = du.UserID.DisplayName
		}
		perms := map[string]string{}
		for k, v := range map[string]string{"Calendar": du.DelegatePermissions.Calendar, "Tasks": du.DelegatePermissions.Tasks,
			"Inbox": du.DelegatePermissions.Inbox, "Contacts": du.DelegatePermissions.Contacts,
			"Notes": du.DelegatePermissions.Notes, "Journal": du.DelegatePermissions.Journal} {
			if v != "" {
				perms[k] = v
			}
		}
		out = append(out, mailbox.Delegate{User: user, Permissions: perms,
			ReceiveCopiesOfMeetings: du.ReceiveCopiesOfMeetingMessages, ViewPrivateItems: du.ViewPrivateItems,
			DeliverMeetingRequestsTo: resp.DeliverMeetingRequests})
	}
	return out, nil
}
