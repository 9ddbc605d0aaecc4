package assessment_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mapping"
	"github.com/exmigrate/exmigrate/reports"
)

// TestPublicFolderHierarchyLimit builds a public folder tree one folder
// over the 250,000 a public folder migration supports, reads it through the
// EWS client and expects the blocker; the same tree as read, less one leaf,
// is at the limit and gives none. mapping.AssessPublicFolders takes no
// Limits, so the threshold cannot be lowered: this is the real size (about
// 15 s and 400 MB).
func TestPublicFolderHierarchyLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 250,001 public folders")
	}
	e := startEnv(t, emptyScenario(lab.PublicFolderSpec{Path: "Seed", Items: 1}))
	// "Seed" + 500 parents + 500*499 children: 250,001 folders.
	const parents, children = 500, 499
	for p := range parents {
		for c := range children {
			e.lab.EWS.PublicFolder(fmt.Sprintf("P%03d/C%03d", p, c))
		}
	}
	ctx := context.Background()
	tree, err := e.sides.EWS.PublicFolders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	over, err := (&dispatch.Assessor{}).Assess(ctx, nil, tree, nil)
	if err != nil {
		t.Fatal(err)
	}
	if over.PublicFolders == nil || over.PublicFolders.Folders != mapping.PublicFolderHierarchyMax+1 {
		t.Fatalf("public folders %+v, want %d folders", over.PublicFolders, mapping.PublicFolderHierarchyMax+1)
	}
	f := findings(over, mapping.CodePublicFolderHierarchyLimit, "")
	if len(f) != 1 || f[0].Severity != reports.SeverityBlocker || f[0].Object != "Public Folders" || f[0].Mailbox != "" {
		t.Errorf("over the limit: %+v, want one blocker for the organisation's public folders", f)
	}
	// The last folder listed is a leaf (children come after their parents).
	at, err := (&dispatch.Assessor{}).Assess(ctx, nil, tree[:len(tree)-1], nil)
	if err != nil {
		t.Fatal(err)
	}
	if at.PublicFolders.Folders != mapping.PublicFolderHierarchyMax {
		t.Fatalf("%d folders, want %d", at.PublicFolders.Folders, mapping.PublicFolderHierarchyMax)
	}
	if f := findings(at, mapping.CodePublicFolderHierarchyLimit, ""); len(f) != 0 {
		t.Errorf("at the limit: %+v, want no hierarchy finding", f)
	}
	t.Logf("EWS requests to read the tree: FindFolder %d, GetFolder %d", e.lab.EWS.Requests("FindFolder"), e.lab.EWS.Requests("GetFolder"))
}
