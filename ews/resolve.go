package ews

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// --- ResolveNames ---

// Resolution is one answer of ResolveNames.
type Resolution struct {
	SMTPAddress string
	DisplayName string
	RoutingType string
	MailboxType string // Mailbox, PublicDL, PrivateDL, Contact, PublicFolder, GroupMailbox ...
}

type resolveNamesResponse struct {
	Messages []struct {
		responseMessage
		ResolutionSet struct {
			Resolutions []struct {
				Mailbox struct {
					Name         string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Name"`
					EmailAddress string `xml:"http://schemas.microsoft.com/exchange/services/2006/types EmailAddress"`
					RoutingType  string `xml:"http://schemas.microsoft.com/exchange/services/2006/types RoutingType"`
					MailboxType  string `xml:"http://schemas.microsoft.com/exchange/services/2006/types MailboxType"`
				} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Mailbox"`
			} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Resolution"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResolutionSet"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>ResolveNamesResponseMessage"`
}

// ResolveNames looks an address or name up in the directory. No match is an
// empty result, not an error; several matches are all returned.
func (c *Client) ResolveNames(ctx context.Context, address string) ([]Resolution, error) {
	r := c.newRequest("")
	rn := r.body.CreateElement("m:ResolveNames")
	rn.CreateAttr("ReturnFullContactData", "false")
	rn.CreateAttr("SearchScope", "ActiveDirectory")
	elem(rn, "m:UnresolvedEntry", address)
	var resp resolveNamesResponse
	err := c.do(ctx, call{op: "ResolveNames", body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "ResolveNames", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS ResolveNames: %d answers for one name", len(resp.Messages))
		}
		m := &resp.Messages[0]
		switch m.Code {
		case "ErrorNameResolutionNoResults", "ErrorNameResolutionMultipleResults":
			return nil // no match, or a Warning listing the candidates
		}
		return m.err("ResolveNames", -1)
	})
	if err != nil {
		return nil, err
	}
	var out []Resolution
	for _, res := range resp.Messages[0].ResolutionSet.Resolutions {
		out = append(out, Resolution{
			SMTPAddress: res.Mailbox.EmailAddress, DisplayName: res.Mailbox.Name,
			RoutingType: res.Mailbox.RoutingType, MailboxType: res.Mailbox.MailboxType,
		})
	}
	return out, nil
}

// Check proves the URL and the credentials with one cheap authenticated call.
func (c *Client) Check(ctx context.Context) error {
	user := c.cfg.Username
	if i := strings.LastIndexByte(user, '\\'); i >= 0 {
		user = user[i+1:]
	}
	_, err := c.ResolveNames(ctx, user)
	return err
}
