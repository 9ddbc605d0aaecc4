package lab

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	gomessage "github.com/emersion/go-message"

	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
)

// A lab keeps its organisation between runs in its folder: both fakes are
// snapshotted when the lab closes and restored when it starts again with
// the same scenario, so the copy state (state.db) beside them stays true.
const (
	stateFile     = "lab.json"
	ewsSnapshot   = "lab-ews.snapshot"
	graphSnapshot = "lab-graph.snapshot"
	stateVersion  = 1
	// generatorVersion changes whenever seeding makes other content from
	// the same scenario, so old snapshots are not taken for the new ones.
	generatorVersion = 1
	// externalMin: attachments this large are left out of the Graph
	// snapshot; the lab regenerates them from the scenario on restore.
	externalMin = 1 << 20
)

// labState is lab.json: what the snapshots beside it were made from.
type labState struct {
	Version  int    `json:"version"`
	Scenario string `json:"scenario_sha256"`
	// Clean is false while a lab runs: a lab that was killed left
	// snapshots older than the copy state, which must not be restored.
	Clean     bool      `json:"clean"`
	EWSAddr   string    `json:"ews_addr"`
	GraphAddr string    `json:"graph_addr"`
	Saved     time.Time `json:"saved,omitzero"`
}

// scenarioHash identifies a scenario (seed included) and the generator.
func scenarioHash(sc *Scenario) (string, error) {
	b, err := json.Marshal(struct {
		Generator int
		Scenario  *Scenario
	}{generatorVersion, sc})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func readState(dir string) (*labState, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, err
	}
	var st labState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", stateFile, err)
	}
	return &st, nil
}

func writeState(dir string, st labState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, stateFile), append(b, '\n'), 0o644)
}

// whyFresh says why the lab cannot continue from its folder ("" when it
// can).
func whyFresh(dir string, prev *labState, prevErr error, hash string) string {
	switch {
	case errors.Is(prevErr, os.ErrNotExist):
		return "no saved organisation in this folder"
	case prevErr != nil:
		return "the saved lab is unreadable (" + prevErr.Error() + ")"
	case prev.Version != stateVersion:
		return fmt.Sprintf("the saved lab has format %d, this build writes %d", prev.Version, stateVersion)
	case prev.Scenario != hash:
		return "the scenario changed since the last run"
	case !prev.Clean:
		return "the last lab did not stop cleanly, so its snapshot is older than the copy state"
	}
	for _, name := range []string{ewsSnapshot, graphSnapshot, "app.pem", "ews-password"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return name + " is missing"
		}
	}
	return ""
}

// restore loads both fakes from the folder's snapshots.
func (l *Lab) restore(sc *Scenario) error {
	streams := largeStreams(sc)
	f, err := os.Open(filepath.Join(l.Dir, ewsSnapshot))
	if err != nil {
		return err
	}
	defer f.Close()
	base, err := seededBase(sc)
	if err != nil {
		return err
	}
	parts := attachmentIndex(base.EWS)
	err = l.EWS.Restore(f, ewstest.SnapshotBase(base.EWS), ewstest.ResolveStreams(func(key string) (func() (io.ReadCloser, error), error) {
		s, ok := streams[key]
		if !ok {
			return nil, fmt.Errorf("the scenario has no large item %q", key)
		}
		return s.open, nil
	}))
	if err != nil {
		return fmt.Errorf("%s: %w", ewsSnapshot, err)
	}
	g, err := os.Open(filepath.Join(l.Dir, graphSnapshot))
	if err != nil {
		return err
	}
	defer g.Close()
	err = l.Graph.Restore(g, graphtest.SnapshotBase(base.Graph), graphtest.ResolveAttachments(func(sum [32]byte, size int64) ([]byte, error) {
		if b, ok := parts[sum]; ok {
			return b, nil
		}
		for _, s := range streams {
			if s.lines*57 != size {
				continue
			}
			if b := largeAttachment(s.seed, s.lines); sha256.Sum256(b) == sum {
				return b, nil
			}
		}
		return nil, errors.New("no large item of the scenario has this attachment")
	}))
	if err != nil {
		return fmt.Errorf("%s: %w", graphSnapshot, err)
	}
	return nil
}

