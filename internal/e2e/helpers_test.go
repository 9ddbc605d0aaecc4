// Package e2e runs exmigrate's copy engine end to end: the real EWS and
// Graph clients over HTTPS against the fakes served by internal/lab, the
// SQLite state store and the audit log, in-process or as the built binary.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode non-UTF-8 headers while hashing

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/internal/state"
	"github.com/exmigrate/exmigrate/mailbox"
)

// env is a running lab with the real clients connected to it.
type env struct {
	lab   *lab.Lab
	sides *backend.Sides
	disp  *dispatch.Dispatcher
	store *state.SQLite
	audit engine.FileAuditor
	log   *slog.Logger
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("E2E_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// startLab serves a scenario and connects the real clients to it exactly as
// `exmigrate copy` does (config file, secrets files, CA bundle).
func startLab(t testing.TB, sc *lab.Scenario, opts lab.Options) *env {
	t.Helper()
	ctx := context.Background()
	opts.Dir = filepath.Join(t.TempDir(), "lab")
	opts.Scenario = sc
	opts.Ephemeral = true // the tests seed the fakes beyond the scenario: nothing to keep
	l, err := lab.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	e := &env{lab: l, log: testLogger(t)}
	cfg, err := config.Load(l.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	e.sides, err = backend.Connect(ctx, cfg, e.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.sides.Close)
	e.disp = e.sides.Dispatcher(e.log)
	e.store, err = state.Open(ctx, filepath.Join(l.Dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.store.Close() })
	al, err := audit.Open(filepath.Join(l.Dir, "audit.jsonl"), e.sides.Operator(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = al.Close() })
	e.audit = engine.FileAuditor{Log: al, Operator: e.sides.Operator}
	return e
}

// copyOnce runs one pass of the engine for one mailbox of the list.
func (e *env) copyOnce(t testing.TB, entry csvinput.Entry, dir dispatch.Direction, opts engine.CopyOptions) *engine.MailboxResult {
	t.Helper()
	ctx := context.Background()
	route, err := e.disp.Locate(ctx, entry)
	if err != nil {
		t.Fatal(err)
	}
	src, dst, key, err := e.disp.Open(route, dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &engine.Copier{Store: e.store, Log: e.log, Options: opts}
	if !opts.DryRun {
		c.Audit = e.audit
	}
	res := c.Copy(ctx, key, src, dst)
	if res.Err != nil {
		t.Fatalf("copy %s -> %s: %v", entry.Address, entry.Target, res.Err)
	}
	e.assertNothingSent(t)
	return res
}

// assertNothingSent fails the test if either fake has sent a meeting
// message (an invitation, update or cancellation) since the lab started:
// no copy may make a service send anything.
func (e *env) assertNothingSent(t testing.TB) {
	t.Helper()
	if ews, graph := e.lab.EWS.MeetingMessagesSent(), e.lab.Graph.MeetingMessagesSent(); ews != 0 || graph != 0 {
		t.Errorf("the services sent meeting messages: %d on-prem, %d in the cloud; a copy must send nothing", ews, graph)
	}
}

// copyWithNewState runs one pass with a new, empty state file (the old one
// lost), as copyOnce does, and fails the test if the pass wrote anything:
// the stamps on the target must tell it all.
func (e *env) copyWithNewState(t *testing.T, entry csvinput.Entry, dir dispatch.Direction) *engine.MailboxResult {
	t.Helper()
	return e.copyWithNewStateOpts(t, entry, dir, testOptions())
}

// copyWithNewStateOpts is copyWithNewState with the given options.
func (e *env) copyWithNewStateOpts(t *testing.T, entry csvinput.Entry, dir dispatch.Direction, opts engine.CopyOptions) *engine.MailboxResult {
	t.Helper()
	fresh, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "new-state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	old := e.store
	e.store = fresh
	defer func() { e.store = old }()
	ewsW, graphW := e.lab.EWS.Writes(), e.lab.Graph.Writes()
	res := e.copyOnce(t, entry, dir, opts)
	if d := e.lab.Graph.Writes() - graphW + e.lab.EWS.Writes() - ewsW; d != 0 {
		t.Errorf("the pass with a new state wrote %d times", d)
	}
	return res
}

// testOptions are the engine's defaults with a short backoff, so that the
// injected faults cost little wall time.
func testOptions() engine.CopyOptions {
	return engine.CopyOptions{MaxSkipped: -1, ItemWorkers: 4, Attempts: 8,
		BackoffBase: 50 * time.Millisecond, BackoffMax: 2 * time.Second}
}

func mustScenario(t testing.TB, doc string) *lab.Scenario {
	t.Helper()
	sc, err := lab.ParseScenario([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// ------------------------------------------------------------ comparison

// The content key of an item. Both fakes expose, for every item, its
// subject, Internet Message-ID, received and sent times, read state and
// draft flag.
// For the content we add the decoded sizes of its file attachments, sorted:
// on the EWS side (and for Graph items seeded with MIME) from parsing the
// stored MIME; for messages the Graph client created from JSON, from the
// attachments the Graph fake stored. Sizes of whole items cannot be
// compared (MIME, JSON and base64 framing differ), but decoded attachment
// sizes must survive the conversion byte for byte. Dates are compared at
// second precision in UTC, since both wire formats carry seconds.
type itemKey struct {
	Subject   string
	MessageID string
	Received  string
	Sent      string
	IsRead    bool
	Attach    string // decoded attachment sizes, sorted, comma-separated
	// Properties: importance, categories and flag, lower-cased, as
	// "high|projects,red|flagged" (EWS and Graph spell them differently).
	Props string
}

func (k itemKey) String() string {
	return fmt.Sprintf("%q %s recv=%s sent=%s read=%v att=[%s] props=%s", k.Subject, k.MessageID, k.Received, k.Sent, k.IsRead, k.Attach, k.Props)
}

// folderView is what one side holds in one folder.
type folderView struct {
	keys     map[itemKey]int // multiset: a duplicate shows as 2
	stamps   map[string]int  // SourceID stamp -> occurrences
	drafts   int
	unstamps int // items without a stamp
	n        int
}

func newView() *folderView {
	return &folderView{keys: map[itemKey]int{}, stamps: map[string]int{}}
}

func (v *folderView) add(k itemKey, stamp string, draft bool) {
	v.keys[k]++
	v.n++
	if draft {
		v.drafts++
	}
	if stamp == "" {
		v.unstamps++
	} else {
		v.stamps[stamp]++
	}
}

// remove takes the items with a subject out of the view (items the test
// expects to be skipped).
func (v *folderView) remove(t testing.TB, subject string) {
	t.Helper()
	for k, n := range v.keys {
		if k.Subject == subject {
			delete(v.keys, k)
			v.n -= n
		}
	}
}

// attachmentSizes parses MIME and lists the decoded sizes of its file
// attachments (parts with a filename or an attachment disposition, and
// calendar parts).
func attachmentSizes(r io.Reader) (string, error) {
	ent, err := message.Read(r)
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return "", err
	}
	var sizes []int64
	err = ent.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil {
			return nil // an odd part is not what we compare
		}
		if part.MultipartReader() != nil {
			return nil
		}
		disp, params, _ := part.Header.ContentDisposition()
		ct, ctParams, _ := part.Header.ContentType()
		// A meeting request's text/calendar part has no place in Graph's
		// JSON message but as a file attachment, so it counts as one.
		if disp != "attachment" && params["filename"] == "" && ctParams["name"] == "" && ct != "text/calendar" {
			return nil
		}
		n, err := io.Copy(io.Discard, part.Body)
		if err != nil {
			return fmt.Errorf("attachment: %w", err)
		}
		sizes = append(sizes, n)
		return nil
	})
	if err != nil {
		return "", err
	}
	return joinSizes(sizes), nil
}

func joinSizes(sizes []int64) string {
	slices.Sort(sizes)
	parts := make([]string, len(sizes))
	for i, s := range sizes {
		parts[i] = fmt.Sprint(s)
	}
	return strings.Join(parts, ",")
}

// subjectKey decodes RFC 2047 encoded words. Exchange decodes a MIME
// subject when CreateItem stores it; the EWS fake keeps the raw header
// (reported as a fake bug), so the comparison decodes on both sides.
func subjectKey(s string) string {
	if d, err := new(mime.WordDecoder).DecodeHeader(s); err == nil {
		return d
	}
	return s
}

// propsKey normalises importance, categories and flag; an empty value is
// the default (normal, none, not flagged).
func propsKey(importance string, categories []string, flag string) string {
	if importance == "" {
		importance = "normal"
	}
	if flag == "" {
		flag = "notflagged"
	}
	cats := make([]string, len(categories))
	for i, c := range categories {
		cats[i] = strings.ToLower(c)
	}
	slices.Sort(cats)
	return strings.ToLower(importance) + "|" + strings.Join(cats, ",") + "|" + strings.ToLower(flag)
}

func receivedKey(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// ewsView reads a folder of the EWS fake. Items seeded as streams (the
// large items) carry no stored MIME; their content is read through the
// real EWS client, as the engine reads it.
func (e *env) ewsView(t testing.TB, address, path string) *folderView {
	t.Helper()
	f := e.lab.EWS.AddMailbox(address).Folder(path)
	v := newView()
	for _, it := range f.Items() {
		var body io.Reader = bytes.NewReader(it.MIME)
		if it.MIME == nil {
			rc, err := e.sides.EWS.Mailbox(address).OpenMIME(context.Background(), it.ID)
			if err != nil {
				t.Fatalf("%s %s: read %q: %v", address, path, it.Subject, err)
			}
			defer rc.Close()
			body = rc
		}
		att, err := attachmentSizes(body)
		if err != nil {
			t.Fatalf("%s %s: %q: %v", address, path, it.Subject, err)
		}
		k := itemKey{Subject: subjectKey(it.Subject), MessageID: it.InternetMessageID, Received: receivedKey(it.Received), Sent: receivedKey(it.Sent), IsRead: it.IsRead, Attach: att,
			Props: propsKey(it.Importance, it.Categories, it.Flag)}
		v.add(k, it.SourceID, it.IsDraft)
	}
	return v
}

// graphView reads a folder of the Graph fake.
func (e *env) graphView(t testing.TB, address, path string) *folderView {
	t.Helper()
	fx := e.lab.Graph.Mailbox(address)
	if fx == nil {
		t.Fatalf("graph: no mailbox %s", address)
	}
	v := newView()
	for _, m := range fx.Messages(path) {
		var att string
		if m.MIME != nil {
			var err error
			if att, err = attachmentSizes(bytes.NewReader(m.MIME)); err != nil {
				t.Fatalf("%s %s: %q: %v", address, path, m.Subject, err)
			}
		} else {
			var sizes []int64
			for _, a := range m.Attachments {
				if !a.IsInline {
					sizes = append(sizes, a.Size)
				}
			}
			att = joinSizes(sizes)
		}
		k := itemKey{Subject: subjectKey(m.Subject), MessageID: m.InternetMessageID, Received: receivedKey(m.Received), Sent: receivedKey(m.Sent), IsRead: m.IsRead, Attach: att,
			Props: propsKey(m.Importance, m.Categories, m.FlagStatus)}
		v.add(k, m.ExtendedProperties[sourceIDProp], m.IsDraft)
	}
	return v
}

var sourceIDProp = "String {" + mailbox.SourceIDPropertySet + "} Name " + mailbox.SourceIDPropertyName

// compareFolder checks that the target holds exactly the source's items:
// nothing missing, nothing extra, no duplicates, no drafts, every item
// stamped once.
func compareFolder(t testing.TB, path string, src, dst *folderView) {
	t.Helper()
	var missing, extra []string
	for k, n := range src.keys {
		if m := dst.keys[k]; m != n {
			missing = append(missing, fmt.Sprintf("%s: source %d, target %d", k, n, m))
		}
	}
	for k, m := range dst.keys {
		if _, ok := src.keys[k]; !ok {
			extra = append(extra, fmt.Sprintf("%s (x%d)", k, m))
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s: source %d items, target %d; %d differ, %d only on the target\n  differ: %s\n  extra: %s",
			path, src.n, dst.n, len(missing), len(extra), head(missing), head(extra))
	}
	if dst.drafts > 0 {
		t.Errorf("%s: %d items on the target are drafts", path, dst.drafts)
	}
	if dst.unstamps > 0 {
		t.Errorf("%s: %d items on the target carry no SourceID stamp", path, dst.unstamps)
	}
	for s, n := range dst.stamps {
		if n > 1 {
			t.Errorf("%s: stamp %s is on %d items (a duplicate)", path, s, n)
		}
	}
	if len(dst.stamps) != dst.n-dst.unstamps {
		t.Errorf("%s: %d distinct stamps for %d stamped items", path, len(dst.stamps), dst.n-dst.unstamps)
	}
}

func head(s []string) string {
	if len(s) > 5 {
		return strings.Join(s[:5], "\n    ") + fmt.Sprintf("\n    ... and %d more", len(s)-5)
	}
	return strings.Join(s, "\n    ")
}

// ------------------------------------------------------------ generated mail

// mailGen makes MIME messages for items added during a test.
type mailGen struct {
	rng    *rand.Rand
	domain string
	n      int
}

func newMailGen(seed uint64, domain string) *mailGen {
	return &mailGen{rng: rand.New(rand.NewPCG(seed, seed*31+1)), domain: domain}
}

type genMsg struct {
	MIME       []byte
	Subject    string
	MessageID  string
	Received   time.Time
	IsRead     bool
	AttachSize int // 0: no attachment
}

// next returns a message; attach > 0 adds a binary attachment of that many
// decoded bytes.
func (g *mailGen) next(to string, attach int) genMsg {
	g.n++
	m := genMsg{Subject: fmt.Sprintf("Added %d – Größe %d", g.n, g.rng.IntN(1000)),
		MessageID: fmt.Sprintf("<added-%d-%x@%s>", g.n, g.rng.Uint64(), g.domain),
		Received:  time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC).Add(time.Duration(g.n) * time.Minute),
		IsRead:    g.rng.IntN(2) == 0, AttachSize: attach}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Sender %d <sender%d@%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n",
		g.n, g.n, g.domain, to, mime.BEncoding.Encode("utf-8", m.Subject), m.Received.Format(time.RFC1123Z), m.MessageID)
	body := fmt.Sprintf("Message %d of the end-to-end test.\r\n", g.n)
	if attach == 0 {
		fmt.Fprintf(&b, "Content-Type: text/plain; charset=\"utf-8\"\r\n\r\n%s", body)
	} else {
		b.WriteString("Content-Type: multipart/mixed; boundary=\"e2e\"\r\n\r\n")
		fmt.Fprintf(&b, "--e2e\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n\r\n%s", body)
		fmt.Fprintf(&b, "--e2e\r\nContent-Type: application/octet-stream; name=\"data-%d.bin\"\r\nContent-Disposition: attachment; filename=\"data-%d.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", g.n, g.n)
		data := make([]byte, attach)
		for i := 0; i < len(data); i += 8 {
			v := g.rng.Uint64()
			for j := 0; j < 8 && i+j < len(data); j++ {
				data[i+j] = byte(v >> (8 * j))
			}
		}
		enc := base64.StdEncoding.EncodeToString(data)
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n--e2e--\r\n")
	}
	m.MIME = b.Bytes()
	return m
}

func (m genMsg) ewsItem() ewstest.Item {
	return ewstest.Item{MIME: m.MIME, Subject: m.Subject, InternetMessageID: m.MessageID,
		Received: m.Received, Sent: m.Received.Add(-time.Minute), IsRead: m.IsRead}
}

func (m genMsg) graphMessage(to string) graphtest.Message {
	gm := graphtest.Message{Subject: m.Subject, BodyType: "text", Body: "Message of the end-to-end test.",
		From: "sender@" + strings.SplitN(to, "@", 2)[1], To: []string{to}, InternetMessageID: m.MessageID,
		IsRead: m.IsRead, Received: m.Received, Sent: m.Received.Add(-time.Minute), MIME: m.MIME,
		Importance: "normal", FlagStatus: "notFlagged"}
	// Some messages carry the properties the copy must keep.
	h := fnv.New32a()
	h.Write([]byte(m.MessageID))
	switch h.Sum32() % 5 {
	case 1:
		gm.Importance, gm.Categories = "high", []string{"Projects"}
	case 2:
		gm.FlagStatus = "flagged"
	case 3:
		gm.Importance, gm.FlagStatus, gm.Categories = "low", "complete", []string{"Red category", "Kunden"}
	}
	if m.AttachSize > 0 {
		gm.Attachments = []graphtest.Attachment{{Name: "data.bin", ContentType: "application/octet-stream", Size: int64(m.AttachSize)}}
	}
	return gm
}

// graphClient is a Graph client of the lab's app built as the lab's config
// says, whose transport and config a test may adjust first (a shorter
// answer timeout, fewer retries, a logger).
func (e *env) graphClient(t testing.TB, adjust func(*http.Transport, *graphmail.Config)) *graphmail.Client {
	t.Helper()
	cfg, err := config.Load(e.lab.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(cfg.Path(cfg.Cloud.CABundle))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	gcfg := graphmail.Config{
		TenantID: cfg.Cloud.TenantID, ClientID: cfg.Cloud.ClientID, Auth: cfg.Cloud.Auth,
		CertificatePath: cfg.Path(cfg.Cloud.CertificatePath), BaseURL: cfg.Cloud.GraphBaseURL,
		AuthorityHost: cfg.Cloud.AuthorityHost, HTTPClient: &http.Client{Transport: tr},
		Logger: e.log, Limits: graphmail.DefaultLimits(),
	}
	if adjust != nil {
		adjust(tr, &gcfg)
	}
	gc, err := graphmail.NewClient(context.Background(), gcfg)
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

// eachJob calls fn with every job of the state file the children wrote and
// its counts.
func eachJob(t testing.TB, e *env, fn func(engine.JobRecord, engine.ItemCounts)) {
	t.Helper()
	st, err := state.Open(context.Background(), filepath.Join(e.lab.Dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	jobs, err := st.Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		c, err := st.Counts(context.Background(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		fn(j, c)
	}
}
