package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// The fidelity probe learns, for one source and one target mailbox, which
// kinds the target takes in full fidelity from this source: it writes one
// item of each kind, exported from the source, into a clearly named
// scratch folder of the target, reads it back, compares what matters for
// the kind, and removes what it wrote without sending anything. Microsoft
// documents Graph's import only of what Graph exported; whether it takes
// EWS export data is learned here, never assumed.

// ProbeFolderName is the scratch folder's name on the target, with the
// probe's date and a random tag appended.
const ProbeFolderName = "exmigrate fidelity probe"

// ProbeKind is the probe's verdict for one kind.
type ProbeKind struct {
	Kind mailbox.Kind
	// Path is the path the kind will take: full-fidelity when the target
	// took the source's stream and gave the item back equal, otherwise
	// the planned fallback (typed, mime) or "not carried".
	Path string
	// Accepted: the target took the source's full-fidelity stream and the
	// item read back equal.
	Accepted bool
	Why      string
	// Subject is the sample item's subject.
	Subject string
	// Left is set when the scratch item could not be removed silently
	// (removing it would send a cancellation) or removal failed: the
	// item stays in the scratch folder, and this says why.
	Left string
}

// ProbeResult is the probe's verdict for one source and target pair.
type ProbeResult struct {
	// Dialect is the source's full-fidelity dialect ("" when it has none).
	Dialect string
	Folder  string // the scratch folder's name on the target ("" if none was made)
	Kinds   []ProbeKind
}

// AcceptedDialect reports whether every probed kind that had a sample took
// the source's stream: the condition for planning full fidelity.
func (p *ProbeResult) AcceptedDialect() bool {
	any := false
	for _, k := range p.Kinds {
		if k.Subject == "" {
			continue
		}
		if !k.Accepted {
			return false
		}
		any = true
	}
	return any
}

// Probe runs the fidelity probe between src and dst (see above). It writes
// only into its scratch folder and only with the probe's own stamps.
func Probe(ctx context.Context, src mailbox.Source, dst mailbox.Target, now time.Time) (*ProbeResult, error) {
	ctx = mailbox.WithProbe(ctx)
	srcCaps, dstCaps := src.Capabilities(), dst.Capabilities()
	res := &ProbeResult{}
	for _, p := range srcCaps.Reads {
		if p.Format == mailbox.FormatFullFidelity && p.Store == mailbox.ScopePrimary {
			res.Dialect = p.Dialect
			break
		}
	}
	folders, err := src.Folders(ctx, mailbox.ScopePrimary)
	if err != nil {
		return nil, fmt.Errorf("list the source's folders: %w", err)
	}
	scratch := map[string]mailbox.Folder{} // by container class
	// A scratch folder of its own: a probe killed after its import leaves
	// an item behind (Graph cannot remove it), which would otherwise sit
	// beside this probe's sample and make the read-back ambiguous.
	folderName := fmt.Sprintf("%s %s %s", ProbeFolderName, now.UTC().Format("2006-01-02 15.04"), randomHex(2))
	for _, kind := range mailbox.Kinds() {
		pk := ProbeKind{Kind: kind}
		fallback := PathNotCarried
		if route, gap := mailbox.PlanRoute(srcCaps, withoutFullFidelity(dstCaps), mailbox.ScopePrimary, mailbox.ScopePrimary, kind); gap == nil {
			fallback = string(route.Format)
		}
		pk.Path = fallback
		if res.Dialect == "" || !slices.ContainsFunc(srcCaps.Reader(mailbox.ScopePrimary, kind), func(p mailbox.Path) bool { return p.Format == mailbox.FormatFullFidelity }) {
			pk.Why = fmt.Sprintf("the source (%s) has no full-fidelity read for %s", srcCaps.Backend, kindItems(kind))
			res.Kinds = append(res.Kinds, pk)
			continue
		}
		if !slices.ContainsFunc(dstCaps.Writer(mailbox.ScopePrimary, kind), func(p mailbox.Path) bool { return p.Format == mailbox.FormatFullFidelity }) {
			pk.Why = fmt.Sprintf("the target (%s) has no full-fidelity write for %s", dstCaps.Backend, kindItems(kind))
			res.Kinds = append(res.Kinds, pk)
			continue
		}
		sample, folder, err := sampleOf(ctx, src, folders, kind)
		if err != nil {
			return res, err
		}
		if sample.ID == "" {
			pk.Why = fmt.Sprintf("the source mailbox has no %s to probe with", strings.TrimSuffix(kindItems(kind), "s"))
			res.Kinds = append(res.Kinds, pk)
			continue
		}
		pk.Subject = sample.Subject
		fd, ok := scratch[folder.Class]
		if !ok {
			name := folderName
			if len(scratch) > 0 {
				name += " (" + string(kind) + ")"
			}
			fd, err = dst.CreateFolder(ctx, "", name, folder.Class)
			if err != nil {
				return res, fmt.Errorf("create the scratch folder %q on the target: %w", name, err)
			}
			scratch[folder.Class] = fd
			if res.Folder == "" {
				res.Folder = fd.Path
			}
		}
		pk.Accepted, pk.Why, pk.Left = probeOne(ctx, src, dst, sample, fd, res.Dialect)
		if pk.Accepted {
			pk.Path = string(mailbox.FormatFullFidelity)
		}
		res.Kinds = append(res.Kinds, pk)
	}
	return res, nil
}

