package ewstest

import (
	"strconv"
	"strings"
)

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
		mbs := rc.sortedMailboxes(op.child(nsMessages, "SearchFilter").value())
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
