package ews

import (
	"context"
	"fmt"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// The staging folder closes the kill window of a full-fidelity write.
// UploadItems takes no stamp, so a new item is uploaded into a folder of
// the tool's own outside the IPM subtree (a child of the distinguished
// folder "root", which Outlook does not show), stamped there with an
// UpdateItem (SaveOnly, SendToNone for a calendar item), and only then
// moved into its target folder with MoveItem (ReturnNewItemIds: the move
// gives the item a new id, the one the write returns). A move sends
// nothing. So an item in a target folder is always stamped; whatever a
// killed process leaves behind lies in staging.
//
// Recovery: before a Mailbox value's first full-fidelity write (the
// writers of that Mailbox wait for it), every item in staging is deleted
// (HardDelete, SendMeetingCancellations SendToNone), each reported as a
// side write (mailbox.SideWriteDeleteIncomplete, before and after). An
// unstamped item there is a killed upload; a stamped one was killed
// between its stamp and its move: the write cannot know its target
// folder, FindBySourceID never saw it there, so it is as incomplete and
// the write happens again. A recovery that fails is tried again by the
// next write (it is done once successfully, not once at all).
//
// The assumption this rests on: one job writes into a target mailbox at
// a time. The engine's lease is per job, not per target mailbox: two jobs
// writing into one mailbox at once (two Mailbox values, or two processes)
// would each take the other's in-flight uploads in staging for leftovers
// and could delete them between their upload and their move; that write
// then fails (its stamp or move answers ErrorItemNotFound) and is done
// again, but the two jobs can starve each other. Nothing detects it.
//
// Unverified on Exchange: that CreateFolder under the non-IPM "root" is
// allowed to an impersonating account, and that MoveItem of an uploaded
// item keeps its extended properties (the stamp) and sends nothing.

// stagingName is the display name of the staging folder under "root".
const stagingName = "exmigrate staging"

// staging returns the id of the mailbox's staging folder, finding or
// creating it and clearing what earlier runs left in it on the first
// call that succeeds; concurrent callers wait for that call.
func (m *Mailbox) staging(ctx context.Context) (string, error) {
	m.stageMu.Lock()
	defer m.stageMu.Unlock()
	if m.stagingID != "" {
		return m.stagingID, nil
	}
	id, err := m.findOrCreateStaging(ctx)
	if err != nil {
		return "", fmt.Errorf("the staging folder of %s: %w", m.address, err)
	}
	if err := m.recoverStaging(ctx, id); err != nil {
		return "", fmt.Errorf("clear the staging folder of %s: %w", m.address, err)
	}
	m.stagingID = id
	return id, nil
}

// findOrCreateStaging finds the staging folder among the children of
// "root", or creates it; a creation that loses a race with another
// process (ErrorFolderExists, or any error) looks once more.
func (m *Mailbox) findOrCreateStaging(ctx context.Context) (string, error) {
	find := func() (string, error) {
		fs, err := m.c.findFolders(ctx, m.address, "root", false, false)
		if err != nil {
			return "", err
		}
		for _, f := range fs {
			if strings.EqualFold(f.DisplayName, stagingName) {
				return f.ID, nil
			}
		}
		return "", nil
	}
	id, err := find()
	if err != nil || id != "" {
		return id, err
	}
	id, cerr := m.c.createFolder(ctx, m.address, "root", stagingName, "IPF.Note")
	if cerr == nil {
		return id, nil
	}
	if id, err := find(); err == nil && id != "" {
		return id, nil
	}
	return "", cerr
}

// recoverStaging deletes every item in staging: each is the leftover of
// a write that was killed before its move (see the comment at the top).
func (m *Mailbox) recoverStaging(ctx context.Context, stagingID string) error {
	var left []mailbox.Item
	err := m.c.findItems(ctx, m.address, stagingID, nil, func(it mailbox.Item) error {
		left = append(left, it)
		return nil
	})
	if err != nil {
		return err
	}
	for _, it := range left {
		if err := m.deleteIncomplete(ctx, ctx, it.ID, it.SourceID); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}

// moveItem moves an item into folderID (MoveItem, ReturnNewItemIds) and
// returns its new id. It is not retried: a move whose answer was lost is
// done, and a second one would not find the item.
func (c *Client) moveItem(ctx context.Context, mbx, itemID, folderID string) (string, error) {
	r := c.newRequest(mbx)
	mi := r.body.CreateElement("m:MoveItem")
	c.folderRef(mi.CreateElement("m:ToFolderId"), folderID, mbx)
	mi.CreateElement("m:ItemIds").CreateElement("t:ItemId").CreateAttr("Id", itemID)
	elem(mi, "m:ReturnNewItemIds", "true")
	msgs, err := callOp[idOnlyXML](ctx, c, mbx, "MoveItem", r, false, 1)
	if err != nil {
		return "", err
	}
	if len(msgs[0].Items.Items) != 1 || msgs[0].Items.Items[0].ItemID.ID == "" {
		return "", fmt.Errorf("EWS MoveItem: no new item id in the answer")
	}
	return msgs[0].Items.Items[0].ItemID.ID, nil
}