// withoutFullFidelity is a side's declaration less its full-fidelity
// writes: the path a kind falls back to.
func withoutFullFidelity(c mailbox.Capabilities) mailbox.Capabilities {
	c.Writes = slices.DeleteFunc(slices.Clone(c.Writes), func(p mailbox.Path) bool { return p.Format == mailbox.FormatFullFidelity })
	return c
}

// withoutFullFidelityFor drops the full-fidelity writes of the kinds.
func withoutFullFidelityFor(c mailbox.Capabilities, kinds map[mailbox.Kind]string) mailbox.Capabilities {
	if len(kinds) == 0 {
		return c
	}
	c.Writes = slices.DeleteFunc(slices.Clone(c.Writes), func(p mailbox.Path) bool {
		_, refused := kinds[p.Kind]
		return refused && p.Format == mailbox.FormatFullFidelity
	})
	return c
}

// sampleOf finds one item of the kind in the source's folders of that
// kind (the first page of the first such folder that has one).
func sampleOf(ctx context.Context, src mailbox.Source, folders []mailbox.Folder, kind mailbox.Kind) (mailbox.Item, mailbox.Folder, error) {
	for _, f := range folders {
		if f.Path == "" || f.Kind() != kind || (f.ItemCount == 0 && src.Capabilities().ItemCounts) {
			continue
		}
		page, err := src.Changes(ctx, f.ID, "")
		if err != nil {
			return mailbox.Item{}, f, fmt.Errorf("read %s from the source: %w", f.Path, err)
		}
		for _, ch := range page.Changes {
			if ch.Kind == mailbox.ChangeCreated && ch.Item.Kind() == kind {
				return ch.Item, f, nil
			}
		}
	}
	return mailbox.Item{}, mailbox.Folder{}, nil
}

// probeOne exports one item, imports it into the scratch folder, compares
// it and removes it.
func probeOne(ctx context.Context, src mailbox.Source, dst mailbox.Target, it mailbox.Item, fd mailbox.Folder, dialect string) (accepted bool, why, left string) {
	rc, err := src.OpenItem(ctx, it.ID, mailbox.FormatFullFidelity)
	if err != nil {
		return false, fmt.Sprintf("the source could not export %q: %v", it.Subject, err), ""
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return false, fmt.Sprintf("the source's export of %q broke off: %v", it.Subject, err), ""
	}
	stamp := "exmigrate-probe-" + randomHex(8)
	id, err := dst.CreateItem(ctx, fd.ID, mailbox.Payload{Item: it, SourceID: stamp, Format: mailbox.FormatFullFidelity,
		Dialect: dialect, Body: bytes.NewReader(data), Size: int64(len(data))})
	if err != nil {
		return false, fmt.Sprintf("the target refused the source's %s stream: %v", dialect, err), ""
	}
	defer func() {
		left = removeProbeItem(ctx, dst, id)
	}()
	diff, how := compareProbe(ctx, src, dst, it, id, fd.ID)
	if diff != "" {
		return false, "the item read back from the target differs: " + diff, ""
	}
	if dst.Capabilities().UnstampedImports {
		// The import carries no stamp: without its fingerprint a crash
		// between an import and its record would import it again.
		if why := probeFingerprint(ctx, src, dst, it, fd.ID); why != "" {
			return false, why, ""
		}
		how += " and its fingerprint (search key)"
	}
	return true, fmt.Sprintf("the target took the source's %s stream and %q read back with %s equal", dialect, it.Subject, how), ""
}

