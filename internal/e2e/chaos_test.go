package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/lab"
)

// TestChaosNoDuplicatesEveryWriteOnRecord is the "No duplicates, ever, and
// every write on record" test: 20 cycles of `exmigrate copy` SIGKILLed at
// a random point, with the lab's transient faults on both fakes; in some
// cycles two processes copy the same wave at once (same config, same state
// file: the job lease must make one of them refuse); once, between two
// cycles, the state file and its -wal/-shm companions are deleted, so the
// next run must learn from the stamps what the target holds. A last run
// then copies to the end. The checks:
//
//   - Nothing lost, nothing duplicated: the target's messages, listed by
//     the Graph fake itself, against the source's items, listed by the EWS
//     fake itself, per folder, by Internet Message-ID (subject and date
//     when there is none); then the full content comparison of
//     compareFolder and the state file's counts.
//   - Every write on record. The Graph fake counts every successful
//     request that is not a GET (a message POST, an attachment POST, an
//     upload session, each upload chunk, a PATCH, a DELETE); the engine
//     audits one item.create per item whatever requests it took. One
//     audit line is therefore several fake writes, so the test puts a
//     recording proxy in front of Graph (the command is pointed at it) and
//     compares, by id, what is comparable:
//     1. the proxy's count of successful writes equals the fake's Writes()
//     delta (the proxy saw every write);
//     2. every message created on the target (POST .../messages) is
//     either still there or was deleted by the engine as an incomplete
//     copy (DELETE); every message still there has exactly one
//     item.create ok line naming its id: written by its own run, or, for
//     a process killed between the write and that line, by the next run
//     that found the write done (a note says so); so messages created =
//     item.create ok lines + incomplete copies deleted, exactly; and the
//     item.create started line of its stamp was in the log before the
//     POST reached the proxy (write-ahead);
//     3. every attachment POST, upload session, upload chunk and stamp
//     PATCH belongs to a message the proxy saw created;
//     4. every folder created has exactly one folder.create ok line and a
//     started line before its POST; every removal of an incomplete copy
//     has its item.delete-incomplete line (ok, or started when its
//     process was killed before the outcome);
//     5. read-state PATCHes equal the item.update-read ok lines;
//     6. no other kind of write;
//     7. EWS, the source, is written exactly as often as the audit log
//     says (item and folder writes on its mailboxes).
func TestChaosNoDuplicatesEveryWriteOnRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and kills it 20 times")
	}
	const (
		cycles      = 20
		deleteAfter = 10 // the state file goes between cycles 9 and 10
	)
	bin := exmigrateBinary(t)
	// 10 ms a request: a copy slow enough that most cycles are killed mid-copy
	// (Graph $batch writes up to 20 messages a request).
	e := startLab(t, mustScenario(t, crashScenario), lab.Options{FaultRate: 0.03, Latency: 10 * time.Millisecond})
	tap := startGraphTap(t, e)
	args := []string{"copy", "--config", tap.configPath, "--mailboxes", e.lab.CopyCSV, "--log-format", "json"}

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("E2E_CHAOS_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	t.Logf("chaos seed %d (rerun with E2E_CHAOS_SEED=%d)", seed, seed)

	graphBefore, ewsBefore := e.lab.Graph.Writes(), e.lab.EWS.Writes()
	writes := func() int64 { return e.lab.Graph.Writes() + e.lab.EWS.Writes() }
	logDir := t.TempDir()
	logs := 0
	start := func() (*exec.Cmd, string, <-chan error) {
		t.Helper()
		path := filepath.Join(logDir, fmt.Sprintf("proc-%02d.log", logs))
		logs++
		f, err := os.Create(path)
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
		return cmd, path, done
	}
	// A refusal names the job: count the jobs a process refused, once
	// each however often its log repeats the message.
	auditPath := filepath.Join(e.lab.Dir, "audit.jsonl")
	auditSize := func() int64 {
		fi, err := os.Stat(auditPath)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	refusedIn := func(path string) int {
		data, _ := os.ReadFile(path)
		jobs := map[string]bool{}
		for _, m := range leaseRefusal.FindAllSubmatch(data, -1) {
			jobs[string(m[1])] = true
		}
		return len(jobs)
	}

	killed, midCopy, pairs, refusals, endedByItself := 0, 0, 0, 0, 0
	for cycle := range cycles {
		if cycle == deleteAfter {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				p := filepath.Join(e.lab.Dir, "state.db"+suffix)
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
			}
			t.Logf("cycle %d: state.db, -wal and -shm deleted", cycle)
		}
		pair := cycle%3 == 1 // cycles 1, 4, 7, 10, 13, 16, 19
		before, auditBefore := writes(), auditSize()
		cmdA, logA, doneA := start()
		procs := []*exec.Cmd{cmdA}
		paths := []string{logA}
		dones := []<-chan error{doneA}
		if pair {
			pairs++
			time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
			cmdB, logB, doneB := start()
			procs, paths, dones = append(procs, cmdB), append(paths, logB), append(dones, doneB)
		}
		// The kill comes a random time after the cycle's first write or
		// audit line, not after its start: on a loaded machine a process
		// can take a second to start, and a kill before it writes tests
		// nothing. A cycle that shows no activity is killed after 15 s.
		// Up to 400 ms: a faster copy finished the wave in 14 cycles
		// with up to 800 ms, leaving the last ones nothing to interrupt.
		after := time.Duration(rng.IntN(400)) * time.Millisecond
		tick := time.NewTicker(10 * time.Millisecond)
		began, killAt := time.Now(), time.Time{}
		exited := make([]bool, len(procs))
		left := len(procs)
	wait:
		for left > 0 {
			select {
			case now := <-tick.C:
				if killAt.IsZero() && (writes() > before || auditSize() > auditBefore) {
					killAt = now.Add(after)
				}
				if !killAt.IsZero() && !now.Before(killAt) || now.Sub(began) > 15*time.Second {
					break wait
				}
			case <-dones[0]:
				exited[0], dones[0] = true, nil
				left--
			case <-doneOf(dones, 1):
				exited[1], dones[1] = true, nil
				left--
			}
		}
		tick.Stop()
		note := ""
		killedNow := 0
		for i, cmd := range procs {
			if exited[i] {
				note += fmt.Sprintf(" proc %d exited by itself (%v);", i, cmd.ProcessState)
				if refusedIn(paths[i]) == 0 {
					endedByItself++ // not a lease refusal: the copy ran out of work
				}
				continue
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); errors.Is(err, os.ErrProcessDone) {
				// It ended by itself between the last look and the kill.
				<-dones[i]
				note += fmt.Sprintf(" proc %d exited by itself just before the kill;", i)
				continue
			} else if err != nil {
				t.Fatal(err)
			}
			<-dones[i]
			killed++
			killedNow++
		}
		w, grew := writes()-before, auditSize()-auditBefore
		if (w > 0 || grew > 0) && killedNow > 0 {
			midCopy++ // it was writing, or adopting what the target holds
		}
		r := 0
		for _, p := range paths {
			r += refusedIn(p)
		}
		refusals += r
		t.Logf("cycle %d: %d process(es), SIGKILL %v after the first activity (%v after the start), %d writes, %d audit bytes, %d lease refusal(s);%s",
			cycle, len(procs), after, time.Since(began).Round(time.Millisecond), w, grew, r, note)
	}
	if midCopy < cycles*3/4 {
		t.Errorf("only %d of %d cycles were killed mid-copy (writes or audit lines during the cycle)", midCopy, cycles)
	}
	if refusals == 0 {
		t.Errorf("in %d cycles with two processes on the same wave, no process refused with the lease message", pairs)
	}

	finished := false
	for i := 0; i < 6 && !finished; i++ {
		cmd, path, done := start()
		err := <-done
		finished = err == nil
		if !finished {
			data, _ := os.ReadFile(path)
			if len(data) > 3000 {
				data = data[len(data)-3000:]
			}
			t.Logf("final run %d: %v (%v)\n%s", i, err, cmd.ProcessState, data)
		}
	}
	if !finished {
		t.Fatalf("the copy did not finish in 6 runs after the chaos")
	}
	tap.wait() // requests of killed processes still being served

	// ---------------------------------------------- lost and duplicated
	items, lost, dups := 0, 0, 0
	finalIDs := map[string]string{} // target message id -> folder
	for addr, folders := range crashFolders {
		target := strings.TrimSuffix(addr, "@contoso.com") + "@contoso.onmicrosoft.com"
		fx := e.lab.Graph.Mailbox(target)
		if fx == nil {
			t.Fatalf("graph: no mailbox %s", target)
		}
		for _, path := range folders {
			want := map[string]int{}
			for _, it := range e.lab.EWS.AddMailbox(addr).Folder(path).Items() {
				want[identity(it.InternetMessageID, it.Subject, it.Received)]++
				items++
			}
			got := map[string]int{}
			for _, m := range fx.Messages(path) {
				got[identity(m.InternetMessageID, m.Subject, m.Received)]++
				finalIDs[m.ID] = path
			}
			for k, n := range want {
				if got[k] < n {
					lost += n - got[k]
					t.Errorf("%s %s: lost %s (source %d, target %d)", addr, path, k, n, got[k])
				}
			}
			for k, n := range got {
				if n > want[k] {
					dups += n - want[k]
					t.Errorf("%s %s: duplicated or extra %s (source %d, target %d)", addr, path, k, want[k], n)
				}
			}
			compareFolder(t, addr+" "+path, e.ewsView(t, addr, path), e.graphView(t, target, path))
		}
	}
	if items != 1064 {
		t.Errorf("compared %d source items, want 1064", items)
	}
	checkState(t, e, 1064)

	// ---------------------------------------------- every write on record
	lines := readAudit(t, auditPath)
	ewsMailboxes := map[string]bool{}
	for addr := range crashFolders {
		ewsMailboxes[addr] = true
	}
	auditCreate := map[string]int{} // item.create ok target ids (confirmations included)
	auditFolder := map[string]int{} // folder.create ok target ids
	auditDeleted := map[string]bool{}
	startedDelete := map[string]bool{}    // item.delete-incomplete started target ids
	startedCreate := map[string]int64{}   // stamp -> end of its first item.create started line
	startedFolder := map[string][]int64{} // display name -> ends of folder.create started lines
	var nCreate, nConfirmed, nFolder, nRead, nAdopt, nSkip, nErr, nStarted, ewsAudited int
	for _, l := range lines {
		if l.Outcome == audit.OutcomeStarted {
			nStarted++
			switch l.Action {
			case audit.ActionItemCreate:
				if _, seen := startedCreate[l.SourceID]; !seen {
					startedCreate[l.SourceID] = l.end
				}
			case audit.ActionFolderCreate:
				name := l.Object[strings.LastIndex(l.Object, "/")+1:]
				startedFolder[name] = append(startedFolder[name], l.end)
			case audit.ActionItemDeleteIncomplete:
				startedDelete[l.TargetID] = true
			}
			continue
		}
		write := l.Outcome == audit.OutcomeOK &&
			(l.Action == audit.ActionItemCreate || l.Action == audit.ActionFolderCreate || l.Action == audit.ActionItemUpdateRead)
		if write && ewsMailboxes[strings.ToLower(l.Mailbox)] {
			ewsAudited++
			continue
		}
		switch {
		case l.Action == audit.ActionItemAdopt:
			nAdopt++
		case l.Action == audit.ActionItemSkip:
			nSkip++
		case l.Action == audit.ActionItemDeleteIncomplete && l.Outcome == audit.OutcomeOK:
			auditDeleted[l.TargetID] = true
		case l.Outcome != audit.OutcomeOK:
			nErr++
		case l.Action == audit.ActionItemCreate:
			nCreate++
			auditCreate[l.TargetID]++
			if l.Note != "" {
				nConfirmed++
			}
		case l.Action == audit.ActionFolderCreate:
			nFolder++
			auditFolder[l.TargetID]++
		case l.Action == audit.ActionItemUpdateRead:
			nRead++
		}
	}
	if nSkip > 0 {
		t.Errorf("the audit log has %d item.skip lines; every item should have been copied", nSkip)
	}

	tap.mu.Lock()
	defer tap.mu.Unlock()
	graphWrites := e.lab.Graph.Writes() - graphBefore
	ewsWrites := e.lab.EWS.Writes() - ewsBefore
	// 1. The proxy saw every write the fake counted.
	if tap.total != graphWrites {
		t.Errorf("the proxy saw %d successful Graph writes, the fake counted %d", tap.total, graphWrites)
	}
	// 2. Messages: each one created is on record by exactly one item.create
	// ok line (written by its run, or by the next run that found it), or
	// was an incomplete copy removed later; and its started line was in
	// the log before its POST reached the service.
	var deletedGone int
	for id, n := range tap.messages {
		if n > 1 {
			t.Errorf("message id %s was answered to %d creates", id, n)
		}
		_, there := finalIDs[id]
		switch {
		case tap.deleted[id] && there:
			t.Errorf("message %s was deleted and is still listed", id)
		case tap.deleted[id]:
			deletedGone++
			if auditCreate[id] > 0 {
				t.Errorf("message %s is on record as created (item.create ok) but was deleted afterwards", id)
			}
		case !there:
			t.Errorf("message %s was created (POST answered 2xx) but is neither on the target nor deleted", id)
		case auditCreate[id] == 0:
			t.Errorf("message %s in %s is on the target without an item.create ok line (a write not on record)", id, finalIDs[id])
		}
		stamp := tap.createdFor[id]
		if end, ok := startedCreate[stamp]; stamp == "" || !ok || end > tap.createdAt[id] {
			t.Errorf("message %s (stamp %q): no item.create started line before its POST (log at %d bytes then, first started line ends at %d)",
				id, stamp, tap.createdAt[id], end)
		}
	}
	// Every incomplete copy removed is on record: an ok line, or the
	// started line of a remover killed before its outcome.
	for id := range tap.deleted {
		if !auditDeleted[id] && !startedDelete[id] {
			t.Errorf("incomplete copy %s was removed without an item.delete-incomplete line", id)
		}
		if tap.messages[id] == 0 {
			t.Errorf("deleted message %s was not created through this run", id)
		}
	}
	for id := range auditDeleted {
		if !tap.deleted[id] {
			t.Errorf("item.delete-incomplete names %s, which the proxy never saw deleted", id)
		}
	}
	t.Logf("incomplete copies removed %d, ok lines %d", len(tap.deleted), len(auditDeleted))
	for id := range finalIDs {
		if tap.messages[id] == 0 {
			t.Errorf("message %s in %s is on the target but the proxy never saw it created", id, finalIDs[id])
		}
	}
	for id, n := range auditCreate {
		if n > 1 {
			t.Errorf("target id %q is on %d item.create ok lines", id, n)
		}
		if _, there := finalIDs[id]; !there {
			t.Errorf("item.create ok names target id %q, which is not on the target", id)
		}
	}
	// The count: as many write lines as writes.
	if got := nCreate + deletedGone; got != len(tap.messages) || len(tap.messages) != tap.kinds["message.create"] {
		t.Errorf("messages created on the target: %d (POSTs answered: %d); item.create ok lines %d + incomplete copies deleted %d = %d",
			len(tap.messages), tap.kinds["message.create"], nCreate, deletedGone, got)
	}
	// 3. Parts of item creates.
	if tap.orphanParts > 0 {
		t.Errorf("%d attachment/upload/stamp writes belong to no message the proxy saw created", tap.orphanParts)
	}
	// 4. Folders: one folder.create ok line per folder created, its
	// started line before the POST.
	for id := range tap.folders {
		if auditFolder[id] != 1 {
			t.Errorf("folder %s (%q) was created and has %d folder.create ok lines, want 1", id, tap.createdFor[id], auditFolder[id])
		}
		before := false
		for _, end := range startedFolder[tap.createdFor[id]] {
			before = before || end <= tap.createdAt[id]
		}
		if !before {
			t.Errorf("folder %s (%q): no folder.create started line before its POST", id, tap.createdFor[id])
		}
	}
	for id, n := range auditFolder {
		if !tap.folders[id] {
			t.Errorf("folder.create ok names %q, which the proxy never saw created (%d lines)", id, n)
		}
	}
	if nFolder != len(tap.folders) {
		t.Errorf("folders created %d, folder.create ok lines %d", len(tap.folders), nFolder)
	}
	// 5. Read state.
	if int64(nRead) != int64(tap.kinds["read.patch"]) {
		t.Errorf("item.update-read ok lines %d, read-state PATCHes %d", nRead, tap.kinds["read.patch"])
	}
	// 6. Nothing else.
	if tap.kinds["other"] > 0 {
		t.Errorf("%d Graph writes of no known kind: %s", tap.kinds["other"], strings.Join(tap.others, "; "))
	}
	// 7. EWS.
	if int64(ewsAudited) != ewsWrites {
		t.Errorf("EWS counted %d writes, the audit log has %d write lines on EWS mailboxes", ewsWrites, ewsAudited)
	}

	var kinds []string
	for k, n := range tap.kinds {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(kinds)
	t.Logf("cycles %d (%d with two processes), kills %d, cycles killed mid-copy %d, processes that ended by themselves without a refusal %d, lease refusals (jobs refused) %d",
		cycles, pairs, killed, midCopy, endedByItself, refusals)
	t.Logf("items %d: lost %d, duplicated %d; on the target %d messages", items, lost, dups, len(finalIDs))
	t.Logf("writes: Graph %d (proxy %d: %s), EWS %d", graphWrites, tap.total, strings.Join(kinds, " "), ewsWrites)
	t.Logf("audit: %d lines; started %d; write lines %d (item.create ok %d of which %d confirmed by a later run, folder.create ok %d, item.update-read ok %d, on EWS mailboxes %d), item.adopt %d, item.skip %d, not ok %d",
		len(lines), nStarted, nCreate+nFolder+nRead+ewsAudited, nCreate, nConfirmed, nFolder, nRead, ewsAudited, nAdopt, nSkip, nErr)
	t.Logf("messages created %d = item.create ok %d + incomplete copies deleted %d; folders created %d = folder.create ok %d",
		len(tap.messages), nCreate, deletedGone, len(tap.folders), nFolder)
}

var leaseRefusal = regexp.MustCompile(`job (\d+) is being copied by process`)

// stampPattern finds the stamp (engine.SourceID) in a create's body.
var stampPattern = regexp.MustCompile(`exm1-[0-9a-f]{40}`)

// doneOf returns dones[i], or nil (a channel that never delivers) when
// there is no such process or it has been reaped.
func doneOf(dones []<-chan error, i int) <-chan error {
	if i < len(dones) {
		return dones[i]
	}
	return nil
}

// identity names a message as the issue asks: its Internet Message-ID, or
// its subject and date when it has none.
func identity(messageID, subject string, date time.Time) string {
	if messageID != "" {
		return "mid:" + messageID
	}
	return "subj:" + subjectKey(subject) + "@" + receivedKey(date)
}

// auditLine is an audit entry and the byte offset just past its line.
type auditLine struct {
	audit.Entry
	end int64
}

func readAudit(t *testing.T, path string) []auditLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []auditLine
	var off int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var e audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line %d: %v: %s", n, err, sc.Bytes())
		}
		off += int64(len(sc.Bytes())) + 1
		out = append(out, auditLine{e, off})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ------------------------------------------------------------ Graph tap

