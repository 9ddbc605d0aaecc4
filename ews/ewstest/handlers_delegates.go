package ewstest

import (
	"strconv"
	"strings"
)

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
