package ews

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

type folderXML struct {
	XMLName          xml.Name
	AttrID           string       `xml:"Id,attr"` // when the element is a bare FolderId (sync Delete)
	FolderID         idXML        `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderId"`
	ParentFolderID   idXML        `xml:"http://schemas.microsoft.com/exchange/services/2006/types ParentFolderId"`
	FolderClass      string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types FolderClass"`
	DisplayName      string       `xml:"http://schemas.microsoft.com/exchange/services/2006/types DisplayName"`
	TotalCount       int64        `xml:"http://schemas.microsoft.com/exchange/services/2006/types TotalCount"`
	ChildFolderCount int64        `xml:"http://schemas.microsoft.com/exchange/services/2006/types ChildFolderCount"`
	ExtendedProperty []extPropXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedProperty"`
}

func (f *folderXML) folder() mailbox.Folder {
	out := mailbox.Folder{
		ID: f.FolderID.ID, ParentID: f.ParentFolderID.ID, DisplayName: f.DisplayName,
		Class: f.FolderClass, ItemCount: f.TotalCount, ChildCount: f.ChildFolderCount,
	}
	for _, p := range f.ExtendedProperty {
		switch p.tag() {
		case 0x0E08:
			out.SizeBytes, _ = strconv.ParseInt(strings.TrimSpace(p.Value), 10, 64)
		case 0x10F4:
			out.Hidden = strings.TrimSpace(p.Value) == "true"
		}
	}
	return out
}

// foldersXML holds any folder element (Folder, CalendarFolder, SearchFolder ...).
type foldersXML struct {
	Folders []folderXML `xml:",any"`
}

// --- GetFolder ---

type getFolderResponse struct {
	Messages []struct {
		responseMessage
		Folders foldersXML `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Folders"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>GetFolderResponseMessage"`
}

// folderResult is one entry of a batch: per-item errors stay per item.
type folderResult struct {
	Folder mailbox.Folder
	Err    error
}

func (c *Client) getFolders(ctx context.Context, mbx string, ids []string) ([]folderResult, error) {
	return c.getFoldersShaped(ctx, mbx, ids, false)
}

// getFolderIDs resolves folder ids (distinguished names among them) to
// the folders' ids alone: the IdOnly shape, a fifth of the answer
// getFolders asks for, when the caller needs nothing else.
func (c *Client) getFolderIDs(ctx context.Context, mbx string, ids []string) ([]folderResult, error) {
	return c.getFoldersShaped(ctx, mbx, ids, true)
}

func (c *Client) getFoldersShaped(ctx context.Context, mbx string, ids []string, idOnly bool) ([]folderResult, error) {
	r := c.newRequest(mbx)
	gf := r.body.CreateElement("m:GetFolder")
	if idOnly {
		elem(gf.CreateElement("m:FolderShape"), "t:BaseShape", "IdOnly")
	} else {
		folderShape(gf)
	}
	fids := gf.CreateElement("m:FolderIds")
	for _, id := range ids {
		c.folderRef(fids, id, mbx)
	}
	var resp getFolderResponse
	err := c.do(ctx, call{op: "GetFolder", anchor: mbx, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "GetFolder", st, &resp); err != nil {
			return err
		}
		return batchThrottle(resp.Messages, func(i int) *responseMessage { return &resp.Messages[i].responseMessage }, "GetFolder")
	})
	if err != nil {
		return nil, err
	}
	if len(resp.Messages) != len(ids) {
		return nil, fmt.Errorf("EWS GetFolder: %d answers for %d folder ids", len(resp.Messages), len(ids))
	}
	out := make([]folderResult, len(ids))
	for i := range resp.Messages {
		m := &resp.Messages[i]
		if err := m.err("GetFolder", i); err != nil {
			out[i].Err = err
			continue
		}
		if len(m.Folders.Folders) == 0 {
			out[i].Err = fmt.Errorf("EWS GetFolder: no folder in answer %d", i)
			continue
		}
		out[i].Folder = m.Folders.Folders[0].folder()
	}
	return out, nil
}

func (c *Client) getFolder(ctx context.Context, mbx, id string) (mailbox.Folder, error) {
	res, err := c.getFolders(ctx, mbx, []string{id})
	if err != nil {
		return mailbox.Folder{}, err
	}
	return res[0].Folder, res[0].Err
}

// --- FindFolder ---

