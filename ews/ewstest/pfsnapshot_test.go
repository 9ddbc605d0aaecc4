package ewstest_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestSnapshotKeepsPublicRoutingAndSearchKeys: a restored server answers
// the same public folder content mailbox (PR_REPLICA_LIST) and the same
// search keys, so a lab restored from a snapshot routes and fingerprints
// as before.
func TestSnapshotKeepsPublicRoutingAndSearchKeys(t *testing.T) {
	const guid = "1ec2a236-ed93-4f88-b9c6-33e63fa4aa44"
	srv := seededServer(t)
	pf := srv.PublicFolder("Board")
	pf.SetContentMailbox(guid)
	pf.AddItem(ewstest.Item{MIME: []byte("Subject: notice\r\n\r\nx"), Class: "IPM.Post"})
	list := func(srv *ewstest.Server) (string, []string) {
		t.Helper()
		url, ca := srv.StartTLS(t)
		c, err := ews.NewClient(ews.Config{URL: url, Username: `CONTOSO\svc`, Password: "pw-123", CABundlePEM: ca, Impersonation: true,
			PublicFolderMailbox: "pfmbx@contoso.com"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		box := c.Mailbox("a@contoso.com")
		fs, err := box.Folders(context.Background(), mailbox.ScopePublicFolders)
		if err != nil {
			t.Fatal(err)
		}
		var board string
		var prints []string
		for _, f := range fs {
			if f.Path == "Board" {
				board = f.ID
			}
		}
		err = box.Items(context.Background(), board, func(it mailbox.Item) error { prints = append(prints, it.Fingerprint); return nil })
		if err != nil {
			t.Fatal(err)
		}
		inbox := srv.AddMailbox("a@contoso.com").Root("inbox").ID()
		err = box.Items(context.Background(), inbox, func(it mailbox.Item) error { prints = append(prints, it.Fingerprint); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return board, prints
	}
	board, prints := list(srv)
	if !strings.HasPrefix(board, "pf:"+guid+":") || len(prints) < 2 || slices.Contains(prints, "") {
		t.Fatalf("before the snapshot: Board %q, fingerprints %q", board, prints)
	}
	got := ewstest.NewServer()
	if err := got.Restore(bytes.NewReader(snapshotOf(t, srv)), resolver(t)); err != nil {
		t.Fatal(err)
	}
	board2, prints2 := list(got)
	if board2 != board || strings.Join(prints2, ",") != strings.Join(prints, ",") {
		t.Errorf("after a restore: Board %q, fingerprints %q; want %q, %q", board2, prints2, board, prints)
	}
}
