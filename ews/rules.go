package ews

import (
	"context"
	"fmt"
	"io"

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
