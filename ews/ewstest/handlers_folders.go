package ewstest

import (
	"strconv"
	"strings"
)

func (rc *reqCtx) getFolder(op *node, x *xw) error {
	sh := parseShape(op.child(nsMessages, "FolderShape"), false)
	x.start(nsMessages, "GetFolderResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, ref := range op.child(nsMessages, "FolderIds").children {
		f, err := rc.folderByRef(ref)
		if err == nil {
			err = sh.invalidErr()
		}
		if err == nil && f.permErr != "" && sh.fields["folder:PermissionSet"] {
			err = errf(f.permErr, "Injected by the test for the permission set of folder %q.", f.name)
		}
		if rc.msgStart(x, "GetFolderResponseMessage", err) {
			x.start(nsMessages, "Folders")
			rc.writeFolder(x, f, sh)
			x.end()
		} else {
			x.empty(nsMessages, "Folders") // as getfolder-operation.md's error example
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
}

func (rc *reqCtx) findFolder(op *node, x *xw) error {
	sh := parseShape(op.child(nsMessages, "FolderShape"), false)
	deep := op.attr("Traversal") == "Deep"
	x.start(nsMessages, "FindFolderResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, ref := range op.child(nsMessages, "ParentFolderIds").children {
		f, err := rc.folderByRef(ref)
		if err == nil {
			err = sh.invalidErr()
		}
		if err == nil && deep && f.mb == nil {
			err = errf("ErrorInvalidOperation", "Deep traversal is not supported for public folders.")
		}
		if err == nil && op.child(nsMessages, "Restriction") != nil {
			err = errf("ErrorUnsupportedPathForQuery", "The fake does not evaluate folder restrictions.")
		}
		if rc.msgStart(x, "FindFolderResponseMessage", err) {
			var list []*folder
			if deep {
				list = descendants(f)
			} else {
				list = append(list, f.children...)
			}
			offset, n := rc.page(op.child(nsMessages, "IndexedPageFolderView"), len(list), rc.s.pageLimit)
			x.start(nsMessages, "RootFolder", writeRootAttrs(offset, n, len(list))...)
			x.start(nsTypes, "Folders")
			for _, c := range list[offset : offset+n] {
				rc.writeFolder(x, c, sh)
			}
			x.end()
			x.end()
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
}

func (rc *reqCtx) createFolder(op *node, x *xw) error {
	parent, perr := rc.folderByRef(op.child(nsMessages, "ParentFolderId").children[0])
	x.start(nsMessages, "CreateFolderResponse")
	x.start(nsMessages, "ResponseMessages")
	for _, fn := range op.child(nsMessages, "Folders").children {
		err := perr
		if err == nil {
			err = rc.injected()
		}
		name := fn.child(nsTypes, "DisplayName").value()
		if err == nil && name == "" {
			err = errf("ErrorInvalidFolderId", "A folder needs a display name.")
		}
		if err == nil {
			for _, c := range parent.children {
				if strings.EqualFold(c.name, name) {
					err = errf("ErrorFolderExists", "A folder with the specified name already exists.")
				}
			}
		}
		var f *folder
		if err == nil {
			class := fn.child(nsTypes, "FolderClass").value()
			if class == "" {
				switch fn.name.Local {
				case "CalendarFolder":
					class = "IPF.Appointment"
				case "ContactsFolder":
					class = "IPF.Contact"
				case "TasksFolder":
					class = "IPF.Task"
				default:
					class = "IPF.Note"
				}
			}
			f = rc.s.newFolder(parent.mb, parent, name, class, "")
			f.replica = parent.replica // the fake keeps a new public folder's content with its parent's
			rc.s.writes.Add(1)
		}
		if rc.msgStart(x, "CreateFolderResponseMessage", err) {
			x.start(nsMessages, "Folders")
			x.start(nsTypes, folderElement(f.class))
			x.empty(nsTypes, "FolderId", "Id", f.id, "ChangeKey", "AQAAABYAAA"+strconv.FormatInt(f.updated, 10))
			x.end()
			x.end()
		} else {
			x.empty(nsMessages, "Folders") // as createfolder-operation.md's error example
		}
		x.end()
	}
	x.end()
	x.end()
	return nil
}

func (rc *reqCtx) syncFolderHierarchy(op *node, x *xw) error {
	sh := parseShape(op.child(nsMessages, "FolderShape"), false)
	var root *folder
	var err error
	if sf := op.child(nsMessages, "SyncFolderId"); sf != nil {
		root, err = rc.folderByRef(sf.children[0])
	} else {
		var mb *mbox
		if mb, err = rc.mailboxFor(""); err == nil {
			if err = rc.access(mb, false); err == nil {
				root = mb.roots["root"]
			}
		}
	}
	if err == nil {
		err = sh.invalidErr()
	}
	if err == nil && root.mb == nil {
		err = errf("ErrorInvalidOperation", "SyncFolderHierarchy is not supported for public folders.")
	}
	var since int64
	if err == nil {
		var ok bool
		if _, since, ok = parseSyncState(op.child(nsMessages, "SyncState").value(), "H", root.id, root.mb.syncEpoch); !ok {
			err = errf("ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid.")
		}
	}
	x.start(nsMessages, "SyncFolderHierarchyResponse")
	x.start(nsMessages, "ResponseMessages")
	if rc.msgStart(x, "SyncFolderHierarchyResponseMessage", err) {
		x.leaf(nsMessages, "SyncState", syncState("H", root.id, root.mb.syncEpoch, rc.s.seq, rc.s.seq))
		x.leaf(nsMessages, "IncludesLastFolderInRange", "true")
		x.start(nsMessages, "Changes")
		for _, f := range descendants(root) {
			kind := ""
			switch {
			case f.created > since:
				kind = "Create"
			case f.updated > since:
				kind = "Update"
			}
			if kind != "" {
				x.start(nsTypes, kind)
				rc.writeFolder(x, f, sh)
				x.end()
			}
		}
		x.end()
	} else {
		// As syncfolderhierarchy-operation.md's error example.
		x.empty(nsMessages, "SyncState")
		x.leaf(nsMessages, "IncludesLastFolderInRange", "true")
	}
	x.end()
	x.end()
	x.end()
	return nil
}
