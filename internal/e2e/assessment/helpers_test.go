// Package assessment_test drives `exmigrate assess` end to end: the real EWS
// and Graph clients (built by internal/backend from the lab's config file)
// over HTTPS against the fakes served by internal/lab, through the
// dispatcher's Assessor and the mapping package. Nothing is mocked.
package assessment_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mapping"
	"github.com/exmigrate/exmigrate/reports"
)

const domain = "contoso.com"

// env is a running lab with the real clients connected to it the way the
// commands connect them (config file, secret files, CA bundle).
type env struct {
	lab   *lab.Lab
	cfg   *config.Config
	sides *backend.Sides
	disp  *dispatch.Dispatcher
	log   *slog.Logger
	// exports stand for the Exchange PowerShell exports `assess` takes.
	exports *mapping.Exports
}

func testLogger() *slog.Logger {
	if os.Getenv("E2E_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// emptyScenario is an organisation with no mailboxes: tests seed the fakes
// themselves through the ewstest and graphtest fixtures.
func emptyScenario(pf ...lab.PublicFolderSpec) *lab.Scenario {
	return &lab.Scenario{Organisation: "Contoso (assessment tests)", Domain: domain, CloudDomain: "contoso.onmicrosoft.com",
		Seed: 7, PublicFolders: pf}
}

func startEnv(t testing.TB, sc *lab.Scenario) *env {
	t.Helper()
	return startEnvOpts(t, sc, lab.Options{})
}

func startEnvOpts(t testing.TB, sc *lab.Scenario, opts lab.Options) *env {
	t.Helper()
	ctx := context.Background()
	opts.Dir, opts.Scenario, opts.Logger = filepath.Join(t.TempDir(), "lab"), sc, testLogger()
	opts.Ephemeral = true // the tests seed the fakes beyond the scenario: nothing to keep
	l, err := lab.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	cfg, err := config.Load(l.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{lab: l, cfg: cfg, log: testLogger()}
	if e.sides, err = backend.Connect(ctx, cfg, e.log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.sides.Close)
	e.disp = e.sides.Dispatcher(e.log)
	return e
}

// locate places and opens every entry the way cmd/exmigrate/assess.go does.
func (e *env) locate(ctx context.Context, entries []csvinput.Entry) []dispatch.Located {
	out := make([]dispatch.Located, len(entries))
	for i, en := range entries {
		route, err := e.disp.Locate(ctx, en)
		out[i] = dispatch.Located{Route: route, Err: err}
		if err != nil {
			continue
		}
		side := e.disp.OnPrem
		if route.Location == mailbox.LocationCloud {
			side = e.disp.Cloud
		}
		out[i].Mailbox = side.Open(route.Entry.Address)
	}
	return out
}

// assess runs the assessment of entries as `exmigrate assess` does; with
// publicFolders it also reads the on-prem public folder tree.
func (e *env) assess(t testing.TB, entries []csvinput.Entry, limits mapping.Limits, publicFolders bool) *reports.Assessment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	located := e.locate(ctx, entries)
	var pf []mailbox.Folder
	var pfErr error
	if publicFolders {
		pf, pfErr = e.sides.EWS.PublicFolders(ctx)
	}
	// As `exmigrate assess` does: each mailbox is planned against its
	// counterpart on the other side.
	a := &dispatch.Assessor{Limits: limits, Parallel: 4, Log: e.log, Tool: "exmigrate assessment tests", Exports: e.exports,
		Target: e.disp.Counterpart}
	res, err := a.Assess(ctx, located, pf, pfErr)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func entry(addr string) csvinput.Entry {
	return csvinput.Entry{Address: addr, Target: addr, Location: mailbox.LocationAuto}
}

func entries(addrs ...string) []csvinput.Entry {
	out := make([]csvinput.Entry, len(addrs))
	for i, a := range addrs {
		out[i] = entry(a)
	}
	return out
}

var msgN atomic.Int64

// smallMIME is a minimal RFC 5322 message (a few hundred bytes) so that
// large seeded mailboxes stay cheap in memory.
func smallMIME(subject string) []byte {
	n := msgN.Add(1)
	return fmt.Appendf(nil, "From: sender%d@fabrikam.com\r\nTo: user@%s\r\nSubject: %s\r\nMessage-ID: <m%d@assessment.test>\r\n"+
		"Date: Mon, 4 Mar 2024 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMessage %d.\r\n",
		n, domain, subject, n, n)
}

func mailItem(subject string) ewstest.Item {
	return ewstest.Item{MIME: smallMIME(subject), Subject: subject, Received: time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC),
		Sent: time.Date(2024, 3, 4, 8, 59, 0, 0, time.UTC), IsRead: true}
}

// addMail seeds n small messages into a folder of an on-prem mailbox.
func addMail(f *ewstest.FolderFixture, n int) {
	for i := range n {
		f.AddItem(mailItem(fmt.Sprintf("Message %d", i+1)))
	}
}

// zeroReader serves a large item's content without holding it in memory.
type zeroReader struct{ left int64 }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), z.left)
	clear(p[:n])
	z.left -= n
	return int(n), nil
}
func (z *zeroReader) Close() error { return nil }

// bigItem is an item of the given size; only FindItem's size is read by the
// assessment, but the content is there if something opens it.
func bigItem(subject string, size int64) ewstest.Item {
	head := fmt.Sprintf("Subject: %s\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n\r\n", subject)
	return ewstest.Item{Subject: subject, Size: size, InternetMessageID: "<" + strings.ReplaceAll(subject, " ", "-") + "@assessment.test>",
		Received: time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC), Sent: time.Date(2024, 3, 1, 8, 59, 0, 0, time.UTC), IsRead: true,
		Open: func() (io.ReadCloser, error) {
			return multiReadCloser{strings.NewReader(head), &zeroReader{left: size - int64(len(head))}}, nil
		}}
}

// addCloudMail seeds n messages into a folder of a cloud mailbox.
func addCloudMail(fx *graphtest.MailboxFixture, path string, n int) {
	fx.Folder(path)
	for i := range n {
		subject := fmt.Sprintf("Cloud message %d", i+1)
		fx.AddMessage(path, graphtest.Message{Subject: subject, BodyType: "text", Body: "Hello.", From: "sender@fabrikam.com",
			To: []string{fx.Address()}, Importance: "normal", FlagStatus: "notFlagged",
			InternetMessageID: fmt.Sprintf("<c%d@assessment.test>", msgN.Add(1)), IsRead: true,
			Received: time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC), Sent: time.Date(2024, 3, 4, 8, 59, 0, 0, time.UTC)})
	}
}

// findings returns the findings of one code (and mailbox, "" for any).
func findings(a *reports.Assessment, code, mbx string) []reports.Finding {
	var out []reports.Finding
	for _, f := range a.Findings {
		if (code == "" || f.Code == code) && (mbx == "" || strings.EqualFold(f.Mailbox, mbx)) {
			out = append(out, f)
		}
	}
	return out
}

func mailboxOf(t testing.TB, a *reports.Assessment, addr string) reports.MailboxAssessment {
	t.Helper()
	for _, m := range a.Mailboxes {
		if strings.EqualFold(m.Address, addr) {
			return m
		}
	}
	t.Fatalf("%s is not in the assessment", addr)
	return reports.MailboxAssessment{}
}

type multiReadCloser struct {
	head io.Reader
	rest io.ReadCloser
}

func (m multiReadCloser) Read(p []byte) (int, error) {
	n, err := m.head.Read(p)
	if err == io.EOF {
		return m.rest.Read(p)
	}
	return n, err
}

func (m multiReadCloser) Close() error { return m.rest.Close() }
