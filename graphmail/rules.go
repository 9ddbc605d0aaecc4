package graphmail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/exmigrate/exmigrate/graphmail/internal/wire"
	"github.com/exmigrate/exmigrate/mailbox"
)

// The messageRule wire shape (DC resources/messagerule.md).
type wireRule struct {
	ID          string          `json:"id,omitempty"`
	DisplayName string          `json:"displayName"`
	Sequence    int             `json:"sequence"`
	IsEnabled   bool            `json:"isEnabled"`
	HasError    bool            `json:"hasError,omitempty"`
	IsReadOnly  bool            `json:"isReadOnly,omitempty"`
	Conditions  *wirePredicates `json:"conditions,omitempty"`
	Exceptions  *wirePredicates `json:"exceptions,omitempty"`
	Actions     wireActions     `json:"actions"`
}

type wireSize struct {
	MinimumSize int `json:"minimumSize"`
	MaximumSize int `json:"maximumSize"`
}

type wirePredicates struct {
	BodyContains           []string       `json:"bodyContains,omitempty"`
	BodyOrSubjectContains  []string       `json:"bodyOrSubjectContains,omitempty"`
	Categories             []string       `json:"categories,omitempty"`
	FromAddresses          []wire.Address `json:"fromAddresses,omitempty"`
	HasAttachments         bool           `json:"hasAttachments,omitempty"`
	HeaderContains         []string       `json:"headerContains,omitempty"`
	Importance             string         `json:"importance,omitempty"`
	IsApprovalRequest      bool           `json:"isApprovalRequest,omitempty"`
	IsAutomaticForward     bool           `json:"isAutomaticForward,omitempty"`
	IsAutomaticReply       bool           `json:"isAutomaticReply,omitempty"`
	IsEncrypted            bool           `json:"isEncrypted,omitempty"`
	IsMeetingRequest       bool           `json:"isMeetingRequest,omitempty"`
	IsMeetingResponse      bool           `json:"isMeetingResponse,omitempty"`
	IsNonDeliveryReport    bool           `json:"isNonDeliveryReport,omitempty"`
	IsPermissionControlled bool           `json:"isPermissionControlled,omitempty"`
	IsReadReceipt          bool           `json:"isReadReceipt,omitempty"`
	IsSigned               bool           `json:"isSigned,omitempty"`
	IsVoicemail            bool           `json:"isVoicemail,omitempty"`
	MessageActionFlag      string         `json:"messageActionFlag,omitempty"`
	NotSentToMe            bool           `json:"notSentToMe,omitempty"`
	RecipientContains      []string       `json:"recipientContains,omitempty"`
	SenderContains         []string       `json:"senderContains,omitempty"`
	Sensitivity            string         `json:"sensitivity,omitempty"`
	SentCcMe               bool           `json:"sentCcMe,omitempty"`
	SentOnlyToMe           bool           `json:"sentOnlyToMe,omitempty"`
	SentToAddresses        []wire.Address `json:"sentToAddresses,omitempty"`
	SentToMe               bool           `json:"sentToMe,omitempty"`
	SentToOrCcMe           bool           `json:"sentToOrCcMe,omitempty"`
	SubjectContains        []string       `json:"subjectContains,omitempty"`
	WithinSizeRange        *wireSize      `json:"withinSizeRange,omitempty"`
}

type wireActions struct {
	AssignCategories      []string       `json:"assignCategories,omitempty"`
	CopyToFolder          string         `json:"copyToFolder,omitempty"`
	Delete                bool           `json:"delete,omitempty"`
	ForwardAsAttachmentTo []wire.Address `json:"forwardAsAttachmentTo,omitempty"`
	ForwardTo             []wire.Address `json:"forwardTo,omitempty"`
	MarkAsRead            bool           `json:"markAsRead,omitempty"`
	MarkImportance        string         `json:"markImportance,omitempty"`
	MoveToFolder          string         `json:"moveToFolder,omitempty"`
	PermanentDelete       bool           `json:"permanentDelete,omitempty"`
	RedirectTo            []wire.Address `json:"redirectTo,omitempty"`
	StopProcessingRules   bool           `json:"stopProcessingRules,omitempty"`
}

func addrList(as []string) []wire.Address {
	var out []wire.Address
	for _, a := range as {
		var j wire.Address
		j.EmailAddress.Address = a
		out = append(out, j)
	}
	return out
}

func fromAddrList(as []wire.Address) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.EmailAddress.Address)
	}
	return out
}