type findFolderResponse struct {
	Messages []struct {
		responseMessage
		RootFolder struct {
			rootFolderXML
			Folders foldersXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Folders"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages RootFolder"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>FindFolderResponseMessage"`
}

// findFolders pages through FindFolder below parentID.
func (c *Client) findFolders(ctx context.Context, mbx, parentID string, deep bool, public bool) ([]mailbox.Folder, error) {
	var out []mailbox.Folder
	err := c.findFolderXML(ctx, mbx, parentID, deep, public, func(x *folderXML) { out = append(out, x.folder()) })
	return out, err
}

// findFolderXML pages through FindFolder below parentID, calling fn with
// each folder as answered. A public folder request (public) is a
// hierarchy request: it goes to the hierarchy mailbox, and asks for each
// folder's PR_REPLICA_LIST, which names its content mailbox.
func (c *Client) findFolderXML(ctx context.Context, mbx, parentID string, deep bool, public bool, fn func(*folderXML)) error {
	offset := 0
	cl := call{op: "FindFolder", anchor: mbx, idempotent: true}
	imp := mbx
	if public {
		cl.anchor, cl.publicMbx, imp = c.cfg.PublicFolderMailbox, c.cfg.PublicFolderMailbox, ""
	}
	for {
		r := c.newRequest(imp)
		ff := r.body.CreateElement("m:FindFolder")
		if deep {
			ff.CreateAttr("Traversal", "Deep")
		} else {
			ff.CreateAttr("Traversal", "Shallow")
		}
		ap := folderShape(ff)
		if public {
			extTag(ap, "0x6698", "Binary") // PR_REPLICA_LIST (how-to-route-public-folder-content-requests)
		}
		view := ff.CreateElement("m:IndexedPageFolderView")
		view.CreateAttr("MaxEntriesReturned", strconv.Itoa(pageSize))
		view.CreateAttr("Offset", strconv.Itoa(offset))
		view.CreateAttr("BasePoint", "Beginning")
		c.folderRef(ff.CreateElement("m:ParentFolderIds"), parentID, mbx)
		cl.body = r.bytes()
		var resp findFolderResponse
		err := c.do(ctx, cl, func(rd io.Reader, st int) error {
			if err := decodeResponse(rd, "FindFolder", st, &resp); err != nil {
				return err
			}
			if len(resp.Messages) != 1 {
				return fmt.Errorf("EWS FindFolder: %d answers for one parent", len(resp.Messages))
			}
			return resp.Messages[0].err("FindFolder", -1)
		})
		if err != nil {
			return err
		}
		rf := resp.Messages[0].RootFolder
		for i := range rf.Folders.Folders {
			fn(&rf.Folders.Folders[i])
		}
		if rf.IncludesLastItemInRange || len(rf.Folders.Folders) == 0 {
			return nil
		}
		next := rf.IndexedPagingOffset
		if next <= offset {
			next = offset + len(rf.Folders.Folders)
		}
		offset = next
	}
}

// --- CreateFolder ---

type createFolderResponse struct {
	Messages []struct {
		responseMessage
		Folders foldersXML `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Folders"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>CreateFolderResponseMessage"`
}

func (c *Client) createFolder(ctx context.Context, mbx, parentID, name, class string) (string, error) {
	r := c.newRequest(mbx)
	cf := r.body.CreateElement("m:CreateFolder")
	c.folderRef(cf.CreateElement("m:ParentFolderId"), parentID, mbx)
	f := cf.CreateElement("m:Folders").CreateElement("t:Folder")
	if class != "" {
		elem(f, "t:FolderClass", class) // FolderClass precedes DisplayName in FolderType
	}
	elem(f, "t:DisplayName", name)
	var resp createFolderResponse
	err := c.do(ctx, call{op: "CreateFolder", anchor: mbx, body: r.bytes()}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "CreateFolder", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS CreateFolder: %d answers for one folder", len(resp.Messages))
		}
		return resp.Messages[0].err("CreateFolder", -1)
	})
	if err != nil {
		return "", err
	}
	if len(resp.Messages[0].Folders.Folders) == 0 {
		return "", fmt.Errorf("EWS CreateFolder: no folder id in the answer")
	}
	return resp.Messages[0].Folders.Folders[0].FolderID.ID, nil
}

// --- SyncFolderHierarchy ---

// HierarchyChange is one folder change of SyncFolderHierarchy.
type HierarchyChange struct {
	Kind   mailbox.ChangeKind // created, updated, deleted
	Folder mailbox.Folder     // only ID for deletions
}

// HierarchyPage is one round of SyncFolderHierarchy.
type HierarchyPage struct {
	Changes []HierarchyChange
	State   string
	More    bool
}

type syncHierarchyResponse struct {
	Messages []struct {
		responseMessage
		SyncState                 string `xml:"http://schemas.microsoft.com/exchange/services/2006/messages SyncState"`
		IncludesLastFolderInRange bool   `xml:"http://schemas.microsoft.com/exchange/services/2006/messages IncludesLastFolderInRange"`
		Changes                   struct {
			Entries []struct {
				XMLName xml.Name
				Folders []folderXML `xml:",any"`
			} `xml:",any"`
		} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages Changes"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/messages ResponseMessages>SyncFolderHierarchyResponseMessage"`
}

func (c *Client) syncHierarchy(ctx context.Context, mbx, rootID, state string) (HierarchyPage, error) {
	r := c.newRequest(mbx)
	sf := r.body.CreateElement("m:SyncFolderHierarchy")
	folderShape(sf)
	if rootID != "" {
		c.folderRef(sf.CreateElement("m:SyncFolderId"), rootID, mbx)
	}
	if state != "" {
		elem(sf, "m:SyncState", state)
	}
	var resp syncHierarchyResponse
	err := c.do(ctx, call{op: "SyncFolderHierarchy", anchor: mbx, body: r.bytes(), idempotent: true}, func(rd io.Reader, st int) error {
		if err := decodeResponse(rd, "SyncFolderHierarchy", st, &resp); err != nil {
			return err
		}
		if len(resp.Messages) != 1 {
			return fmt.Errorf("EWS SyncFolderHierarchy: %d answers", len(resp.Messages))
		}
		return resp.Messages[0].err("SyncFolderHierarchy", -1)
	})
	if err != nil {
		return HierarchyPage{}, err
	}
	m := &resp.Messages[0]
	page := HierarchyPage{State: m.SyncState, More: !m.IncludesLastFolderInRange}
	for _, ch := range m.Changes.Entries {
		var hc HierarchyChange
		switch ch.XMLName.Local {
		case "Create":
			hc.Kind = mailbox.ChangeCreated
		case "Update":
			hc.Kind = mailbox.ChangeUpdated
		case "Delete":
			hc.Kind = mailbox.ChangeDeleted
		default:
			continue
		}
		for i := range ch.Folders {
			x := &ch.Folders[i]
			if x.XMLName.Local == "FolderId" {
				hc.Folder.ID = x.AttrID
				continue
			}
			hc.Folder = x.folder()
		}
		page.Changes = append(page.Changes, hc)
	}
	return page, nil
}
