package e2e

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

const dryRunScenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 3
mailboxes:
  - address: dora@contoso.com
    location: onprem
    folders: {Inbox: 40, Inbox/Projects: 12, Inbox/Projects/2024: 6, Customers/Europe: 9, Sent Items: 5}
    non_mail_items: {Calendar: 3, Contacts: 2}
    large_items:
      - {folder: Customers/Europe, size: 5MB}
  - address: dirk@contoso.com
    location: onprem
    folders: {Inbox: 7, Old Stuff: 3}
`

// TestDryRunWritesNothing plans the copy of two mailboxes, in-process and
// through `exmigrate copy --dry-run`, and checks that neither fake saw a
// single write, that the plan names the folders and items, and that a real
// run afterwards does exactly what the plan said.
func TestDryRunWritesNothing(t *testing.T) {
	e := startLab(t, mustScenario(t, dryRunScenario), lab.Options{})
	writes := func() (int64, int64) { return e.lab.EWS.Writes(), e.lab.Graph.Writes() }
	if ew, gw := writes(); ew != 0 || gw != 0 {
		t.Fatalf("the lab starts with %d EWS and %d Graph writes", ew, gw)
	}
	want := map[string]struct {
		items   int64
		folders []string
	}{
		// 73 messages, 3 calendar items and 2 contacts: every kind is carried.
		"dora@contoso.com": {40 + 12 + 6 + 9 + 1 + 5 + 3 + 2, []string{"Inbox/Projects", "Inbox/Projects/2024", "Customers", "Customers/Europe"}},
		"dirk@contoso.com": {7 + 3, []string{"Old Stuff"}},
	}

	// In-process: the plan in detail.
	opts := testOptions()
	opts.DryRun = true
	plans := map[string]*engine.MailboxResult{}
	for addr, w := range want {
		local, _, _ := strings.Cut(addr, "@")
		entry := csvinput.Entry{Address: addr, Target: local + "@contoso.onmicrosoft.com", Location: mailbox.LocationAuto}
		res := e.copyOnce(t, entry, dispatch.Onboarding, opts)
		plans[addr] = res
		if !res.DryRun || res.ItemsCopied != w.items || res.FoldersCreated != 0 {
			t.Errorf("%s: dry run plans %d items (want %d), created %d folders, DryRun=%v", addr, res.ItemsCopied, w.items, res.FoldersCreated, res.DryRun)
		}
		for _, f := range w.folders {
			if !slices.Contains(res.FoldersToMake, f) {
				t.Errorf("%s: the plan does not create %q: %q", addr, f, res.FoldersToMake)
			}
		}
		var nonMail []string
		for _, f := range res.NotCarried {
			if f.SourceCount > 0 {
				nonMail = append(nonMail, f.SourcePath)
			}
		}
		if len(nonMail) != 0 {
			t.Errorf("%s: folders not carried: %q, want none (calendar and contacts are carried)", addr, nonMail)
		}
		t.Logf("%s: plan: %d items, %d bytes, folders %q", addr, res.ItemsCopied, res.BytesCopied, res.FoldersToMake)
	}
	if ew, gw := writes(); ew != 0 || gw != 0 {
		t.Fatalf("the in-process dry run wrote: %d EWS and %d Graph writes", ew, gw)
	}

	// The real command line.
	code, stdout, stderr := runBinary(t, "copy", "--config", e.lab.ConfigPath, "--mailboxes", e.lab.CopyCSV, "--dry-run")
	if code != 0 {
		t.Fatalf("exmigrate copy --dry-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if ew, gw := writes(); ew != 0 || gw != 0 {
		t.Fatalf("exmigrate copy --dry-run wrote: %d EWS and %d Graph writes\n%s", ew, gw, stdout)
	}
	if !strings.Contains(stdout, "FOLDERS TO CREATE") || !strings.Contains(stdout, "ITEMS TO COPY") {
		t.Errorf("the dry run prints no plan:\n%s", stdout)
	}
	for addr := range want {
		var row []string
		for _, line := range strings.Split(stdout, "\n") {
			if f := strings.Fields(line); len(f) > 4 && f[0] == addr {
				row = f
			}
		}
		if row == nil {
			t.Errorf("the plan has no row for %s:\n%s", addr, stdout)
			continue
		}
		folders, _ := strconv.Atoi(row[2])
		items, _ := strconv.ParseInt(row[3], 10, 64)
		if folders != len(plans[addr].FoldersToMake) || items != plans[addr].ItemsCopied {
			t.Errorf("%s: the command plans %d folders and %d items, the engine %d and %d\n%s",
				addr, folders, items, len(plans[addr].FoldersToMake), plans[addr].ItemsCopied, stdout)
		}
	}

	// The plan is what a real run then does.
	for addr := range want {
		local, _, _ := strings.Cut(addr, "@")
		entry := csvinput.Entry{Address: addr, Target: local + "@contoso.onmicrosoft.com", Location: mailbox.LocationOnPrem}
		res := e.copyOnce(t, entry, dispatch.Onboarding, testOptions())
		if res.ItemsCopied != plans[addr].ItemsCopied || res.FoldersCreated != len(plans[addr].FoldersToMake) {
			t.Errorf("%s: the real run copied %d items into %d new folders; the dry run planned %d and %d",
				addr, res.ItemsCopied, res.FoldersCreated, plans[addr].ItemsCopied, len(plans[addr].FoldersToMake))
		}
	}
	if _, gw := writes(); gw == 0 {
		t.Error("the real run wrote nothing to Graph: the write counter does not count")
	}
}
