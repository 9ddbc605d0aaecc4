package main

import (
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/lab"
)

// TestCopyPublicFoldersIntoExchangeOnline: Graph has no public folder API,
// so copy --public-folders into the cloud writes nothing there and says
// how the tree gets to Exchange Online instead; the mailboxes are copied
// as without the flag.
func TestCopyPublicFoldersIntoExchangeOnline(t *testing.T) {
	l, _ := startSmallLab(t, lab.Options{})
	writes := l.Graph.Writes()
	code, out, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV, "--public-folders", "--stores", "primary")
	if code != 0 && code != ExitSkipped {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "public folders (onprem)") || !strings.Contains(out, "public folder migration batch") {
		t.Errorf("the summary does not report the public folders with their remedy:\n%s", out)
	}
	if l.Graph.Writes() == writes {
		t.Error("the mailboxes were not copied")
	}
}
