package e2e

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/lab"
)

const importKillScenario = `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 17
mailboxes:
  - address: ivy@contoso.com
    location: onprem
    folders: {Inbox: 200, Sent Items: 100}
  - address: jon@contoso.com
    location: onprem
    folders: {Inbox: 100}
`

// TestKilledDuringGraphImportsNoDuplicates: exmigrate copy, importing
// on-prem mail into Exchange Online through Graph's import API (which
// stamps nothing), is killed with SIGKILL again and again while imports
// are in flight, so that imports the service carried out have no record;
// a last run finishes. Every source item is then on the target exactly as
// often as at the source, by its search key as the fakes themselves list
// them, and the recovered imports were found by fingerprint, not imported
// again.
func TestKilledDuringGraphImportsNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and kills it")
	}
	bin := exmigrateBinary(t)
	// Each import takes a few milliseconds, so a kill often lands while the
	// service is carrying one out or just answered it.
	e := startLab(t, mustScenario(t, importKillScenario), lab.Options{GraphFullFidelity: true, GraphTakesEWSStreams: true, Latency: 3 * time.Millisecond})
	args := []string{"copy", "--config", e.lab.ConfigPath, "--mailboxes", e.lab.CopyCSV, "--stores", "primary", "--log-format", "json"}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	logDir := t.TempDir()
	run := func(i int) (*exec.Cmd, <-chan error) {
		f, err := os.Create(filepath.Join(logDir, fmt.Sprintf("run-%02d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait(); f.Close() }()
		return cmd, done
	}
	// cycle runs the copy until it has imported something, lets it go on
	// a random while and kills it; false when it ended by itself.
	cycle := func(i int) bool {
		before := e.lab.Graph.Imports()
		cmd, done := run(i)
		deadline := time.Now().Add(20 * time.Second)
		// Two imports: the first run's first is the fidelity probe's sample.
		for e.lab.Graph.Imports() < before+2 && time.Now().Before(deadline) {
			select {
			case err := <-done:
				t.Logf("cycle %d: the copy ended before it imported anything (%v)", i, err)
				return false
			case <-time.After(2 * time.Millisecond):
			}
		}
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		select {
		case err := <-done:
			t.Logf("cycle %d: ended by itself (%v)", i, err)
			return false
		default:
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
		t.Logf("cycle %d: killed after %d imports", i, e.lab.Graph.Imports()-before)
		return true
	}
	killedMidImport := 0
	for i := range 8 {
		if cycle(i) {
			killedMidImport++
		}
	}
	if killedMidImport < 4 {
		t.Errorf("only %d of 8 runs were killed while importing", killedMidImport)
	}
	cmd, done := run(99)
	if err := <-done; err != nil {
		data, _ := os.ReadFile(filepath.Join(logDir, "run-99.log"))
		t.Fatalf("the last run: %v (%v)\n%s", err, cmd.ProcessState, tail(string(data)))
	}

	items, lost, dups := 0, 0, 0
	for _, m := range []struct {
		addr    string
		folders []string
	}{{"ivy@contoso.com", []string{"Inbox", "Sent Items"}}, {"jon@contoso.com", []string{"Inbox"}}} {
		target := strings.TrimSuffix(m.addr, "@contoso.com") + "@contoso.onmicrosoft.com"
		fx := e.lab.Graph.Mailbox(target)
		for _, path := range m.folders {
			want := map[string]int{}
			for _, it := range e.lab.EWS.AddMailbox(m.addr).Folder(path).Items() {
				key := e.lab.EWS.SearchKey(it.ID)
				if key == "" {
					t.Fatalf("%s %s: a source item without a search key", m.addr, path)
				}
				want[key]++
				items++
			}
			got := map[string]int{}
			for _, msg := range fx.Messages(path) {
				got[hex.EncodeToString(msg.SearchKey)]++
			}
			for k, n := range want {
				if got[k] < n {
					lost += n - got[k]
				}
			}
			for k, n := range got {
				if n > want[k] {
					dups += n - want[k]
					t.Errorf("%s %s: search key %s on the target %d times, at the source %d", m.addr, path, k, n, want[k])
				}
			}
		}
	}
	if items != 400 || lost != 0 || dups != 0 {
		t.Errorf("%d source items compared (want 400): %d lost, %d duplicated", items, lost, dups)
	}
	if imports := e.lab.Graph.Imports(); imports < 400 {
		t.Errorf("%d imports for 400 items: the copy did not go through the import API", imports)
	}
	checkState(t, e, 400)
	// The imports a kill left without a record were found by fingerprint
	// by the next run: its ok line says it confirmed an interrupted write.
	confirmed := 0
	for _, l := range readAudit(t, filepath.Join(e.lab.Dir, "audit.jsonl")) {
		if l.Action == audit.ActionItemCreate && l.Outcome == audit.OutcomeOK && l.Note != "" {
			confirmed++
		}
	}
	t.Logf("%d imports carried out by a killed run were found by their fingerprint and confirmed", confirmed)
	if confirmed == 0 {
		t.Errorf("no kill left an import without its record in %d kills: the test did not exercise the fingerprint", killedMidImport)
	}
}
