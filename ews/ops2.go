package ews

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// --- GetInboxRules (unwrapped response) ---

type addressesXML struct {
	Address []struct {
		Name         string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Name"`
		EmailAddress string `xml:"http://schemas.microsoft.com/exchange/services/2006/types EmailAddress"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Address"`
}

func (a *addressesXML) list() []string {
	var out []string
	for _, x := range a.Address {
		if x.EmailAddress != "" {
			out = append(out, x.EmailAddress)
		} else if x.Name != "" {
			out = append(out, x.Name)
		}
	}
	return out
}

type stringsXML struct {
	String []string `xml:"http://schemas.microsoft.com/exchange/services/2006/types String"`
}

type predicatesXML struct {
	Categories                   stringsXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types Categories"`
	ContainsBodyStrings          stringsXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types ContainsBodyStrings"`
	ContainsHeaderStrings        stringsXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types ContainsHeaderStrings"`
	ContainsRecipientStrings     stringsXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types ContainsRecipientStrings"`
	ContainsSenderStrings        stringsXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types ContainsSenderStrings"`
	ContainsSubjectOrBodyStrings stringsXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types ContainsSubjectOrBodyStrings"`
	ContainsSubjectStrings       stringsXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types ContainsSubjectStrings"`
	FlaggedForAction             string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types FlaggedForAction"`
	FromAddresses                addressesXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types FromAddresses"`
	FromConnectedAccounts        stringsXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types FromConnectedAccounts"`
	HasAttachments               bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types HasAttachments"`
	Importance                   string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types Importance"`
	IsApprovalRequest            bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsApprovalRequest"`
	IsAutomaticForward           bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsAutomaticForward"`
	IsAutomaticReply             bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsAutomaticReply"`
	IsEncrypted                  bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsEncrypted"`
	IsMeetingRequest             bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsMeetingRequest"`
	IsMeetingResponse            bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsMeetingResponse"`
	IsNDR                        bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsNDR"`
	IsPermissionControlled       bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsPermissionControlled"`
	IsReadReceipt                bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsReadReceipt"`
	IsSigned                     bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsSigned"`
	IsVoicemail                  bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsVoicemail"`
	ItemClasses                  stringsXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemClasses"`
	MessageClassifications       stringsXML   `xml:"http://schemas.microsoft.com/exchange/services/2006/types MessageClassifications"`
	NotSentToMe                  bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types NotSentToMe"`
	SentCcMe                     bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types SentCcMe"`
	SentOnlyToMe                 bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types SentOnlyToMe"`
	SentToAddresses              addressesXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types SentToAddresses"`
	SentToMe                     bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types SentToMe"`
	SentToOrCcMe                 bool         `xml:"http://schemas.microsoft.com/exchange/services/2006/types SentToOrCcMe"`
	Sensitivity                  string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types Sensitivity"`
	WithinDateRange              *struct {
		StartDateTime string `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartDateTime"`
		EndDateTime   string `xml:"http://schemas.microsoft.com/exchange/services/2006/types EndDateTime"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types WithinDateRange"`
	WithinSizeRange *struct {
		MinimumSize int `xml:"http://schemas.microsoft.com/exchange/services/2006/types MinimumSize"`
		MaximumSize int `xml:"http://schemas.microsoft.com/exchange/services/2006/types MaximumSize"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types WithinSizeRange"`
}

func (p *predicatesXML) predicates() mailbox.Predicates {
	out := mailbox.Predicates{
		Categories: p.Categories.String, ContainsBodyStrings: p.ContainsBodyStrings.String,
		ContainsHeaderStrings: p.ContainsHeaderStrings.String, ContainsRecipientStrings: p.ContainsRecipientStrings.String,
		ContainsSenderStrings: p.ContainsSenderStrings.String, ContainsSubjectOrBodyStrings: p.ContainsSubjectOrBodyStrings.String,
		ContainsSubjectStrings: p.ContainsSubjectStrings.String, FlaggedForAction: p.FlaggedForAction,
		FromAddresses: p.FromAddresses.list(), FromConnectedAccounts: p.FromConnectedAccounts.String,
		HasAttachments: p.HasAttachments, Importance: mailbox.Importance(p.Importance),
		IsApprovalRequest: p.IsApprovalRequest, IsAutomaticForward: p.IsAutomaticForward,
		IsAutomaticReply: p.IsAutomaticReply, IsEncrypted: p.IsEncrypted, IsMeetingRequest: p.IsMeetingRequest,
		IsMeetingResponse: p.IsMeetingResponse, IsNDR: p.IsNDR, IsPermissionControlled: p.IsPermissionControlled,
		IsReadReceipt: p.IsReadReceipt, IsSigned: p.IsSigned, IsVoicemail: p.IsVoicemail,
		ItemClasses: p.ItemClasses.String, MessageClassifications: p.MessageClassifications.String,
		NotSentToMe: p.NotSentToMe, SentCcMe: p.SentCcMe, SentOnlyToMe: p.SentOnlyToMe,
		SentToAddresses: p.SentToAddresses.list(), SentToMe: p.SentToMe, SentToOrCcMe: p.SentToOrCcMe,
		Sensitivity: p.Sensitivity,
	}
	if p.WithinDateRange != nil {
		out.WithinDateRange = &mailbox.DateRange{StartDateTime: p.WithinDateRange.StartDateTime, EndDateTime: p.WithinDateRange.EndDateTime}
	}
	if p.WithinSizeRange != nil {
		out.WithinSizeRange = &mailbox.SizeRange{MinimumSizeKB: p.WithinSizeRange.MinimumSize, MaximumSizeKB: p.WithinSizeRange.MaximumSize}
	}
	return out
}

type targetFolderXML struct {
	FolderID      idXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderId"`
	Distinguished idXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types DistinguishedFolderId"`
}

func (t *targetFolderXML) id() string {
	if t == nil {
		return ""
	}
	if t.FolderID.ID != "" {
		return t.FolderID.ID
	}
	return t.Distinguished.ID
}

type ruleXML struct {
	RuleID         string        `xml:"http://schemas.microsoft.com/exchange/services/2006/types RuleId"`
	DisplayName    string        `xml:"http://schemas.microsoft.com/exchange/services/2006/types DisplayName"`
	Priority       int           `xml:"http://schemas.microsoft.com/exchange/services/2006/types Priority"`
	IsEnabled      bool          `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsEnabled"`
	IsNotSupported bool          `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsNotSupported"`
	IsInError      bool          `xml:"http://schemas.microsoft.com/exchange/services/2006/types IsInError"`
	Conditions     predicatesXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Conditions"`
	Exceptions     predicatesXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Exceptions"`
	Actions        struct {
		AssignCategories                stringsXML       `xml:"http://schemas.microsoft.com/exchange/services/2006/types AssignCategories"`
		CopyToFolder                    *targetFolderXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types CopyToFolder"`
		Delete                          bool             `xml:"http://schemas.microsoft.com/exchange/services/2006/types Delete"`
		ForwardAsAttachmentToRecipients addressesXML     `xml:"http://schemas.microsoft.com/exchange/services/2006/types ForwardAsAttachmentToRecipients"`
		ForwardToRecipients             addressesXML     `xml:"http://schemas.microsoft.com/exchange/services/2006/types ForwardToRecipients"`
		MarkImportance                  string           `xml:"http://schemas.microsoft.com/exchange/services/2006/types MarkImportance"`
		MarkAsRead                      bool             `xml:"http://schemas.microsoft.com/exchange/services/2006/types MarkAsRead"`
		MoveToFolder                    *targetFolderXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types MoveToFolder"`
		PermanentDelete                 bool             `xml:"http://schemas.microsoft.com/exchange/services/2006/types PermanentDelete"`
		RedirectToRecipients            addressesXML     `xml:"http://schemas.microsoft.com/exchange/services/2006/types RedirectToRecipients"`
		SendSMSAlertToRecipients        addressesXML     `xml:"http://schemas.microsoft.com/exchange/services/2006/types SendSMSAlertToRecipients"`
		ServerReplyWithMessage          idXML            `xml:"http://schemas.microsoft.com/exchange/services/2006/types ServerReplyWithMessage"`
		StopProcessingRules             bool             `xml:"http://schemas.microsoft.com/exchange/services/2006/types StopProcessingRules"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Actions"`
}

func (r *ruleXML) rule() mailbox.Rule {
	a := &r.Actions
	return mailbox.Rule{
		ID: r.RuleID, Name: r.DisplayName, Priority: r.Priority, Enabled: r.IsEnabled,
		IsNotSupported: r.IsNotSupported, IsInError: r.IsInError,
		Conditions: r.Conditions.predicates(), Exceptions: r.Exceptions.predicates(),
		Actions: mailbox.Actions{
			AssignCategories: a.AssignCategories.String, CopyToFolder: a.CopyToFolder.id(), Delete: a.Delete,
			ForwardAsAttachmentToRecipients: a.ForwardAsAttachmentToRecipients.list(),
			ForwardToRecipients:             a.ForwardToRecipients.list(),
			MarkImportance:                  mailbox.Importance(a.MarkImportance), MarkAsRead: a.MarkAsRead,
			MoveToFolder: a.MoveToFolder.id(), PermanentDelete: a.PermanentDelete,
			RedirectToRecipients:     a.RedirectToRecipients.list(),
			SendSMSAlertToRecipients: a.SendSMSAlertToRecipients.list(),
			ServerReplyWithMessage:   a.ServerReplyWithMessage.ID, StopProcessingRules: a.StopProcessingRules,
		},
	}
}

type getInboxRulesResponse struct {
	responseMessage
	OutlookRuleBlobExists bool `xml:"http://schemas.microsoft.com/exchange/services/2006/messages OutlookRuleBlobExists"`
	InboxRules            struct {
		Rules []ruleXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Rule"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages InboxRules"`
}

// ClientOnlyRules reports GetInboxRules' OutlookRuleBlobExists: Outlook
// keeps rules no API can read (client-only rules). It reuses the answer of
// the last Rules call.
func (m *Mailbox) ClientOnlyRules(ctx context.Context) (bool, error) {
	m.mu.Lock()
	blob := m.ruleBlob
	m.mu.Unlock()
	if blob == nil {
		if _, err := m.Rules(ctx); err != nil {
			return false, err
		}
		m.mu.Lock()
		blob = m.ruleBlob
		m.mu.Unlock()
	}
	return *blob, nil
}

// Rules reads the server-side inbox rules (GetInboxRules).
func (m *Mailbox) Rules(ctx context.Context) ([]mailbox.Rule, error) {
	c := m.c
	r := c.newRequest(m.address)
	elem(r.body.CreateElement("m:GetInboxRules"), "m:MailboxSmtpAddress", m.address)
	var resp getInboxRulesResponse
	err := c.do(ctx, call{op: "GetInboxRules", anchor: m.address, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "GetInboxRules", st, &resp); err != nil {
			return err
		}
		return resp.err("GetInboxRules", -1)
	})
	if err != nil {
		return nil, fmt.Errorf("inbox rules of %s: %w", m.address, err)
	}
	blob := resp.OutlookRuleBlobExists
	m.mu.Lock()
	m.ruleBlob = &blob
	m.mu.Unlock()
	out := make([]mailbox.Rule, 0, len(resp.InboxRules.Rules))
	for i := range resp.InboxRules.Rules {
		out = append(out, resp.InboxRules.Rules[i].rule())
	}
	return out, nil
}

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

// --- Public folders ---

// PublicFolders walks the public folder tree with recursive Shallow
// FindFolder from publicfoldersroot (Deep traversal is not supported there),
// sending X-AnchorMailbox and X-PublicFolderMailbox from the config.
func (c *Client) PublicFolders(ctx context.Context) ([]mailbox.Folder, error) {
	if c.cfg.PublicFolderMailbox == "" {
		return nil, fmt.Errorf("ews: public folders need onprem.public_folder_mailbox (the hierarchy mailbox), because Autodiscover is not used")
	}
	root, err := c.publicRoot(ctx)
	if err != nil {
		return nil, fmt.Errorf("public folders: %w", err)
	}
	out := []mailbox.Folder{root}
	for i := 0; i < len(out); i++ {
		if i > 0 && out[i].ChildCount == 0 {
			continue
		}
		kids, err := c.findFolders(ctx, "", out[i].ID, false, true)
		if err != nil {
			return nil, fmt.Errorf("public folders under %q: %w", out[i].Path, err)
		}
		for _, k := range kids {
			k.Path = mailbox.JoinPath(out[i].Path, k.DisplayName)
			out = append(out, k)
		}
	}
	return out, nil
}

func (c *Client) publicRoot(ctx context.Context) (mailbox.Folder, error) {
	r := c.newRequest("")
	gf := r.body.CreateElement("m:GetFolder")
	folderShape(gf)
	c.folderRef(gf.CreateElement("m:FolderIds"), "publicfoldersroot", "")
	var resp getFolderResponse
	pf := c.cfg.PublicFolderMailbox
	err := c.do(ctx, call{op: "GetFolder", anchor: pf, publicMbx: pf, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "GetFolder", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS GetFolder: %d answers for one folder", len(resp.Messages))
		}
		return resp.Messages[0].err("GetFolder", -1)
	})
	if err != nil {
		return mailbox.Folder{}, err
	}
	if len(resp.Messages[0].Folders.Folders) == 0 {
		return mailbox.Folder{}, fmt.Errorf("EWS GetFolder: no public folder root in the answer")
	}
	return resp.Messages[0].Folders.Folders[0].folder(), nil
}
