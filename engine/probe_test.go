package engine_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
	"github.com/exmigrate/exmigrate/mailbox/memory"
)

// ffCaps is typedCaps plus full fidelity for every kind: read in the
// dialect read, written in the dialects accept.
func ffCaps(read string, accept ...string) mailbox.Capabilities {
	c := typedCaps()
	for _, k := range mailbox.Kinds() {
		c.Reads = append(c.Reads, mailbox.Path{Store: mailbox.ScopePrimary, Kind: k, Format: mailbox.FormatFullFidelity, Dialect: read})
		for _, d := range accept {
			c.Writes = append(c.Writes, mailbox.Path{Store: mailbox.ScopePrimary, Kind: k, Format: mailbox.FormatFullFidelity, Dialect: d})
		}
	}
	return c
}

// probeFixture is a source with a mail item, an appointment and a task,
// and a target declaring what dst says.
func probeFixture(t *testing.T, dst mailbox.Capabilities) (*memory.Mailbox, *memory.Service, *memory.Mailbox) {
	t.Helper()
	src := memory.New(memory.WithCapabilities(ffCaps("mem-a", "mem-a"))).AddMailbox("ana@contoso.com")
	ctx := context.Background()
	write := func(path, class string, body []byte, format mailbox.Format) {
		id, ok := src.FolderByPath(mailbox.ScopePrimary, path)
		if !ok {
			t.Fatalf("no %s", path)
		}
		if _, err := src.CreateItem(ctx, id, mailbox.Payload{Item: mailbox.Item{Class: class, Subject: path + " sample"}, Format: format,
			Body: bytes.NewReader(body), Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
	}
	write("Inbox", mailbox.ClassMessage, []byte("Subject: Inbox sample\r\n\r\nhello\r\n"), mailbox.FormatMIME)
	write("Calendar", mailbox.ClassAppointment, enc(mailbox.EncodeEvent(mailboxtest.SampleAppointment())), mailbox.FormatTyped)
	write("Tasks", mailbox.ClassTask, enc(mailbox.EncodeTask(mailboxtest.SampleTask())), mailbox.FormatTyped)
	svc := memory.New(memory.WithCapabilities(dst))
	return src, svc, svc.AddMailbox("ana@fabrikam.com")
}

func verdicts(res *engine.ProbeResult) map[mailbox.Kind]engine.ProbeKind {
	out := map[mailbox.Kind]engine.ProbeKind{}
	for _, k := range res.Kinds {
		out[k.Kind] = k
	}
	return out
}

// scratchCount counts the items left in the target's scratch folders.
func scratchCount(t *testing.T, mb *memory.Mailbox) int {
	t.Helper()
	folders, err := mb.Folders(context.Background(), mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range folders {
		if strings.HasPrefix(f.Path, engine.ProbeFolderName) {
			mb.Items(context.Background(), f.ID, func(mailbox.Item) error { n++; return nil })
		}
	}
	return n
}

var probeTime = time.Date(2026, 11, 29, 22, 0, 0, 0, time.UTC)

// TestProbeAcceptsItsOwnDialect: a target that takes the source's stream
// is probed kind by kind, every kind with a sample reads back equal, the
// scratch items are removed, and the verdict is full fidelity.
func TestProbeAcceptsItsOwnDialect(t *testing.T) {
	src, svc, dst := probeFixture(t, ffCaps("mem-a", "mem-a"))
	res, err := engine.Probe(context.Background(), src, dst, probeTime)
	if err != nil {
		t.Fatal(err)
	}
	v := verdicts(res)
	for _, k := range []mailbox.Kind{mailbox.KindMail, mailbox.KindCalendar, mailbox.KindTasks} {
		if !v[k].Accepted || v[k].Path != "full-fidelity" || v[k].Left != "" {
			t.Errorf("%s: %+v, want accepted, full-fidelity, removed", k, v[k])
		}
	}
	if v[mailbox.KindContacts].Subject != "" || v[mailbox.KindContacts].Path != "typed" || !strings.Contains(v[mailbox.KindContacts].Why, "no contact to probe") {
		t.Errorf("contacts without a sample: %+v", v[mailbox.KindContacts])
	}
	if !res.AcceptedDialect() || res.Dialect != "mem-a" || !strings.HasPrefix(res.Folder, engine.ProbeFolderName+" 2026-11-29") {
		t.Errorf("result: %+v", res)
	}
	if n := scratchCount(t, dst); n != 0 {
		t.Errorf("%d scratch items left on the target", n)
	}
	if svc.Writes() == 0 {
		t.Error("the probe wrote nothing")
	}
}

// TestProbeRefusedDialect: a target that does not take the source's
// stream gets nothing written, and each kind falls back to its planned
// path with the target's refusal as the reason.
func TestProbeRefusedDialect(t *testing.T) {
	src, _, dst := probeFixture(t, ffCaps("mem-b", "mem-b"))
	res, err := engine.Probe(context.Background(), src, dst, probeTime)
	if err != nil {
		t.Fatal(err)
	}
	v := verdicts(res)
	if v[mailbox.KindCalendar].Accepted || v[mailbox.KindCalendar].Path != "typed" || !strings.Contains(v[mailbox.KindCalendar].Why, "refused") ||
		v[mailbox.KindMail].Path != "mime" || res.AcceptedDialect() {
		t.Errorf("verdicts: %+v", res.Kinds)
	}
	if n := scratchCount(t, dst); n != 0 {
		t.Errorf("%d scratch items on the target", n)
	}
}

// alteringTarget stands for a service that takes the stream but does not
// give the item back whole.
type alteringTarget struct{ *memory.Mailbox }

func (a alteringTarget) CreateItem(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	if p.Item.Kind() != mailbox.KindCalendar {
		return a.Mailbox.CreateItem(ctx, folderID, p)
	}
	ev := mailboxtest.SampleAppointment()
	ev.Location = "somewhere else"
	body := enc(mailbox.EncodeEvent(ev))
	p.Format, p.Body, p.Size = mailbox.FormatTyped, bytes.NewReader(body), int64(len(body))
	return a.Mailbox.CreateItem(ctx, folderID, p)
}

// wouldSend stands for a target whose removal of a meeting would send a
// cancellation.
type wouldSend struct{ alteringTarget }

func (wouldSend) DeleteItem(context.Context, string) error { return mailbox.ErrWouldSend }

func TestProbeFindsDifferencesAndLeavesWhatItCannotRemoveSilently(t *testing.T) {
	src, _, dst := probeFixture(t, ffCaps("mem-a", "mem-a"))
	res, err := engine.Probe(context.Background(), src, wouldSend{alteringTarget{dst}}, probeTime)
	if err != nil {
		t.Fatal(err)
	}
	cal := verdicts(res)[mailbox.KindCalendar]
	if cal.Accepted || cal.Path != "typed" || !strings.Contains(cal.Why, "differs") || !strings.Contains(cal.Why, "somewhere else") ||
		!strings.Contains(cal.Left, "would send a cancellation") {
		t.Errorf("calendar: %+v", cal)
	}
	if res.AcceptedDialect() {
		t.Error("a dialect with a differing kind is accepted")
	}
	if n := scratchCount(t, dst); n != 3 {
		t.Errorf("%d scratch items left, want the 3 it could not remove silently", n)
	}
}

// TestProbeTargetWithoutFullFidelity: a target that declares no
// full-fidelity write is not written to; the verdict says why.
func TestProbeTargetWithoutFullFidelity(t *testing.T) {
	src, svc, dst := probeFixture(t, typedCaps())
	res, err := engine.Probe(context.Background(), src, dst, probeTime)
	if err != nil {
		t.Fatal(err)
	}
	cal := verdicts(res)[mailbox.KindCalendar]
	if cal.Accepted || cal.Path != "typed" || !strings.Contains(cal.Why, "no full-fidelity write") || svc.Writes() != 0 || res.Folder != "" {
		t.Errorf("calendar %+v, %d writes, folder %q", cal, svc.Writes(), res.Folder)
	}
}

// smallStreams stands for EWS UploadItems: a full-fidelity write over
// its limit is refused before its body is read.
type smallStreams struct{ *memory.Mailbox }

func (s smallStreams) CreateItem(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	if p.Format == mailbox.FormatFullFidelity && p.Size > 100 {
		return "", &mailbox.ItemTooLargeError{Size: p.Size, Limit: 100}
	}
	return s.Mailbox.CreateItem(ctx, folderID, p)
}

// TestTooLargeForTheStreamFallsBack: an item over the full-fidelity
// stream's limit is copied on the kind's next path (MIME for mail), the
// refused attempt and the new write both on record, and a small one
// keeps full fidelity.
func TestTooLargeForTheStreamFallsBack(t *testing.T) {
	f := newFixture(t, memory.WithCapabilities(ffCaps("mem-a", "mem-a")))
	f.src = memory.New(memory.WithPageSize(7), memory.WithCapabilities(ffCaps("mem-a", "mem-a")))
	f.srcMB = f.src.AddMailbox(key.SourceAddress)
	inbox := mustFolder(t, f.srcMB, "Inbox")
	big := "Subject: big\r\n\r\n" + strings.Repeat("x", 400) + "\r\n"
	f.srcMB.Seed(inbox, mailbox.Item{Class: mailbox.ClassMessage, Subject: "big", SizeBytes: int64(len(big))}, []byte(big))
	f.srcMB.Seed(inbox, mailbox.Item{Class: mailbox.ClassMessage, Subject: "small", SizeBytes: 20}, []byte("Subject: small\r\n\r\nx\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := f.copier(f.store).Copy(ctx, key, f.srcMB, smallStreams{f.dstMB})
	if res.Err != nil || res.ItemsCopied != 2 || res.Skipped != 0 {
		t.Fatalf("copied %d, skipped %d (%v), err %v", res.ItemsCopied, res.Skipped, res.SkipReasons, res.Err)
	}
	if started, ok, failed := f.audit.count("item.create", "started"), f.audit.count("item.create", "ok"), f.audit.count("item.create", "error"); started != 3 || ok != 2 || failed != 1 {
		t.Errorf("audit: %d started, %d ok, %d error; want 3, 2, 1 (the refused stream, then MIME)", started, ok, failed)
	}
	for _, it := range f.targetItems(t, mailbox.ScopePrimary)["Inbox"] {
		rc, err := f.dstMB.OpenItem(ctx, it.ID, mailbox.FormatMIME)
		if err != nil {
			t.Errorf("%s is not readable as MIME on the target: %v", it.Subject, err)
			continue
		}
		rc.Close()
	}
}

// forgetfulTarget is a target whose listing of unstamped items shows other
// fingerprints than the imports carried: a service that does not keep the
// search key on import.
type forgetfulTarget struct{ *memory.Mailbox }

func (f forgetfulTarget) Fingerprints(ctx context.Context, folderID string, fn func(string, string) error) error {
	return f.Mailbox.Fingerprints(ctx, folderID, func(id, _ string) error { return fn(id, "00"+id) })
}

// TestProbeChecksTheFingerprint: into a target whose imports carry no
// stamp, full fidelity is taken only when the import keeps the source's
// fingerprint, the engine's one way to find it again after a crash.
func TestProbeChecksTheFingerprint(t *testing.T) {
	caps := ffCaps("mem-a", "mem-a")
	caps.UnstampedImports = true
	for _, tt := range []struct {
		name string
		keep bool
	}{{"kept", true}, {"lost", false}} {
		t.Run(tt.name, func(t *testing.T) {
			src, _, dst := probeFixture(t, caps)
			var target mailbox.Target = dst
			if !tt.keep {
				target = forgetfulTarget{dst}
			}
			res, err := engine.Probe(context.Background(), src, target, probeTime)
			if err != nil {
				t.Fatal(err)
			}
			mail := verdicts(res)[mailbox.KindMail]
			if tt.keep && (!mail.Accepted || !strings.Contains(mail.Why, "fingerprint")) {
				t.Errorf("the import kept the fingerprint: %+v", mail)
			}
			if !tt.keep && (mail.Accepted || mail.Path != "mime" || !strings.Contains(mail.Why, "did not keep the fingerprint")) {
				t.Errorf("the import lost the fingerprint: %+v", mail)
			}
			if n := scratchCount(t, dst); n != 0 {
				t.Errorf("%d scratch items left", n)
			}
		})
	}
}

// TestProbeAfterAKilledProbe: a probe killed after its import leaves its
// scratch item behind on a target that cannot remove it; the next probe,
// in the same minute, still reads its own sample back unambiguously.
func TestProbeAfterAKilledProbe(t *testing.T) {
	caps := ffCaps("mem-a", "mem-a")
	caps.UnstampedImports = true
	src, _, dst := probeFixture(t, caps)
	target := noDelete{dst}
	for i := range 2 {
		res, err := engine.Probe(context.Background(), src, target, probeTime)
		if err != nil {
			t.Fatal(err)
		}
		if mail := verdicts(res)[mailbox.KindMail]; !mail.Accepted {
			t.Errorf("probe %d: mail %+v", i+1, mail)
		}
	}
}

// noDelete is a target like Graph's import API: it cannot remove what it
// imported, and an import's id is not the one its listing shows.
type noDelete struct{ *memory.Mailbox }

func (noDelete) DeleteItem() {}

func (n noDelete) CreateItem(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	id, err := n.Mailbox.CreateItem(ctx, folderID, p)
	if err != nil || p.Format != mailbox.FormatFullFidelity {
		return id, err
	}
	return "import-" + id, nil
}