// save snapshots both fakes into the folder, each through a temporary file
// renamed over the old one, then marks the folder clean.
func (l *Lab) save() error {
	snap := func(name string, write func(w io.Writer) error) (int64, error) {
		path := filepath.Join(l.Dir, name)
		tmp, err := os.CreateTemp(l.Dir, name+".*.tmp")
		if err != nil {
			return 0, err
		}
		defer os.Remove(tmp.Name()) // after the rename, a no-op
		if err := write(tmp); err != nil {
			tmp.Close()
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return 0, err
		}
		info, err := tmp.Stat()
		if err != nil {
			tmp.Close()
			return 0, err
		}
		if err := tmp.Close(); err != nil {
			return 0, err
		}
		// Snapshots hold the lab's service password and app certificate.
		if err := os.Chmod(tmp.Name(), 0o600); err != nil {
			return 0, err
		}
		return info.Size(), os.Rename(tmp.Name(), path)
	}
	base, err := seededBase(l.Scenario)
	if err != nil {
		return err
	}
	ewsSize, err := snap(ewsSnapshot, func(w io.Writer) error { return l.EWS.Snapshot(w, ewstest.SnapshotBase(base.EWS)) })
	if err != nil {
		return err
	}
	parts := attachmentIndex(base.EWS)
	graphSize, err := snap(graphSnapshot, func(w io.Writer) error {
		return l.Graph.Snapshot(w, graphtest.SnapshotBase(base.Graph), graphtest.ExternalAttachments(externalMin),
			graphtest.ExternalAttachmentsFunc(func(sum [32]byte, _ int64) bool { _, ok := parts[sum]; return ok }))
	})
	if err != nil {
		return err
	}
	l.SnapshotBytes = ewsSize + graphSize
	st := l.state
	st.Clean, st.Saved = true, time.Now().UTC().Truncate(time.Second)
	if err := writeState(l.Dir, st); err != nil {
		return err
	}
	l.log().Info("lab saved", "folder", l.Dir, "ews_snapshot_bytes", ewsSize, "graph_snapshot_bytes", graphSize)
	return nil
}

// forgetCopyState removes the copy state of an organisation the lab no
// longer serves: its item records would claim copies that are not there.
func forgetCopyState(dir string) (bool, error) {
	removed := false
	for _, name := range []string{"state.db", "state.db-wal", "state.db-shm"} {
		err := os.Remove(filepath.Join(dir, name))
		if err == nil {
			removed = true
		} else if !errors.Is(err, os.ErrNotExist) {
			return removed, err
		}
	}
	return removed, nil
}

// largeStream is one large item of the scenario, by its StreamKey.
type largeStream struct {
	open  func() (io.ReadCloser, error)
	seed  uint64
	lines int64
}

func largeKey(address string, j int) string {
	return fmt.Sprintf("large/%s/%d", strings.ToLower(address), j)
}

// largeStreams lists the scenario's large items as seeding makes them.
func largeStreams(sc *Scenario) map[string]largeStream {
	out := map[string]largeStream{}
	for i, m := range sc.expand() {
		if m.Location == "cloud" {
			continue
		}
		for j, li := range m.LargeItems {
			seed := (sc.Seed+uint64(i))*100 + uint64(j)
			open, _, _ := largeMessage(m.Address, sc.Domain, li.Size.Bytes(), seed)
			_, _, lines, _ := largeParts(m.Address, sc.Domain, li.Size.Bytes(), seed)
			out[largeKey(m.Address, j)] = largeStream{open: open, seed: seed, lines: lines}
		}
	}
	return out
}

func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return string(bytes.TrimSpace(b)), nil
}

// seededBase is both sides as seeding makes them: snapshots leave out the
// content of the items that have not changed since, and take it back from
// here. Seeding gives EWS ids in order, so they match the lab's; Graph's
// are random, and its base is matched by content.
func seededBase(sc *Scenario) (*Lab, error) {
	b := &Lab{EWS: ewstest.NewServer(), Graph: graphtest.NewServer()}
	if err := seed(b, sc); err != nil {
		return nil, fmt.Errorf("seeding the base of the snapshot: %w", err)
	}
	return b, nil
}

// attachmentIndex maps the SHA-256 of every MIME part of the seeded items
// to its decoded bytes: the attachments a copy stores in the cloud come
// from these, so the Graph snapshot can leave them out.
func attachmentIndex(base *ewstest.Server) map[[32]byte][]byte {
	idx := map[[32]byte][]byte{}
	base.EachItem(func(it ewstest.StoredItem) {
		if it.MIME == nil {
			return
		}
		e, err := gomessage.Read(bytes.NewReader(it.MIME))
		if err != nil && !gomessage.IsUnknownCharset(err) && !gomessage.IsUnknownEncoding(err) {
			return
		}
		_ = e.Walk(func(_ []int, part *gomessage.Entity, err error) error {
			if err != nil || part.MultipartReader() != nil {
				return nil
			}
			b, err := io.ReadAll(part.Body)
			if err == nil && len(b) > 0 {
				idx[sha256.Sum256(b)] = b
			}
			return nil
		})
	})
	return idx
}
