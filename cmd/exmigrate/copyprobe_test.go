package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/lab"
)

// TestCopyProbesOncePerPairOfEndpoints: into a tenant whose import API is
// on (full_fidelity) but not known to take Exchange Server's export data,
// copy runs the fidelity probe itself before the first mailbox, says what
// it found, plans every mailbox from it and keeps it: the next copy reuses
// the verdict without probing, --reprobe asks again. The lab's tenant
// decides: one that takes EWS data gets full fidelity, one that does not
// gets the typed and MIME paths.
func TestCopyProbesOncePerPairOfEndpoints(t *testing.T) {
	for _, takes := range []bool{true, false} {
		t.Run(map[bool]string{true: "tenant takes EWS data", false: "tenant refuses EWS data"}[takes], func(t *testing.T) {
			l, _ := startSmallLab(t, lab.Options{GraphFullFidelity: true})
			l.Graph.AcceptEWSStreams(takes)
			code, out, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV, "--stores", "primary")
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
			}
			if !strings.Contains(out, "Fidelity probe onprem -> cloud: probing with ") {
				t.Errorf("the copy did not probe:\n%s", out)
			}
			mailPath := regexp.MustCompile(`primary/mail=(\S+?);`).FindStringSubmatch(out)
			switch {
			case takes && (!strings.Contains(out, "the target takes the source's ews-export data") || mailPath == nil || mailPath[1] != "full-fidelity"):
				t.Errorf("the tenant takes EWS data, yet:\n%s", out)
			case !takes && (!strings.Contains(out, "full fidelity not used") || mailPath == nil || mailPath[1] != "mime"):
				t.Errorf("the tenant refuses EWS data, yet:\n%s", out)
			}
			// The next copy reuses the verdict; --reprobe asks again.
			_, out, _ = run(t, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV, "--stores", "primary")
			if !strings.Contains(out, "Fidelity probe onprem -> cloud: as probed on ") || strings.Contains(out, "probing with") {
				t.Errorf("the second copy did not reuse the verdict:\n%s", out)
			}
			_, out, _ = run(t, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV, "--stores", "primary", "--reprobe")
			if !strings.Contains(out, "probing with") {
				t.Errorf("--reprobe did not probe again:\n%s", out)
			}
		})
	}
}
