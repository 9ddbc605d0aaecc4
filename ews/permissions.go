package ews

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/exmigrate/exmigrate/mailbox"
)

// MaxPermissionBatch is how many folders FolderPermissions asks for in one
// GetFolder. A permission set is small (a handful of entries), so 100
// folders keep an answer well under a megabyte while a mailbox of a few
// hundred folders costs a few requests.
const MaxPermissionBatch = 100

var _ mailbox.FolderPermissionReader = (*Mailbox)(nil)

// permUserXML is UserIdType.
type permUserXML struct {
	SID                  string `xml:"http://schemas.microsoft.com/exchange/services/2006/types SID"`
	PrimarySmtpAddress   string `xml:"http://schemas.microsoft.com/exchange/services/2006/types PrimarySmtpAddress"`
	DisplayName          string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DisplayName"`
	DistinguishedUser    string `xml:"http://schemas.microsoft.com/exchange/services/2006/types DistinguishedUser"`
	ExternalUserIdentity string `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExternalUserIdentity"`
}

// name is how the assessment names the holder: the SMTP address, else
// Default or Anonymous, else the display name (an unresolved SID shows as
// "NT User:S-1-5-..."), else whatever identifies it.
func (u permUserXML) name() string {
	for _, s := range []string{u.PrimarySmtpAddress, u.DistinguishedUser, u.DisplayName, u.ExternalUserIdentity, u.SID} {
		if s != "" {
			return s
		}
	}
	return ""
}

// permXML is PermissionType or CalendarPermissionType; only the holder
// and the level are read (the individual rights follow from the level,
// except for Custom, which the assessment reports as such).
type permXML struct {
	UserID                  permUserXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types UserId"`
	PermissionLevel         string      `xml:"http://schemas.microsoft.com/exchange/services/2006/types PermissionLevel"`
	CalendarPermissionLevel string      `xml:"http://schemas.microsoft.com/exchange/services/2006/types CalendarPermissionLevel"`
}

// permFolderXML is any folder element with its PermissionSet (a
// PermissionSetType, or a CalendarPermissionSetType on a CalendarFolder).
type permFolderXML struct {
	FolderID      idXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderId"`
	PermissionSet struct {
		Permissions         []permXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Permissions>Permission"`
		CalendarPermissions []permXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types CalendarPermissions>CalendarPermission"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types PermissionSet"`
}

type getFolderPermsResponse struct {
	Messages []struct {
		responseMessage
		Folders struct {
			Folders []permFolderXML `xml:",any"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Folders"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>GetFolderResponseMessage"`
}

// permEntry is one holder and level of a folder's permission set.
type permEntry struct{ user, level string }

type permResult struct {
	perms []permEntry
	err   error
}

// getPermissions reads the permission sets of the folders ids with one
// GetFolder; a folder that failed keeps its own error.
func (c *Client) getPermissions(ctx context.Context, mbx string, ids []string) ([]permResult, error) {
	r := c.newRequest(mbx)
	gf := r.body.CreateElement("m:GetFolder")
	fs := gf.CreateElement("m:FolderShape")
	elem(fs, "t:BaseShape", "IdOnly")
	fieldURI(fs.CreateElement("t:AdditionalProperties"), "folder:PermissionSet")
	fids := gf.CreateElement("m:FolderIds")
	for _, id := range ids {
		c.folderRef(fids, id, mbx)
	}
	var resp getFolderPermsResponse
	err := c.do(ctx, call{op: "GetFolder", anchor: mbx, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		resp = getFolderPermsResponse{} // a retried answer must not append to the last one
		if err := decodeResponse(rd, "GetFolder", st, &resp); err != nil {
			return err
		}
		return batchThrottle(resp.Messages, func(i int) *responseMessage { return &resp.Messages[i].responseMessage }, "GetFolder")
	})
	if err != nil {
		return nil, err
	}
	return resp.results(len(ids))
}

// results turns the answer to a GetFolder of n folders into one result per
// folder, in request order.
func (resp *getFolderPermsResponse) results(n int) ([]permResult, error) {
	if len(resp.Messages) != n {
		return nil, fmt.Errorf("EWS GetFolder: %d answers for %d folder ids", len(resp.Messages), n)
	}
	out := make([]permResult, n)
	for i := range resp.Messages {
		m := &resp.Messages[i]
		if err := m.err("GetFolder", i); err != nil {
			out[i].err = err
			continue
		}
		if len(m.Folders.Folders) == 0 {
			out[i].err = fmt.Errorf("EWS GetFolder: no folder in answer %d", i)
			continue
		}
		ps := &m.Folders.Folders[0].PermissionSet
		for _, p := range ps.Permissions {
			out[i].perms = append(out[i].perms, permEntry{p.UserID.name(), p.PermissionLevel})
		}
		for _, p := range ps.CalendarPermissions {
			out[i].perms = append(out[i].perms, permEntry{p.UserID.name(), p.CalendarPermissionLevel})
		}
	}
	return out, nil
}

// FolderPermissions reads the permission set of every folder of the
// primary tree except its root (Top of Information Store, which holds
// only the folder-visible right delegates need to navigate), with one
// GetFolder per MaxPermissionBatch folders. It reuses the tree of the last
// Folders(ScopePrimary) call of this Mailbox when there is one, as an
// assessment lists the tree just before. Every entry is returned,
// Default and Anonymous at None included; the caller decides what matters.
//
// A folder whose set cannot be read (deleted meanwhile, access denied) is
// skipped and logged; the call fails only when no folder could be read.
func (m *Mailbox) FolderPermissions(ctx context.Context) ([]mailbox.FolderPermission, error) {
	m.mu.Lock()
	folders := m.primary
	m.mu.Unlock()
	if folders == nil {
		var err error
		if folders, err = m.Folders(ctx, mailbox.ScopePrimary); err != nil {
			return nil, fmt.Errorf("folder permissions of %s: %w", m.address, err)
		}
	}
	var todo []mailbox.Folder
	for _, f := range folders {
		if f.Path != "" { // the root
			todo = append(todo, f)
		}
	}
	var out []mailbox.FolderPermission
	var failed []error
	read := 0
	for len(todo) > 0 {
		n := min(len(todo), MaxPermissionBatch)
		batch := todo[:n]
		todo = todo[n:]
		ids := make([]string, n)
		for i, f := range batch {
			ids[i] = f.ID
		}
		res, err := m.c.getPermissions(ctx, m.address, ids)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("folder permissions of %s: %w", m.address, err)
			}
			m.c.log.WarnContext(ctx, "ews: folder permissions of a batch of folders unreadable", "mailbox", m.address, "folders", n, "err", err)
			failed = append(failed, fmt.Errorf("%d folders from %q: %w", n, batch[0].Path, err))
			continue
		}
		for i, r := range res {
			if r.err != nil {
				m.c.log.WarnContext(ctx, "ews: folder permissions unreadable, folder skipped", "mailbox", m.address, "folder", batch[i].Path, "err", r.err)
				failed = append(failed, fmt.Errorf("folder %q: %w", batch[i].Path, r.err))
				continue
			}
			read++
			for _, p := range r.perms {
				out = append(out, mailbox.FolderPermission{Folder: batch[i].Path, User: p.user, Level: p.level})
			}
		}
	}
	if read == 0 && len(failed) > 0 {
		return nil, fmt.Errorf("folder permissions of %s: no folder's permissions could be read: %w", m.address, errors.Join(failed...))
	}
	return out, nil
}
