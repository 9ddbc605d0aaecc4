package ews

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// --- eDiscovery and holds ---

// SearchableMailbox is one entry of GetSearchableMailboxes.
type SearchableMailbox struct {
	GUID               string
	PrimarySMTPAddress string
	DisplayName        string
	IsExternal         bool
	IsMembershipGroup  bool
	ReferenceID        string
}

type searchableMailboxesXML struct {
	Mailboxes []struct {
		GUID               string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Guid"`
		PrimarySmtpAddress string `xml:"http://schemas.microsoft.com/exchange/services/2006/types PrimarySmtpAddress"`
		IsExternalMailbox  bool   `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsExternalMailbox"`
		DisplayName        string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DisplayName"`
		IsMembershipGroup  bool   `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsMembershipGroup"`
		ReferenceID        string `xml:"http://schemas.microsoft.com/exchange/services/2006/types ReferenceId"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types SearchableMailbox"`
}

func (s *searchableMailboxesXML) list() []SearchableMailbox {
	var out []SearchableMailbox
	for _, x := range s.Mailboxes {
		out = append(out, SearchableMailbox{GUID: x.GUID, PrimarySMTPAddress: x.PrimarySmtpAddress, DisplayName: x.DisplayName,
			IsExternal: x.IsExternalMailbox, IsMembershipGroup: x.IsMembershipGroup, ReferenceID: x.ReferenceID})
	}
	return out
}

type getSearchableMailboxesResponse struct {
	responseMessage
	SearchableMailboxes searchableMailboxesXML `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SearchableMailboxes"`
}

// SearchableMailboxes lists the mailboxes the account may search (eDiscovery
// rights needed). filter is an optional name or address prefix.
func (c *Client) SearchableMailboxes(ctx context.Context, filter string) ([]SearchableMailbox, error) {
	r := c.newRequest("")
	g := r.body.CreateElement("m:GetSearchableMailboxes")
	if filter != "" {
		elem(g, "m:SearchFilter", filter)
	}
	elem(g, "m:ExpandGroupMembership", "false")
	var resp getSearchableMailboxesResponse
	err := c.do(ctx, call{op: "GetSearchableMailboxes", body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "GetSearchableMailboxes", st, &resp); err != nil {
			return err
		}
		return resp.err("GetSearchableMailboxes", -1)
	})
	if err != nil {
		return nil, err
	}
	return resp.SearchableMailboxes.list(), nil
}

// DiscoverySearch is one eDiscovery search configuration; InPlaceHoldIdentity
// is set when it places an In-Place hold.
type DiscoverySearch struct {
	SearchID            string
	Query               string
	InPlaceHoldIdentity string
	Mailboxes           []SearchableMailbox
}

type getDiscoverySearchConfigurationResponse struct {
	responseMessage
	Configurations struct {
		Configs []struct {
			SearchID            string                 `xml:"http://schemas.microsoft.com/exchange/services/2006/types SearchId"`
			SearchQuery         string                 `xml:"http://schemas.microsoft.com/exchange/services/2006/types SearchQuery"`
			SearchableMailboxes searchableMailboxesXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types SearchableMailboxes"`
			InPlaceHoldIdentity string                 `xml:"http://schemas.microsoft.com/exchange/services/2006/types InPlaceHoldIdentity"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/types DiscoverySearchConfiguration"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages DiscoverySearchConfigurations"`
}

// DiscoverySearches lists the eDiscovery searches; holdsOnly keeps those
// that are In-Place holds.
func (c *Client) DiscoverySearches(ctx context.Context, holdsOnly bool) ([]DiscoverySearch, error) {
	r := c.newRequest("")
	g := r.body.CreateElement("m:GetDiscoverySearchConfiguration")
	elem(g, "m:ExpandGroupMembership", "false")
	elem(g, "m:InPlaceHoldConfigurationOnly", strconv.FormatBool(holdsOnly))
	var resp getDiscoverySearchConfigurationResponse
	err := c.do(ctx, call{op: "GetDiscoverySearchConfiguration", body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "GetDiscoverySearchConfiguration", st, &resp); err != nil {
			return err
		}
		return resp.err("GetDiscoverySearchConfiguration", -1)
	})
	if err != nil {
		return nil, err
	}
	var out []DiscoverySearch
	for _, x := range resp.Configurations.Configs {
		out = append(out, DiscoverySearch{SearchID: x.SearchID, Query: x.SearchQuery,
			InPlaceHoldIdentity: x.InPlaceHoldIdentity, Mailboxes: x.SearchableMailboxes.list()})
	}
	return out, nil
}

// HoldStatus is one mailbox's status under a hold.
type HoldStatus struct {
	Mailbox        string
	Status         string // NotOnHold, Pending, OnHold, PartialHold, Failed
	AdditionalInfo string
}

type getHoldOnMailboxesResponse struct {
	responseMessage
	Result struct {
		HoldID   string `xml:"http://schemas.microsoft.com/exchange/services/2006/types HoldId"`
		Query    string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Query"`
		Statuses struct {
			Status []struct {
				Mailbox        string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Mailbox"`
				Status         string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Status"`
				AdditionalInfo string `xml:"http://schemas.microsoft.com/exchange/services/2006/types AdditionalInfo"`
			} `xml:"http://schemas.microsoft.com/exchange/services/2006/types MailboxHoldStatus"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/types MailboxHoldStatuses"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages MailboxHoldResult"`
}

// HoldOnMailboxes returns the query and the per-mailbox status of one hold.
func (c *Client) HoldOnMailboxes(ctx context.Context, holdID string) (query string, statuses []HoldStatus, err error) {
	r := c.newRequest("")
	elem(r.body.CreateElement("m:GetHoldOnMailboxes"), "m:HoldId", holdID)
	var resp getHoldOnMailboxesResponse
	err = c.do(ctx, call{op: "GetHoldOnMailboxes", body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "GetHoldOnMailboxes", st, &resp); err != nil {
			return err
		}
		return resp.err("GetHoldOnMailboxes", -1)
	})
	if err != nil {
		return "", nil, err
	}
	for _, s := range resp.Result.Statuses.Status {
		statuses = append(statuses, HoldStatus{Mailbox: s.Mailbox, Status: s.Status, AdditionalInfo: s.AdditionalInfo})
	}
	return resp.Result.Query, statuses, nil
}

// Holds lists the In-Place holds covering this mailbox: the hold searches
// from GetDiscoverySearchConfiguration, then each hold's status for this
// mailbox from GetHoldOnMailboxes. Litigation hold is not visible in EWS.
func (m *Mailbox) Holds(ctx context.Context) ([]mailbox.Hold, error) {
	searches, err := m.c.DiscoverySearches(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("holds of %s: %w", m.address, err)
	}
	var out []mailbox.Hold
	for _, s := range searches {
		if s.InPlaceHoldIdentity == "" {
			continue
		}
		query, statuses, err := m.c.HoldOnMailboxes(ctx, s.InPlaceHoldIdentity)
		if err != nil {
			return nil, fmt.Errorf("holds of %s: %w", m.address, err)
		}
		for _, st := range statuses {
			if strings.EqualFold(st.Mailbox, m.address) && st.Status != "NotOnHold" {
				out = append(out, mailbox.Hold{ID: s.InPlaceHoldIdentity, Name: s.SearchID, Query: query, Status: st.Status})
			}
		}
	}
	return out, nil
}