// probeFingerprint checks that the target lists the imported item under
// the source item's fingerprint, the engine's only way to find an unstamped
// import again; it says why not, or "".
func probeFingerprint(ctx context.Context, src mailbox.Source, dst mailbox.Target, it mailbox.Item, folderID string) string {
	fp, ok := dst.(mailbox.Fingerprinter)
	if !ok {
		return fmt.Sprintf("the target (%s) stamps no import and cannot list fingerprints: an import could be duplicated after a crash", dst.Capabilities().Backend)
	}
	want := it.Fingerprint
	if want == "" {
		if fr, ok := src.(mailbox.FingerprintReader); ok {
			var err error
			if want, err = fr.Fingerprint(ctx, it.ID); err != nil {
				return fmt.Sprintf("the source's fingerprint (search key) of %q could not be read: %v", it.Subject, err)
			}
		}
	}
	if want == "" {
		return fmt.Sprintf("the source gives no fingerprint (search key) for %q: an import could not be found again after a crash", it.Subject)
	}
	found := false
	err := fp.Fingerprints(ctx, folderID, func(_, print string) error {
		if print == want {
			found = true
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return "the target's fingerprints could not be listed: " + err.Error()
	}
	if !found {
		return fmt.Sprintf("the target did not keep the fingerprint (search key) of %q on import: an import could not be found again after a crash, and could be duplicated", it.Subject)
	}
	return ""
}

func removeProbeItem(ctx context.Context, dst mailbox.Target, id string) string {
	del, ok := dst.(mailbox.Deleter)
	if !ok {
		return "the target cannot remove items: remove it by hand"
	}
	switch err := del.DeleteItem(ctx, id); {
	case err == nil:
		return ""
	case errors.Is(err, mailbox.ErrWouldSend):
		return "not removed: removing it would send a cancellation; remove it by hand after telling its attendees, or leave it"
	default:
		return "not removed: " + err.Error()
	}
}

// compareProbe compares what matters of the kind: the typed properties of
// a calendar item, contact or task, and the subject and class of the rest
// (their MIME is the service's own rendering on either side).
func compareProbe(ctx context.Context, src mailbox.Source, dst mailbox.Target, it mailbox.Item, targetID, folderID string) (diff, how string) {
	kind := it.Kind()
	typed := kind == mailbox.KindCalendar || kind == mailbox.KindContacts || kind == mailbox.KindTasks
	srcReads := slices.ContainsFunc(src.Capabilities().Reader(mailbox.ScopePrimary, kind), func(p mailbox.Path) bool { return p.Format == mailbox.FormatTyped })
	reader, ok := dst.(mailbox.ContentReader)
	if typed && srcReads && ok {
		a, err := readTyped(ctx, src, it.ID)
		if err != nil {
			return "the source's item: " + err.Error(), ""
		}
		b, err := readTyped(ctx, reader, targetID)
		switch {
		case errors.Is(err, mailbox.ErrNotFound):
			// The id an import returned is not one the target's typed
			// API takes (Graph's import/export ids are their own): the
			// listing below compares what it can.
		case err != nil:
			return "the target's item: " + err.Error(), ""
		case !reflect.DeepEqual(a, b):
			return fmt.Sprintf("typed properties differ:\nsource %+v\ntarget %+v", a, b), ""
		default:
			return "", "every typed property"
		}
	}
	got, found, err := scratchItem(ctx, dst, folderID, targetID, it)
	if err != nil {
		return "the target's listing: " + err.Error(), ""
	}
	if !found {
		return "the item is not in the target's folder", ""
	}
	// The class as each side's listing names it can differ (Graph lists
	// every message as IPM.Note): the kind must not.
	if got.Subject != it.Subject || got.Kind() != it.Kind() {
		return fmt.Sprintf("subject %q class %q on the target, %q %q at the source", got.Subject, got.Class, it.Subject, it.Class), ""
	}
	return "", "its subject and kind"
}

// readTyped reads an item's typed body and decodes it, the UID left out
// (a service may make its own).
func readTyped(ctx context.Context, r mailbox.ContentReader, id string) (any, error) {
	rc, err := r.OpenItem(ctx, id, mailbox.FormatTyped)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxUpdateBody+1))
	if err != nil {
		return nil, err
	}
	kind, err := mailbox.TypedKindOf(data)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "calendar":
		e, err := mailbox.DecodeEvent(bytes.NewReader(data))
		e.UID = ""
		return e, err
	case "tasks":
		return mailbox.DecodeTask(bytes.NewReader(data))
	case "contactgroup":
		return mailbox.DecodeContactGroup(bytes.NewReader(data))
	default:
		return mailbox.DecodeContact(bytes.NewReader(data))
	}
}

// scratchItem finds the target item by its id in the scratch folder: by
// the folder's changes when the target reads them (an imported item may
// carry no stamp), else by its stamps.
func scratchItem(ctx context.Context, dst mailbox.Target, folderID, id string, sample mailbox.Item) (mailbox.Item, bool, error) {
	if cr, ok := dst.(mailbox.ChangeReader); ok {
		// The import's id may not be the listing's (Graph's import/export
		// ids are their own): the one item of the sample's subject and
		// kind in the scratch folder is then the one written.
		var alike []mailbox.Item
		state := ""
		for {
			page, err := cr.Changes(ctx, folderID, state)
			if err != nil {
				return mailbox.Item{}, false, err
			}
			for _, ch := range page.Changes {
				if ch.Item.ID == id {
					return ch.Item, true, nil
				}
				if ch.Item.Subject == sample.Subject && ch.Item.Kind() == sample.Kind() {
					alike = append(alike, ch.Item)
				}
			}
			if !page.More {
				if len(alike) == 1 {
					return alike[0], true, nil
				}
				return mailbox.Item{}, false, nil
			}
			state = page.State
		}
	}
	var hit mailbox.Item
	err := dst.Stamps(ctx, folderID, func(it mailbox.Item) error {
		if it.ID == id {
			hit = it
			return errEnough
		}
		return nil
	})
	if errors.Is(err, errEnough) {
		return hit, true, nil
	}
	return mailbox.Item{}, false, err
}

// kindItems names a kind's items in a sentence: "calendar items",
// "contacts", "tasks", "mail".
func kindItems(k mailbox.Kind) string {
	switch k {
	case mailbox.KindCalendar, mailbox.KindOther:
		return string(k) + " items"
	}
	return string(k)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
