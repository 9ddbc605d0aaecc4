package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseScenario: no input panics, and an accepted scenario has valid
// locations, types, addresses and a target for every on-prem mailbox.
func FuzzParseScenario(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "lab", "*.yaml"))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Add("mailboxes: [{address: a@b.com, large_items: [{folder: X, size: 2MB}]}]")
	f.Fuzz(func(t *testing.T, doc string) {
		sc, err := ParseScenario([]byte(doc))
		if err != nil {
			return
		}
		for _, m := range sc.Mailboxes {
			if !strings.Contains(m.Address, "@") || (m.Location != "onprem" && m.Location != "cloud") || m.Type == "" || m.ReadRatio == nil {
				t.Fatalf("accepted %+v", m)
			}
			if m.Location == "onprem" && m.Target == "" {
				t.Fatalf("on-prem mailbox %s has no target", m.Address)
			}
		}
	})
}
