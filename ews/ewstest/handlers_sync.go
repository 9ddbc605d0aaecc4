package ewstest

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Sync states are opaque to clients; the fake's carry the folder, the
// mailbox's epoch, the base of the current pass (changes after it are
// reported relative to it) and the cursor (last change reported).
func syncState(kind, folderID string, epoch int, base, cursor int64) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "EXMFAKE1|%s|%s|%d|%d|%d", kind, folderID, epoch, base, cursor))
}

func parseSyncState(state, kind, folderID string, epoch int) (base, cursor int64, ok bool) {
	if state == "" {
		return 0, 0, true
	}
	raw, err := base64.StdEncoding.DecodeString(state)
	if err != nil {
		return 0, 0, false
	}
	p := strings.Split(string(raw), "|")
	if len(p) != 6 || p[0] != "EXMFAKE1" || p[1] != kind || p[2] != folderID || p[3] != strconv.Itoa(epoch) {
		return 0, 0, false
	}
	base, err1 := strconv.ParseInt(p[4], 10, 64)
	cursor, err2 := strconv.ParseInt(p[5], 10, 64)
	return base, cursor, err1 == nil && err2 == nil && base <= cursor
}

func (rc *reqCtx) syncFolderItems(op *node, x *xw) error {
	sh := parseShape(op.child(nsMessages, "ItemShape"), true)
	f, err := rc.folderByRef(op.child(nsMessages, "SyncFolderId").children[0])
	if err == nil {
		err = sh.invalidErr()
	}
	if err == nil && f.mb == nil {
		err = errf("ErrorInvalidOperation", "Sync is not supported for public folders.")
	}
	max, _ := strconv.Atoi(op.child(nsMessages, "MaxChangesReturned").value())
	var base, cursor int64
	if err == nil {
		var ok bool
		if base, cursor, ok = parseSyncState(op.child(nsMessages, "SyncState").value(), "I", f.id, f.mb.syncEpoch); !ok {
			err = errf("ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid.")
		}
	}
	x.start(nsMessages, "SyncFolderItemsResponse")
	x.start(nsMessages, "ResponseMessages")
	if rc.msgStart(x, "SyncFolderItemsResponseMessage", err) {
		type change struct {
			seq  int64
			kind string
			it   *item
			id   string
		}
		var changes []change
		for _, it := range f.items {
			key := max64(it.created, it.updated, it.readChanged)
			if key <= cursor {
				continue
			}
			switch {
			case it.created > base:
				changes = append(changes, change{key, "Create", it, it.id})
			case it.updated > base:
				changes = append(changes, change{key, "Update", it, it.id})
			case it.readChanged > base:
				changes = append(changes, change{key, "ReadFlagChange", it, it.id})
			}
		}
		for _, t := range f.tombs {
			if t.seq > cursor && t.created <= base {
				changes = append(changes, change{t.seq, "Delete", nil, t.id})
			}
		}
		sort.Slice(changes, func(i, j int) bool { return changes[i].seq < changes[j].seq })
		last := len(changes) <= max
		if !last {
			changes = changes[:max]
		}
		newBase, newCursor := base, cursor
		if len(changes) > 0 {
			newCursor = changes[len(changes)-1].seq
		}
		if last {
			newBase, newCursor = rc.s.seq, rc.s.seq
		}
		x.leaf(nsMessages, "SyncState", syncState("I", f.id, f.mb.syncEpoch, newBase, newCursor))
		x.leaf(nsMessages, "IncludesLastItemInRange", strconv.FormatBool(last))
		x.start(nsMessages, "Changes")
		for _, c := range changes {
			x.start(nsTypes, c.kind)
			switch c.kind {
			case "Create", "Update":
				rc.writeItem(x, c.it, sh, nil)
			case "Delete":
				x.empty(nsTypes, "ItemId", "Id", c.id)
			case "ReadFlagChange":
				x.empty(nsTypes, "ItemId", "Id", c.id, "ChangeKey", c.it.changeKey())
				x.leaf(nsTypes, "IsRead", strconv.FormatBool(c.it.isRead))
			}
			x.end()
		}
		x.end()
	} else {
		// As syncfolderitems-operation.md's error example.
		x.empty(nsMessages, "SyncState")
		x.leaf(nsMessages, "IncludesLastItemInRange", "true")
	}
	x.end()
	x.end()
	x.end()
	return nil
}

func max64(v ...int64) int64 {
	m := v[0]
	for _, x := range v[1:] {
		m = max(m, x)
	}
	return m
}