// graphTap is an HTTPS proxy in front of the Graph fake that records every
// successful write by kind and by the id it concerns. It reads each
// request whole before forwarding it (a process killed mid-body sends
// nothing, as the fake would refuse a truncated body), and forwards it
// detached from the client's connection, so that the write of a killed
// process is still recorded, as the fake still carries it out.
type graphTap struct {
	configPath string
	upstream   *url.URL
	client     *http.Client
	inflight   sync.WaitGroup

	mu          sync.Mutex
	total       int64
	kinds       map[string]int
	messages    map[string]int  // created message id -> creates answered
	deleted     map[string]bool // deleted message ids
	folders     map[string]bool // created folder ids
	sessions    map[string]string
	orphanParts int
	others      []string

	// Write-ahead evidence: the audit log's size when each create reached
	// the proxy, and what the create named (a message's stamp, a
	// folder's display name), so that its started line can be looked for
	// before that point.
	auditPath  string
	createdAt  map[string]int64  // message or folder id -> audit bytes at its POST
	createdFor map[string]string // message id -> stamp; folder id -> display name
}

func startGraphTap(t *testing.T, e *env) *graphTap {
	t.Helper()
	labCA, err := os.ReadFile(filepath.Join(e.lab.Dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(labCA) {
		t.Fatal("lab ca.pem holds no certificate")
	}
	up, err := url.Parse(e.lab.GraphURL)
	if err != nil {
		t.Fatal(err)
	}
	tap := &graphTap{upstream: up, kinds: map[string]int{}, messages: map[string]int{}, deleted: map[string]bool{},
		folders: map[string]bool{}, sessions: map[string]string{}, createdAt: map[string]int64{}, createdFor: map[string]string{},
		auditPath: filepath.Join(e.lab.Dir, "audit.jsonl"),
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableCompression: true,
			MaxIdleConnsPerHost: 32, ForceAttemptHTTP2: false}}}
	srv := httptest.NewUnstartedServer(tap)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes cut by SIGKILL
	srv.StartTLS()
	t.Cleanup(srv.Close)
	t.Cleanup(tap.client.CloseIdleConnections)

	// The command's config: the lab's, with Graph's URL pointing at the
	// proxy and a CA bundle that trusts both.
	cfg, err := os.ReadFile(e.lab.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	replaced := false
	for _, line := range strings.Split(string(cfg), "\n") {
		switch {
		case strings.HasPrefix(strings.TrimSpace(line), "graph_base_url:"):
			line = strings.Replace(line, "https://"+up.Host, srv.URL, 1)
			replaced = true
		case strings.HasPrefix(strings.TrimSpace(line), "ca_bundle:"):
			line = strings.Replace(line, "ca.pem", "chaos-ca.pem", 1)
		}
		out = append(out, line)
	}
	if !replaced {
		t.Fatalf("no graph_base_url in %s", e.lab.ConfigPath)
	}
	bundle := append(append([]byte{}, labCA...), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})...)
	if err := os.WriteFile(filepath.Join(e.lab.Dir, "chaos-ca.pem"), bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	tap.configPath = filepath.Join(e.lab.Dir, "chaos.yaml")
	if err := os.WriteFile(tap.configPath, []byte(strings.Join(out, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return tap
}

// wait returns once no request is being forwarded.
func (p *graphTap) wait() { p.inflight.Wait() }

func (p *graphTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.inflight.Add(1)
	defer p.inflight.Done()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away mid-body: nothing reaches the fake
	}
	var auditAt int64 // what the audit log held when the write was sent
	if fi, err := os.Stat(p.auditPath); err == nil {
		auditAt = fi.Size()
	}
	u := *p.upstream
	u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	out, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.Header.Del("Connection")
	out.Host = r.Host // the fake builds upload URLs from it: they come back here
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/$batch") && resp.StatusCode < 300:
		p.recordBatch(body, answer, auditAt)
	case r.Method != http.MethodGet && r.Method != http.MethodHead && resp.StatusCode < 300:
		p.record(r.Method, r.URL.Path, body, answer, auditAt)
	}
	for k, v := range resp.Header {
		if k == "Content-Length" || k == "Transfer-Encoding" || k == "Connection" {
			continue
		}
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// recordBatch records the successful writes among a $batch's steps, each
// as the request it stands for.
func (p *graphTap) recordBatch(body, answer []byte, auditAt int64) {
	var req struct {
		Requests []struct {
			ID, Method, URL string
			Body            json.RawMessage
		}
	}
	var ans struct {
		Responses []struct {
			ID     string
			Status int
			Body   json.RawMessage
		}
	}
	if json.Unmarshal(body, &req) != nil || json.Unmarshal(answer, &ans) != nil {
		p.mu.Lock()
		p.others = append(p.others, "unreadable $batch")
		p.mu.Unlock()
		return
	}
	for _, a := range ans.Responses {
		for _, st := range req.Requests {
			if st.ID != a.ID || a.Status >= 300 || st.Method == http.MethodGet {
				continue
			}
			u, err := url.Parse(st.URL)
			if err != nil {
				continue
			}
			p.record(st.Method, u.Path, st.Body, a.Body, auditAt)
		}
	}
}

// record classifies one successful write.
func (p *graphTap) record(method, path string, body, answer []byte, auditAt int64) {
	var ans struct {
		ID        string `json:"id"`
		UploadURL string `json:"uploadUrl"`
	}
	_ = json.Unmarshal(answer, &ans)
	var req struct {
		DisplayName string `json:"displayName"`
	}
	_ = json.Unmarshal(body, &req)
	seg := strings.Split(strings.Trim(path, "/"), "/")
	last := seg[len(seg)-1]
	msg := "" // the message a write concerns
	for i, s := range seg {
		if s == "messages" && i+1 < len(seg) {
			msg = seg[i+1]
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total++
	part := func(kind string) {
		p.kinds[kind]++
		if msg == "" || p.messages[msg] == 0 {
			p.orphanParts++
		}
	}
	switch {
	case len(seg) >= 2 && seg[0] == "upload" && method == http.MethodPut:
		msg = p.sessions[seg[1]]
		part("upload.chunk")
	case method == http.MethodPost && (last == "mailFolders" || last == "childFolders"):
		p.kinds["folder.create"]++
		p.folders[ans.ID] = true
		p.createdAt[ans.ID], p.createdFor[ans.ID] = auditAt, req.DisplayName
	case method == http.MethodPost && last == "messages":
		p.kinds["message.create"]++
		p.messages[ans.ID]++
		p.createdAt[ans.ID], p.createdFor[ans.ID] = auditAt, string(stampPattern.Find(body))
	case method == http.MethodPost && last == "attachments" && msg != "":
		part("attachment.post")
	case method == http.MethodPost && last == "createUploadSession" && msg != "":
		if u, err := url.Parse(ans.UploadURL); err == nil {
			us := strings.Split(strings.Trim(u.Path, "/"), "/")
			p.sessions[us[len(us)-1]] = msg
		}
		part("upload.session")
	case method == http.MethodPatch && last == msg && bytes.Contains(body, []byte(`"isRead"`)):
		p.kinds["read.patch"]++
	case method == http.MethodPatch && last == msg && msg != "":
		part("stamp.patch")
	case method == http.MethodDelete && last == msg && msg != "":
		p.kinds["message.delete"]++
		p.deleted[msg] = true
	default:
		p.kinds["other"]++
		p.others = append(p.others, method+" "+path)
	}
}
