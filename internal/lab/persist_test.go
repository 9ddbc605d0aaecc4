package lab

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/mailbox"
)

func smallScenario(t *testing.T) *Scenario {
	t.Helper()
	sc, err := LoadScenario(filepath.Join("..", "..", "testdata", "lab", "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func start(t *testing.T, dir string, sc *Scenario) *Lab {
	t.Helper()
	l, err := Start(context.Background(), Options{Dir: dir, Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// connect signs in to both sides of a lab with its written config, as
// exmigrate does.
func connect(t *testing.T, l *Lab) *backend.Sides {
	t.Helper()
	cfg, err := config.Load(l.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	s, err := backend.Connect(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// syncAll runs a folder's changes to the end and returns the final state
// and the ids seen.
func syncAll(t *testing.T, src interface {
	Changes(ctx context.Context, folderID, state string) (mailbox.ChangePage, error)
}, folderID, state string) (string, []string, error) {
	t.Helper()
	var ids []string
	for {
		page, err := src.Changes(context.Background(), folderID, state)
		if err != nil {
			return state, ids, err
		}
		for _, c := range page.Changes {
			ids = append(ids, c.Item.ID)
		}
		state = page.State
		if !page.More {
			return state, ids, nil
		}
	}
}

// A lab started again in its folder serves the organisation the last one
// left: same ports, same ids, and the sync states handed out before still
// hold on both sides.
func TestLabContinuesItsOrganisation(t *testing.T) {
	dir := t.TempDir()
	sc := smallScenario(t)
	l1 := start(t, dir, sc)
	if l1.Restored {
		t.Fatal("a lab in an empty folder says it restored")
	}
	s1 := connect(t, l1)
	ewsInbox := l1.EWS.AddMailbox("alex@fabrikam.com").Root("inbox")
	ewsState, ewsIDs, err := syncAll(t, s1.EWS.Mailbox("alex@fabrikam.com"), ewsInbox.ID(), "")
	if err != nil || len(ewsIDs) != 30 {
		t.Fatalf("EWS sync: %d items, %v", len(ewsIDs), err)
	}
	cloudInbox := l1.Graph.Mailbox("megan@fabrikam.com").FolderID("Inbox")
	delta, graphIDs, err := syncAll(t, s1.Graph.Mailbox("megan@fabrikam.com"), cloudInbox, "")
	if err != nil || len(graphIDs) != 20 {
		t.Fatalf("Graph delta: %d messages, %v", len(graphIDs), err)
	}
	// A change the next lab must keep: a message the copy wrote.
	written := l1.Graph.Mailbox("alex@fabrikam.onmicrosoft.com").AddMessage("Inbox", graphtestMessage("copied"))
	s1.Close()
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := readState(dir)
	if err != nil || !st.Clean {
		t.Fatalf("lab.json after Close: %+v, %v", st, err)
	}
	for _, name := range []string{ewsSnapshot, graphSnapshot} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s is readable by others: %v", name, info.Mode())
		}
	}

	l2 := start(t, dir, smallScenario(t))
	if !l2.Restored {
		t.Fatalf("second lab did not restore: %s", l2.FreshReason)
	}
	if l2.EWSURL != l1.EWSURL || l2.GraphURL != l1.GraphURL {
		t.Errorf("ports changed although free: %s %s, was %s %s", l2.EWSURL, l2.GraphURL, l1.EWSURL, l1.GraphURL)
	}
	if st, _ := readState(dir); st.Clean {
		t.Error("lab.json says clean while the lab runs")
	}
	if _, ok := l2.Graph.Mailbox("alex@fabrikam.onmicrosoft.com").Message(written); !ok {
		t.Error("the message written before the restart is gone")
	}
	s2 := connect(t, l2)
	if _, ids, err := syncAll(t, s2.EWS.Mailbox("alex@fabrikam.com"), ewsInbox.ID(), ewsState); err != nil || len(ids) != 0 {
		t.Errorf("EWS sync state of the last run: %d changes, %v; want 0", len(ids), err)
	}
	if _, ids, err := syncAll(t, s2.Graph.Mailbox("megan@fabrikam.com"), cloudInbox, delta); err != nil || len(ids) != 0 {
		t.Errorf("Graph delta link of the last run: %d changes, %v; want 0", len(ids), err)
	}
	if _, ids, _ := syncAll(t, s2.EWS.Mailbox("alex@fabrikam.com"), ewsInbox.ID(), ""); strings.Join(ids, ",") != strings.Join(ewsIDs, ",") {
		t.Error("EWS item ids changed across the restart")
	}
}

// When the Graph port of the last run is taken, the lab moves; the delta
// links of the last run name the old port, and the client refuses to send
// its token there: the state is invalid (a full resync, which the copy
// engine's item records make write nothing), not a failure.
func TestLabMovedPortInvalidatesDeltaLinks(t *testing.T) {
	dir := t.TempDir()
	l1 := start(t, dir, smallScenario(t))
	s1 := connect(t, l1)
	cloudInbox := l1.Graph.Mailbox("megan@fabrikam.com").FolderID("Inbox")
	delta, ids1, err := syncAll(t, s1.Graph.Mailbox("megan@fabrikam.com"), cloudInbox, "")
	if err != nil {
		t.Fatal(err)
	}
	s1.Close()
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(l1.GraphURL)
	hold, err := net.Listen("tcp", u.Host)
	if err != nil {
		t.Skipf("cannot hold the old port: %v", err)
	}
	defer hold.Close()

	l2 := start(t, dir, smallScenario(t))
	if !l2.Restored || l2.GraphURL == l1.GraphURL {
		t.Fatalf("restored %v (%s), Graph at %s (was %s)", l2.Restored, l2.FreshReason, l2.GraphURL, l1.GraphURL)
	}
	s2 := connect(t, l2)
	_, _, err = syncAll(t, s2.Graph.Mailbox("megan@fabrikam.com"), cloudInbox, delta)
	if !errors.Is(err, mailbox.ErrSyncStateInvalid) {
		t.Fatalf("delta link of the old port: %v, want ErrSyncStateInvalid", err)
	}
	_, ids2, err := syncAll(t, s2.Graph.Mailbox("megan@fabrikam.com"), cloudInbox, "")
	if err != nil || strings.Join(ids2, ",") != strings.Join(ids1, ",") {
		t.Errorf("full resync after the move: %d ids (%v), want the %d of before", len(ids2), err, len(ids1))
	}
}

func TestLabStartsOver(t *testing.T) {
	tests := []struct {
		name   string
		before func(t *testing.T, dir string, l *Lab)
		sc     func(*Scenario)
		why    string
	}{
		{"scenario changed", nil, func(sc *Scenario) { sc.Seed++ }, "the scenario changed since the last run"},
		{"killed", func(t *testing.T, dir string, l *Lab) { l.persist = false }, nil, "did not stop cleanly"},
		{"snapshot corrupt", func(t *testing.T, dir string, l *Lab) {
			l.Close()
			if err := os.WriteFile(filepath.Join(dir, graphSnapshot), []byte("garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, nil, "cannot be restored: lab-graph.snapshot: graphtest: unusable snapshot: not a gzip stream"},
		{"snapshot missing", func(t *testing.T, dir string, l *Lab) {
			l.Close()
			os.Remove(filepath.Join(dir, ewsSnapshot))
		}, nil, ewsSnapshot + " is missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l1 := start(t, dir, smallScenario(t))
			if tc.before != nil {
				tc.before(t, dir, l1)
			}
			l1.Close()
			// The copy state of the organisation that is gone.
			if err := os.WriteFile(filepath.Join(dir, "state.db"), []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			sc := smallScenario(t)
			if tc.sc != nil {
				tc.sc(sc)
			}
			l2 := start(t, dir, sc)
			if l2.Restored || !strings.Contains(l2.FreshReason, tc.why) {
				t.Fatalf("restored %v, reason %q; want a fresh start because %q", l2.Restored, l2.FreshReason, tc.why)
			}
			if _, err := os.Stat(filepath.Join(dir, "state.db")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the old copy state is still there: %v", err)
			}
			if n := len(l2.EWS.AddMailbox("alex@fabrikam.com").Folder("Inbox").Items()); n != 30 {
				t.Errorf("fresh lab's Inbox holds %d items, want 30", n)
			}
			cfg, err := config.Load(l2.ConfigPath)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := backend.Connect(context.Background(), cfg, slog.New(slog.DiscardHandler)); err != nil {
				t.Errorf("the fresh lab's config does not connect: %v", err)
			}
		})
	}
}

// The Graph snapshot leaves large attachments out; the lab gives them back
// from the scenario, so they must be exactly the decoded attachment of the
// streamed message.
func TestLargeAttachmentIsTheStreamedOne(t *testing.T) {
	const size = 3 << 20
	open, _, _ := largeMessage("a@b.com", "b.com", size, 42)
	r, _ := open()
	raw, _ := io.ReadAll(r)
	_, body, _ := bytes.Cut(raw, []byte("Content-Transfer-Encoding: base64\r\n\r\n"))
	body, _, _ = bytes.Cut(body, []byte("\r\n--big--"))
	dec, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.ReplaceAll(body, []byte("\r\n"), nil))))
	if err != nil {
		t.Fatal(err)
	}
	_, _, lines, _ := largeParts("a@b.com", "b.com", size, 42)
	if got := largeAttachment(42, lines); !bytes.Equal(got, dec) {
		t.Errorf("largeAttachment gives %d bytes that differ from the %d decoded from the message", len(got), len(dec))
	}
}

// The default scenario's large items come back as streams, not in the
// snapshot.
func TestLargeItemsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	l1 := start(t, dir, nil)
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing changed since seeding: the snapshots hold ids and
	// bookkeeping, not content (the 40 and 160 MB items least of all).
	if l1.SnapshotBytes > 512<<10 {
		t.Errorf("snapshots are %d bytes: content went into them", l1.SnapshotBytes)
	}
	l2 := start(t, dir, nil)
	if !l2.Restored {
		t.Fatal(l2.FreshReason)
	}
	s := connect(t, l2)
	var sizes []int64
	for _, it := range l2.EWS.AddMailbox("dan@contoso.com").Folder("Scans").Items() {
		if it.Size < 30<<20 {
			continue
		}
		rc, err := s.EWS.Mailbox("dan@contoso.com").OpenMIME(context.Background(), it.ID)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil || n != it.Size {
			t.Errorf("large item %s: read %d bytes (%v), size %d", it.Subject, n, err, it.Size)
		}
		sizes = append(sizes, n)
	}
	if len(sizes) != 2 {
		t.Errorf("found %d large items in dan's Scans, want 2", len(sizes))
	}
}

func graphtestMessage(subject string) graphtest.Message {
	return graphtest.Message{Subject: subject, InternetMessageID: "<" + subject + "@lab>"}
}

// An ephemeral lab ignores and invalidates the saved organisation and
// saves nothing.
func TestEphemeralLab(t *testing.T) {
	dir := t.TempDir()
	l1 := start(t, dir, smallScenario(t))
	l1.Close()
	l2, err := Start(context.Background(), Options{Dir: dir, Scenario: smallScenario(t), Ephemeral: true})
	if err != nil {
		t.Fatal(err)
	}
	if l2.Restored {
		t.Error("an ephemeral lab restored the saved organisation")
	}
	before, _ := os.Stat(filepath.Join(dir, ewsSnapshot))
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(dir, ewsSnapshot))
	if !after.ModTime().Equal(before.ModTime()) || l2.SnapshotBytes != 0 {
		t.Error("an ephemeral lab saved a snapshot")
	}
	l3 := start(t, dir, smallScenario(t))
	if l3.Restored {
		t.Error("the organisation saved before an ephemeral lab ran was restored, though its copy state is gone")
	}
}

// Going back to a scenario after another ran in the folder starts over:
// the copy state of the first went when the second started. (A second lab
// that fails between removing state.db and writing lab.json is covered by
// removing lab.json first; this test does not reach that window.)
func TestBackToAnOldScenarioStartsOver(t *testing.T) {
	dir := t.TempDir()
	start(t, dir, smallScenario(t)).Close()
	other := smallScenario(t)
	other.Seed++
	l2, err := Start(context.Background(), Options{Dir: dir, Scenario: other})
	if err != nil {
		t.Fatal(err)
	}
	// Killed before it could save.
	l2.persist = false
	l2.Close()
	l3 := start(t, dir, smallScenario(t))
	if l3.Restored {
		t.Error("the first scenario's organisation came back without its copy state")
	}
}
