package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/exmigrate/exmigrate/internal/lab"
)

const fidelityScenario = `
domain: fabrikam.com
cloud_domain: fabrikam.onmicrosoft.com
seed: 5
mailboxes:
  - address: alex@fabrikam.com
    location: onprem
    folders: {Inbox: 3}
    non_mail_items: {Calendar: 2, Contacts: 2, Tasks: 2}
  - address: alex.new@fabrikam.com
    location: onprem
    target: none
    folders: {Inbox: 1}
`

// TestCheckFidelity: check --fidelity probes each kind between the
// mailbox and its target and says the path each will take: full
// fidelity between two Exchange servers (the stream is EWS's own), the
// typed or MIME path into Exchange Online, whose adapter declares no
// full-fidelity write by default; the scratch items are removed and
// nothing is sent.
func TestCheckFidelity(t *testing.T) {
	sc, err := lab.ParseScenario([]byte(fidelityScenario))
	if err != nil {
		t.Fatal(err)
	}
	l, dir := startEphemeralLab(t, lab.Options{Scenario: sc, FullFidelity: true})
	list := filepath.Join(dir, "onprem.csv")
	if err := os.WriteFile(list, []byte("EmailAddress,TargetAddress\nalex@fabrikam.com,alex.new@fabrikam.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		want  []string
		never []string
	}{
		{"on-prem to on-prem", []string{"--mailboxes", list, "--direction", "onprem-to-onprem"},
			[]string{`^probe +ok +mail: full-fidelity \(the target took the source's ews-export stream and "[^"]+" read back with its subject and kind equal\)$`,
				`^probe +ok +calendar: full-fidelity \(.* read back with every typed property equal\)$`,
				`^probe +ok +calendar: full-fidelity `, `^probe +ok +contacts: full-fidelity `, `^probe +ok +tasks: full-fidelity `,
				`^probe +- +alex@fabrikam.com to alex.new@fabrikam.com: scratch folder "exmigrate fidelity probe `},
			[]string{`warn`, `FAIL`}},
		{"onboarding", []string{"--mailboxes", l.CopyCSV},
			[]string{`^probe +- +calendar: typed \(the target \(graph\) has no full-fidelity write for calendar items\)$`,
				`^probe +- +mail: mime \(`},
			[]string{`full-fidelity \(the target took`, `FAIL`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ewsW, graphW := l.EWS.Writes(), l.Graph.Writes()
			code, out, stderr := run(t, append([]string{"check", "--config", l.ConfigPath, "--mailbox", "alex@fabrikam.com", "--fidelity"}, tc.args...)...)
			if code != ExitOK {
				t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
			}
			for _, w := range tc.want {
				if !regexp.MustCompile(`(?m)` + w).MatchString(out) {
					t.Errorf("no line matches %q:\n%s", w, out)
				}
			}
			for _, n := range tc.never {
				if regexp.MustCompile(`(?m)` + n).MatchString(out) {
					t.Errorf("a line matches %q:\n%s", n, out)
				}
			}
			if s := l.EWS.MeetingMessagesSent() + l.Graph.MeetingMessagesSent(); s != 0 {
				t.Errorf("the probe made the services send %d meeting messages", s)
			}
			if tc.name == "onboarding" && l.Graph.Writes() != graphW {
				t.Errorf("the probe wrote %d times to a target without a full-fidelity write", l.Graph.Writes()-graphW)
			}
			if tc.name != "onboarding" {
				if l.EWS.Writes() == ewsW {
					t.Error("the probe wrote nothing on-prem")
				}
				// Every scratch item was removed; the folders stay, named.
				m := regexp.MustCompile(`scratch folder "([^"]+)"`).FindStringSubmatch(out)
				mb, ok := l.EWS.LookupMailbox("alex.new@fabrikam.com")
				if m == nil || !ok {
					t.Fatalf("no scratch folder named, or no target mailbox:\n%s", out)
				}
				seen := 0
				for _, suffix := range []string{"", " (calendar)", " (contacts)", " (tasks)"} {
					if f, ok := mb.FindFolder(m[1] + suffix); ok {
						seen++
						if n := len(f.Items()); n != 0 {
							t.Errorf("%d items left in %q", n, m[1]+suffix)
						}
					}
				}
				if seen != 4 {
					t.Errorf("%d scratch folders found, want 4 (one per folder class)", seen)
				}
			}
		})
	}
}
