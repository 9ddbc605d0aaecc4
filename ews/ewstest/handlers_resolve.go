package ewstest

import (
	"sort"
	"strconv"
	"strings"
)

func (rc *reqCtx) resolveNames(op *node, x *xw) error {
	q := strings.ToLower(op.child(nsMessages, "UnresolvedEntry").value())
	q = strings.TrimPrefix(q, "smtp:")
	var hits []*mbox
	for _, mb := range rc.s.mailboxes {
		a := strings.ToLower(mb.address)
		local, _, _ := strings.Cut(a, "@")
		if a == q || (q != "" && (strings.HasPrefix(local, q) || strings.HasPrefix(strings.ToLower(mb.display), q))) {
			hits = append(hits, mb)
		}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].address < hits[j].address })
	var err error
	switch {
	case len(hits) == 0:
		err = errf("ErrorNameResolutionNoResults", "No results were found.")
	case len(hits) > 1:
		err = errf("ErrorNameResolutionMultipleResults", "Multiple results were found.")
	}
	x.start(nsMessages, "ResolveNamesResponse")
	x.start(nsMessages, "ResponseMessages")
	ok := rc.msgStart(x, "ResolveNamesResponseMessage", err)
	if ok || len(hits) > 1 {
		x.start(nsMessages, "ResolutionSet", "TotalItemsInView", strconv.Itoa(len(hits)), "IncludesLastItemInRange", "true")
		for _, mb := range hits {
			x.start(nsTypes, "Resolution")
			x.start(nsTypes, "Mailbox")
			x.leaf(nsTypes, "Name", mb.display)
			x.leaf(nsTypes, "EmailAddress", mb.address)
			x.leaf(nsTypes, "RoutingType", "SMTP")
			x.leaf(nsTypes, "MailboxType", mb.typ)
			x.end()
			x.end()
		}
		x.end()
	}
	x.end()
	x.end()
	x.end()
	return nil
}