// lowerFirst turns an EWS enumeration value into Graph's spelling: FollowUp -> followUp.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// toWirePredicates maps predicates and lists, by mailbox.Rule field name,
// those Graph cannot express.
func toWirePredicates(p mailbox.Predicates, part string) (*wirePredicates, []string) {
	var bad []string
	if len(p.FromConnectedAccounts) > 0 {
		bad = append(bad, part+".FromConnectedAccounts")
	}
	if len(p.ItemClasses) > 0 {
		bad = append(bad, part+".ItemClasses")
	}
	if len(p.MessageClassifications) > 0 {
		bad = append(bad, part+".MessageClassifications")
	}
	if p.WithinDateRange != nil {
		bad = append(bad, part+".WithinDateRange")
	}
	w := &wirePredicates{
		BodyContains: p.ContainsBodyStrings, BodyOrSubjectContains: p.ContainsSubjectOrBodyStrings,
		Categories: p.Categories, FromAddresses: addrList(p.FromAddresses), HasAttachments: p.HasAttachments,
		HeaderContains: p.ContainsHeaderStrings, Importance: strings.ToLower(string(p.Importance)),
		IsApprovalRequest: p.IsApprovalRequest, IsAutomaticForward: p.IsAutomaticForward, IsAutomaticReply: p.IsAutomaticReply,
		IsEncrypted: p.IsEncrypted, IsMeetingRequest: p.IsMeetingRequest, IsMeetingResponse: p.IsMeetingResponse,
		IsNonDeliveryReport: p.IsNDR, IsPermissionControlled: p.IsPermissionControlled, IsReadReceipt: p.IsReadReceipt,
		IsSigned: p.IsSigned, IsVoicemail: p.IsVoicemail, MessageActionFlag: lowerFirst(p.FlaggedForAction),
		NotSentToMe: p.NotSentToMe, RecipientContains: p.ContainsRecipientStrings, SenderContains: p.ContainsSenderStrings,
		Sensitivity: strings.ToLower(p.Sensitivity), SentCcMe: p.SentCcMe, SentOnlyToMe: p.SentOnlyToMe,
		SentToAddresses: addrList(p.SentToAddresses), SentToMe: p.SentToMe, SentToOrCcMe: p.SentToOrCcMe,
		SubjectContains: p.ContainsSubjectStrings,
	}
	if p.WithinSizeRange != nil {
		w.WithinSizeRange = &wireSize{MinimumSize: p.WithinSizeRange.MinimumSizeKB, MaximumSize: p.WithinSizeRange.MaximumSizeKB}
	}
	if b, _ := json.Marshal(w); string(b) == "{}" {
		w = nil
	}
	return w, bad
}

func fromWirePredicates(w *wirePredicates) mailbox.Predicates {
	if w == nil {
		return mailbox.Predicates{}
	}
	p := mailbox.Predicates{
		ContainsBodyStrings: w.BodyContains, ContainsSubjectOrBodyStrings: w.BodyOrSubjectContains,
		Categories: w.Categories, FromAddresses: fromAddrList(w.FromAddresses), HasAttachments: w.HasAttachments,
		ContainsHeaderStrings: w.HeaderContains, Importance: mailbox.Importance(upperFirst(w.Importance)),
		IsApprovalRequest: w.IsApprovalRequest, IsAutomaticForward: w.IsAutomaticForward, IsAutomaticReply: w.IsAutomaticReply,
		IsEncrypted: w.IsEncrypted, IsMeetingRequest: w.IsMeetingRequest, IsMeetingResponse: w.IsMeetingResponse,
		IsNDR: w.IsNonDeliveryReport, IsPermissionControlled: w.IsPermissionControlled, IsReadReceipt: w.IsReadReceipt,
		IsSigned: w.IsSigned, IsVoicemail: w.IsVoicemail, FlaggedForAction: upperFirst(w.MessageActionFlag),
		NotSentToMe: w.NotSentToMe, ContainsRecipientStrings: w.RecipientContains, ContainsSenderStrings: w.SenderContains,
		Sensitivity: upperFirst(w.Sensitivity), SentCcMe: w.SentCcMe, SentOnlyToMe: w.SentOnlyToMe,
		SentToAddresses: fromAddrList(w.SentToAddresses), SentToMe: w.SentToMe, SentToOrCcMe: w.SentToOrCcMe,
		ContainsSubjectStrings: w.SubjectContains,
	}
	if w.WithinSizeRange != nil {
		p.WithinSizeRange = &mailbox.SizeRange{MinimumSizeKB: w.WithinSizeRange.MinimumSize, MaximumSizeKB: w.WithinSizeRange.MaximumSize}
	}
	return p
}

