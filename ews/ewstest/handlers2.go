package ewstest

import (
	"strconv"
	"strings"

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

func (rc *reqCtx) targetMailbox(addr string) (*mbox, error) {
	mb, err := rc.mailboxFor(addr)
	if err == nil {
		err = rc.access(mb, false)
	}
	return mb, err
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

func (rc *reqCtx) getDelegate(op *node, x *xw) error {
	mb, err := rc.targetMailbox(op.child(nsMessages, "Mailbox").child(nsTypes, "EmailAddress").value())
	perms := op.attr("IncludePermissions") == "true" || op.attr("IncludePermissions") == "1"
	if rc.unwrapped(x, "GetDelegateResponse", err) {
		if len(mb.delegates) > 0 {
			x.start(nsMessages, "ResponseMessages")
			for i, d := range mb.delegates {
				x.start(nsMessages, "DelegateUserResponseMessageType", "ResponseClass", "Success")
				x.leaf(nsMessages, "ResponseCode", "NoError")
				x.start(nsMessages, "DelegateUser")
				x.start(nsTypes, "UserId")
				x.leaf(nsTypes, "SID", "S-1-5-21-1004336348-1177238915-682003330-"+strconv.Itoa(2000+i))
				if strings.Contains(d.User, "@") {
					x.leaf(nsTypes, "PrimarySmtpAddress", d.User)
				}
				x.leaf(nsTypes, "DisplayName", d.User)
				x.end()
				if perms {
					x.start(nsTypes, "DelegatePermissions")
					for _, k := range []string{"Calendar", "Tasks", "Inbox", "Contacts", "Notes", "Journal"} {
						if v := d.Permissions[k]; v != "" {
							x.leaf(nsTypes, k+"FolderPermissionLevel", v)
						}
					}
					x.end()
				}
				x.leaf(nsTypes, "ReceiveCopiesOfMeetingMessages", strconv.FormatBool(d.ReceiveCopiesOfMeetings))
				x.leaf(nsTypes, "ViewPrivateItems", strconv.FormatBool(d.ViewPrivateItems))
				x.end()
				x.end()
			}
			x.end()
		}
		x.leaf(nsMessages, "DeliverMeetingRequests", mb.deliverMeetings)
	}
	x.end()
	return nil
}

func (rc *reqCtx) discoveryAllowed() error {
	if !rc.acct.ediscovery {
		return errf("ErrorAccessDenied", "The caller does not have the eDiscovery rights (Discovery Management role) for this operation.")
	}
	return nil
}

func writeSearchable(x *xw, name string, mbs []*mbox) {
	x.start(nsTypes, name)
	writeSearchableItems(x, mbs)
	x.end()
}

func writeSearchableItems(x *xw, mbs []*mbox) {
	for i, mb := range mbs {
		x.start(nsTypes, "SearchableMailbox")
		x.leaf(nsTypes, "Guid", "6e1c2b1d-0000-4000-8000-"+strings.Repeat("0", 8)+strconv.FormatInt(int64(1000+i), 10))
		x.leaf(nsTypes, "PrimarySmtpAddress", mb.address)
		x.leaf(nsTypes, "IsExternalMailbox", "false")
		x.leaf(nsTypes, "ExternalEmailAddress", "")
		x.leaf(nsTypes, "DisplayName", mb.display)
		x.leaf(nsTypes, "IsMembershipGroup", "false")
		x.leaf(nsTypes, "ReferenceId", "/o=CONTOSO/ou=Exchange Administrative Group/cn=Recipients/cn="+mb.display)
		x.end()
	}
}

func (rc *reqCtx) sortedMailboxes(filter string) []*mbox {
	var out []*mbox
	for _, mb := range rc.s.mailboxes {
		if filter == "" || strings.HasPrefix(strings.ToLower(mb.address), strings.ToLower(filter)) {
			out = append(out, mb)
		}
	}
	sortMailboxes(out)
	return out
}

func sortMailboxes(m []*mbox) {
	for i := 1; i < len(m); i++ {
		for j := i; j > 0 && m[j].address < m[j-1].address; j-- {
			m[j], m[j-1] = m[j-1], m[j]
		}
	}
}

func (rc *reqCtx) getSearchableMailboxes(op *node, x *xw) error {
	err := rc.discoveryAllowed()
	if rc.unwrapped(x, "GetSearchableMailboxesResponse", err) {
		var mbs []*mbox
		for _, mb := range rc.sortedMailboxes(op.child(nsMessages, "SearchFilter").value()) {
			mbs = append(mbs, mb)
		}
		x.start(nsMessages, "SearchableMailboxes")
		writeSearchableItems(x, mbs)
		x.end()
	}
	x.end()
	return nil
}

func (rc *reqCtx) getDiscoverySearchConfiguration(op *node, x *xw) error {
	err := rc.discoveryAllowed()
	if rc.unwrapped(x, "GetDiscoverySearchConfigurationResponse", err) {
		x.start(nsMessages, "DiscoverySearchConfigurations")
		for _, h := range rc.s.holds {
			x.start(nsTypes, "DiscoverySearchConfiguration")
			x.leaf(nsTypes, "SearchId", h.h.Name)
			x.leaf(nsTypes, "SearchQuery", h.h.Query)
			var mbs []*mbox
			for _, a := range h.mailboxes {
				if mb := rc.s.mailboxes[strings.ToLower(a)]; mb != nil {
					mbs = append(mbs, mb)
				}
			}
			writeSearchable(x, "SearchableMailboxes", mbs)
			x.leaf(nsTypes, "InPlaceHoldIdentity", h.h.ID)
			x.leaf(nsTypes, "ManagedByOrganization", "")
			x.leaf(nsTypes, "Language", "en-US")
			x.end()
		}
		x.end()
	}
	x.end()
	return nil
}

func (rc *reqCtx) getHoldOnMailboxes(op *node, x *xw) error {
	err := rc.discoveryAllowed()
	id := op.child(nsMessages, "HoldId").value()
	var found *hold
	for i := range rc.s.holds {
		if rc.s.holds[i].h.ID == id {
			found = &rc.s.holds[i]
		}
	}
	if err == nil && found == nil {
		err = errf("ErrorMailboxHoldNotFound", "The hold %s was not found.", id)
	}
	if rc.unwrapped(x, "GetHoldOnMailboxesResponse", err) {
		x.start(nsMessages, "MailboxHoldResult")
		x.leaf(nsTypes, "HoldId", found.h.ID)
		x.leaf(nsTypes, "Query", found.h.Query)
		x.start(nsTypes, "MailboxHoldStatuses")
		for _, a := range found.mailboxes {
			x.start(nsTypes, "MailboxHoldStatus")
			x.leaf(nsTypes, "Mailbox", a)
			status := found.h.Status
			if status == "" {
				status = "OnHold"
			}
			x.leaf(nsTypes, "Status", status)
			x.end()
		}
		x.end()
		x.end()
	}
	x.end()
	return nil
}
