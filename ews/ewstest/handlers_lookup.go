package ewstest

import (
	"strings"
)

// --- access and lookup ---

func (rc *reqCtx) access(mb *mbox, public bool) error {
	if mb == nil {
		if !public {
			return errf("ErrorFolderNotFound", "The specified folder could not be found in the store.")
		}
		if rc.r.Header.Get("X-PublicFolderMailbox") == "" || rc.r.Header.Get("X-AnchorMailbox") == "" {
			return errf("ErrorNoPublicFolderReplicaAvailable", "Public folder requests need the X-AnchorMailbox and X-PublicFolderMailbox headers.")
		}
		return nil
	}
	if rc.imp != nil {
		if rc.imp != mb {
			return errf("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
		}
	} else if !rc.acct.fullAccess[strings.ToLower(mb.address)] && !strings.EqualFold(rc.acct.mailbox, mb.address) {
		return errf("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
	}
	if mb.moving {
		return errf("ErrorMailboxMoveInProgress", "The mailbox is being moved.")
	}
	return nil
}

// mailboxFor resolves the mailbox a request addresses: an explicit one, the
// impersonated one, or the account's own.
func (rc *reqCtx) mailboxFor(explicit string) (*mbox, error) {
	addr := explicit
	if addr == "" && rc.imp != nil {
		return rc.imp, nil
	}
	if addr == "" {
		addr = rc.acct.mailbox
	}
	mb := rc.s.mailboxes[strings.ToLower(addr)]
	if mb == nil {
		return nil, errf("ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it: %s", addr)
	}
	return mb, nil
}

func (rc *reqCtx) folderByRef(ref *node) (*folder, error) {
	s := rc.s
	switch {
	case ref.is(nsTypes, "FolderId"):
		f := s.folders[ref.attr("Id")]
		if f == nil {
			return nil, errf("ErrorFolderNotFound", "The specified folder could not be found in the store.")
		}
		if err := rc.access(f.mb, f.mb == nil); err != nil {
			return nil, err
		}
		rc.checkRoute(f)
		return f, nil
	case ref.is(nsTypes, "DistinguishedFolderId"):
		id := ref.attr("Id")
		if id == "publicfoldersroot" {
			if err := rc.access(nil, true); err != nil {
				return nil, err
			}
			return s.publicRoot, nil
		}
		mb, err := rc.mailboxFor(ref.child(nsTypes, "Mailbox").child(nsTypes, "EmailAddress").value())
		if err != nil {
			return nil, err
		}
		if err := rc.access(mb, false); err != nil {
			return nil, err
		}
		f := mb.roots[id]
		if f == nil {
			return nil, errf("ErrorFolderNotFound", "The specified folder could not be found in the store.")
		}
		return f, nil
	}
	return nil, errf("ErrorInvalidIdMalformed", "Id is malformed.")
}

func (rc *reqCtx) itemByID(id string) (*item, error) {
	it := rc.s.items[id]
	if it == nil {
		return nil, errf("ErrorItemNotFound", "The specified object was not found in the store.")
	}
	if err := rc.access(it.f.mb, it.f.mb == nil); err != nil {
		return nil, err
	}
	rc.checkRoute(it.f)
	return it, nil
}

// hierarchyOps are the public folder hierarchy requests
// (public-folder-access-with-ews-in-exchange, "Routing public folder
// requests"): they go to the hierarchy mailbox; every other request about
// a public folder or its items is a content request.
var hierarchyOps = map[string]bool{"CreateFolder": true, "FindFolder": true, "DeleteFolder": true, "UpdateFolder": true, "MoveFolder": true}

// checkRoute counts a content request about a public folder with a
// content mailbox whose routing headers do not both name that mailbox
// (its GUID, at any domain). Exchange documents that such requests must
// name it, not what it answers when they do not, so the fake serves them
// and counts them (PublicFolderRouteMisses).
func (rc *reqCtx) checkRoute(f *folder) {
	if f.mb != nil || f.replica == "" || hierarchyOps[rc.op] {
		return
	}
	for _, h := range []string{"X-AnchorMailbox", "X-PublicFolderMailbox"} {
		local, _, _ := strings.Cut(rc.r.Header.Get(h), "@")
		if !strings.EqualFold(local, f.replica) {
			rc.s.routeMisses.Add(1)
			return
		}
	}
}

func (rc *reqCtx) targetMailbox(addr string) (*mbox, error) {
	mb, err := rc.mailboxFor(addr)
	if err == nil {
		err = rc.access(mb, false)
	}
	return mb, err
}
