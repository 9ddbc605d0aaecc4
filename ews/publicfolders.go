package ews

import (
	"context"
	"fmt"
	"io"

	"github.com/exmigrate/exmigrate/mailbox"
)

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
