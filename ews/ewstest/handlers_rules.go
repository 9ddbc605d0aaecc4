package ewstest

import (
	"strconv"

	"github.com/exmigrate/exmigrate/mailbox"
)

func strList(x *xw, name string, vals []string) {
	if len(vals) == 0 {
		return
	}
	x.start(nsTypes, name)
	for _, v := range vals {
		x.leaf(nsTypes, "String", v)
	}
	x.end()
}

func addrList(x *xw, name string, vals []string) {
	if len(vals) == 0 {
		return
	}
	x.start(nsTypes, name)
	for _, v := range vals {
		x.start(nsTypes, "Address")
		x.leaf(nsTypes, "EmailAddress", v)
		x.leaf(nsTypes, "RoutingType", "SMTP")
		x.end()
	}
	x.end()
}

func boolLeaf(x *xw, name string, v bool) {
	if v {
		x.leaf(nsTypes, name, "true")
	}
}

func strLeaf(x *xw, name, v string) {
	if v != "" {
		x.leaf(nsTypes, name, v)
	}
}

func writePredicates(x *xw, name string, p mailbox.Predicates) {
	x.start(nsTypes, name)
	strList(x, "Categories", p.Categories)
	strList(x, "ContainsBodyStrings", p.ContainsBodyStrings)
	strList(x, "ContainsHeaderStrings", p.ContainsHeaderStrings)
	strList(x, "ContainsRecipientStrings", p.ContainsRecipientStrings)
	strList(x, "ContainsSenderStrings", p.ContainsSenderStrings)
	strList(x, "ContainsSubjectOrBodyStrings", p.ContainsSubjectOrBodyStrings)
	strList(x, "ContainsSubjectStrings", p.ContainsSubjectStrings)
	strLeaf(x, "FlaggedForAction", p.FlaggedForAction)
	addrList(x, "FromAddresses", p.FromAddresses)
	strList(x, "FromConnectedAccounts", p.FromConnectedAccounts)
	boolLeaf(x, "HasAttachments", p.HasAttachments)
	strLeaf(x, "Importance", string(p.Importance))
	boolLeaf(x, "IsApprovalRequest", p.IsApprovalRequest)
	boolLeaf(x, "IsAutomaticForward", p.IsAutomaticForward)
	boolLeaf(x, "IsAutomaticReply", p.IsAutomaticReply)
	boolLeaf(x, "IsEncrypted", p.IsEncrypted)
	boolLeaf(x, "IsMeetingRequest", p.IsMeetingRequest)
	boolLeaf(x, "IsMeetingResponse", p.IsMeetingResponse)
	boolLeaf(x, "IsNDR", p.IsNDR)
	boolLeaf(x, "IsPermissionControlled", p.IsPermissionControlled)
	boolLeaf(x, "IsReadReceipt", p.IsReadReceipt)
	boolLeaf(x, "IsSigned", p.IsSigned)
	boolLeaf(x, "IsVoicemail", p.IsVoicemail)
	strList(x, "ItemClasses", p.ItemClasses)
	strList(x, "MessageClassifications", p.MessageClassifications)
	boolLeaf(x, "NotSentToMe", p.NotSentToMe)
	boolLeaf(x, "SentCcMe", p.SentCcMe)
	boolLeaf(x, "SentOnlyToMe", p.SentOnlyToMe)
	addrList(x, "SentToAddresses", p.SentToAddresses)
	boolLeaf(x, "SentToMe", p.SentToMe)
	boolLeaf(x, "SentToOrCcMe", p.SentToOrCcMe)
	strLeaf(x, "Sensitivity", p.Sensitivity)
	if r := p.WithinDateRange; r != nil {
		x.start(nsTypes, "WithinDateRange")
		strLeaf(x, "StartDateTime", r.StartDateTime)
		strLeaf(x, "EndDateTime", r.EndDateTime)
		x.end()
	}
	if r := p.WithinSizeRange; r != nil {
		x.start(nsTypes, "WithinSizeRange")
		if r.MinimumSizeKB > 0 {
			x.leaf(nsTypes, "MinimumSize", strconv.Itoa(r.MinimumSizeKB))
		}
		if r.MaximumSizeKB > 0 {
			x.leaf(nsTypes, "MaximumSize", strconv.Itoa(r.MaximumSizeKB))
		}
		x.end()
	}
	x.end()
}

func folderTarget(x *xw, name, id string) {
	if id == "" {
		return
	}
	x.start(nsTypes, name)
	x.empty(nsTypes, "FolderId", "Id", id)
	x.end()
}

func writeRule(x *xw, r mailbox.Rule) {
	x.start(nsTypes, "Rule")
	x.leaf(nsTypes, "RuleId", r.ID)
	x.leaf(nsTypes, "DisplayName", r.Name)
	x.leaf(nsTypes, "Priority", strconv.Itoa(r.Priority))
	x.leaf(nsTypes, "IsEnabled", strconv.FormatBool(r.Enabled))
	x.leaf(nsTypes, "IsNotSupported", strconv.FormatBool(r.IsNotSupported))
	x.leaf(nsTypes, "IsInError", strconv.FormatBool(r.IsInError))
	writePredicates(x, "Conditions", r.Conditions)
	writePredicates(x, "Exceptions", r.Exceptions)
	a := r.Actions
	x.start(nsTypes, "Actions")
	strList(x, "AssignCategories", a.AssignCategories)
	folderTarget(x, "CopyToFolder", a.CopyToFolder)
	boolLeaf(x, "Delete", a.Delete)
	addrList(x, "ForwardAsAttachmentToRecipients", a.ForwardAsAttachmentToRecipients)
	addrList(x, "ForwardToRecipients", a.ForwardToRecipients)
	strLeaf(x, "MarkImportance", string(a.MarkImportance))
	boolLeaf(x, "MarkAsRead", a.MarkAsRead)
	folderTarget(x, "MoveToFolder", a.MoveToFolder)
	boolLeaf(x, "PermanentDelete", a.PermanentDelete)
	addrList(x, "RedirectToRecipients", a.RedirectToRecipients)
	addrList(x, "SendSMSAlertToRecipients", a.SendSMSAlertToRecipients)
	if a.ServerReplyWithMessage != "" {
		x.empty(nsTypes, "ServerReplyWithMessage", "Id", a.ServerReplyWithMessage)
	}
	boolLeaf(x, "StopProcessingRules", a.StopProcessingRules)
	x.end()
	x.end()
}

func (rc *reqCtx) getInboxRules(op *node, x *xw) error {
	mb, err := rc.targetMailbox(op.child(nsMessages, "MailboxSmtpAddress").value())
	if rc.unwrapped(x, "GetInboxRulesResponse", err) {
		x.leaf(nsMessages, "OutlookRuleBlobExists", strconv.FormatBool(mb.ruleBlob))
		x.start(nsMessages, "InboxRules")
		for _, r := range mb.rules {
			writeRule(x, r)
		}
		x.end()
	}
	x.end()
	return nil
}