// ToMessageRule maps a neutral rule to Graph's messageRule JSON. It
// refuses, with a *RuleUnsupportedError naming every field, a rule that
// uses anything messageRule cannot express. Folder ids must already be the
// target's.
func ToMessageRule(r mailbox.Rule) ([]byte, error) {
	cond, bad := toWirePredicates(r.Conditions, "Conditions")
	exc, bad2 := toWirePredicates(r.Exceptions, "Exceptions")
	bad = append(bad, bad2...)
	a := r.Actions
	if len(a.SendSMSAlertToRecipients) > 0 {
		bad = append(bad, "Actions.SendSMSAlertToRecipients")
	}
	if a.ServerReplyWithMessage != "" {
		bad = append(bad, "Actions.ServerReplyWithMessage")
	}
	// A rule with parts only Outlook understands would lose them, and a
	// rule in error on the source would start running on the target.
	if r.IsNotSupported {
		bad = append(bad, "IsNotSupported (parts only Outlook can read)")
	}
	if r.IsInError {
		bad = append(bad, "IsInError (the rule does not run on the source)")
	}
	if len(bad) > 0 {
		return nil, &RuleUnsupportedError{Rule: r.Name, Fields: bad}
	}
	w := wireRule{
		DisplayName: r.Name, Sequence: max(r.Priority, 1), IsEnabled: r.Enabled, Conditions: cond, Exceptions: exc,
		Actions: wireActions{
			AssignCategories: a.AssignCategories, CopyToFolder: a.CopyToFolder, Delete: a.Delete,
			ForwardAsAttachmentTo: addrList(a.ForwardAsAttachmentToRecipients), ForwardTo: addrList(a.ForwardToRecipients),
			MarkAsRead: a.MarkAsRead, MarkImportance: strings.ToLower(string(a.MarkImportance)), MoveToFolder: a.MoveToFolder,
			PermanentDelete: a.PermanentDelete, RedirectTo: addrList(a.RedirectToRecipients), StopProcessingRules: a.StopProcessingRules,
		},
	}
	if b, _ := json.Marshal(w.Actions); string(b) == "{}" {
		return nil, &RuleUnsupportedError{Rule: r.Name, Fields: []string{"Actions (none set)"}}
	}
	return json.Marshal(w)
}

func fromWireRule(w wireRule) mailbox.Rule {
	a := w.Actions
	return mailbox.Rule{
		ID: w.ID, Name: w.DisplayName, Priority: w.Sequence, Enabled: w.IsEnabled, IsInError: w.HasError,
		Conditions: fromWirePredicates(w.Conditions), Exceptions: fromWirePredicates(w.Exceptions),
		Actions: mailbox.Actions{
			AssignCategories: a.AssignCategories, CopyToFolder: a.CopyToFolder, Delete: a.Delete,
			ForwardAsAttachmentToRecipients: fromAddrList(a.ForwardAsAttachmentTo), ForwardToRecipients: fromAddrList(a.ForwardTo),
			MarkAsRead: a.MarkAsRead, MarkImportance: mailbox.Importance(upperFirst(a.MarkImportance)), MoveToFolder: a.MoveToFolder,
			PermanentDelete: a.PermanentDelete, RedirectToRecipients: fromAddrList(a.RedirectTo), StopProcessingRules: a.StopProcessingRules,
		},
	}
}

// Rules reads the inbox rules.
func (m *Mailbox) Rules(ctx context.Context) ([]mailbox.Rule, error) {
	ctx = m.ctx(ctx)
	op := "list inbox rules of " + m.address
	u := m.c.graphURL(userPath(m.address)+"/mailFolders/inbox/messageRules", nil)
	var out []mailbox.Rule
	for u != "" {
		resp, err := m.c.do(ctx, op, http.MethodGet, u, nil, -1, nil)
		if err != nil {
			return nil, err
		}
		var page struct {
			Value    []wireRule `json:"value"`
			NextLink string     `json:"@odata.nextLink"`
		}
		err = decodeAnswer(resp, 16<<20, &page)
		resp.Body.Close()
		if err != nil {
			return nil, wrapErr(op, err)
		}
		for _, w := range page.Value {
			out = append(out, fromWireRule(w))
		}
		u = page.NextLink
		if u != "" && !strings.HasPrefix(u, m.c.base.Scheme+"://"+m.c.base.Host+"/") {
			return nil, fmt.Errorf("graph: %s: nextLink points outside the Graph host", op)
		}
	}
	return out, nil
}

// CreateRule creates an inbox rule and returns its id. A rule Graph cannot
// express whole is refused with a *RuleUnsupportedError before any request.
func (m *Mailbox) CreateRule(ctx context.Context, rule mailbox.Rule) (string, error) {
	ctx = m.ctx(ctx)
	body, err := ToMessageRule(rule)
	if err != nil {
		return "", err
	}
	op := fmt.Sprintf("create inbox rule %q in %s", rule.Name, m.address)
	u := m.c.graphURL(userPath(m.address)+"/mailFolders/inbox/messageRules", nil)
	resp, err := m.c.do(ctx, op, http.MethodPost, u, bytes.NewReader(body), int64(len(body)), http.Header{"Content-Type": {"application/json"}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var created wireRule
	if err := decodeAnswer(resp, 1<<20, &created); err != nil {
		return "", wrapErr(op, err)
	}
	if created.ID == "" {
		return "", mailbox.Permanent(fmt.Errorf("graph: %s: the answer has no rule id", op))
	}
	return created.ID, nil
}
