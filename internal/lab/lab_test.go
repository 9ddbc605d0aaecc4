package lab

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/config"
)

// The documented copy of the default scenario must be the one the lab
// serves.
func TestDefaultScenarioIsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "testdata", "lab", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, defaultScenario) {
		t.Error("testdata/lab/default.yaml differs from internal/lab/default.yaml; copy one over the other")
	}
}

func TestExampleScenariosParse(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "lab", "*.yaml"))
	if len(paths) < 3 {
		t.Fatalf("want at least 3 example scenarios, found %d", len(paths))
	}
	for _, p := range paths {
		if _, err := LoadScenario(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestScenarioErrors(t *testing.T) {
	tests := map[string]string{
		"mailboxes: [{address: nobody}]":                      `mailboxes[0].address: "nobody" is not an SMTP address`,
		"mailboxes: [{address: a@b.com, location: mars}]":     `mailboxes[0].location: "mars": use onprem or cloud`,
		"mailboxes: [{address: a@b.com}, {address: A@b.com}]": "mailboxes[1].address: A@b.com is listed twice",
		"mailboxes: [{address: a@b.com, type: kiosk}]":        `mailboxes[0].type: "kiosk": use user, shared, room or equipment`,
		"mailbox: []": "field mailbox not found",
		"mailboxes: [{address: a@b.com, large_items: [{size: huge}]}]": `"huge" is not a size`,
	}
	for doc, want := range tests {
		_, err := ParseScenario([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", doc, err, want)
		}
	}
}

func TestStartWritesAWorkingConfig(t *testing.T) {
	dir := t.TempDir()
	sc, err := LoadScenario(filepath.Join("..", "..", "testdata", "lab", "small.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Start(context.Background(), Options{Dir: dir, Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg, err := config.Load(l.ConfigPath)
	if err != nil {
		t.Fatalf("the lab's config does not load: %v", err)
	}
	if pw, err := cfg.EWSPassword(); err != nil || pw.IsZero() {
		t.Errorf("password file: %v", err)
	}
	for _, name := range []string{"ca.pem", "app.pem", "ews-password", "mailboxes.csv", "wave1.csv"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if (name == "app.pem" || name == "ews-password") && info.Mode().Perm() != 0o600 {
			t.Errorf("%s is readable by others: %v", name, info.Mode())
		}
	}
	wave, _ := os.ReadFile(l.CopyCSV)
	if got := string(wave); got != "EmailAddress,TargetAddress,Location,Batch\nalex@fabrikam.com,alex@fabrikam.onmicrosoft.com,onprem,Wave 1\n" {
		t.Errorf("copy list:\n%s", got)
	}
	all, _ := os.ReadFile(l.MailboxesCSV)
	if !strings.Contains(string(all), "megan@fabrikam.com,,auto,") {
		t.Errorf("assessment list:\n%s", all)
	}
	if got := len(l.EWS.AddMailbox("alex@fabrikam.com").Folder("Inbox").Items()); got != 30 {
		t.Errorf("Inbox holds %d items, want 30", got)
	}
	if got := len(l.Graph.Mailbox("megan@fabrikam.com").Messages("Inbox")); got != 20 {
		t.Errorf("cloud Inbox holds %d messages, want 20", got)
	}
}

func TestLargeMessageIsStreamedAndSized(t *testing.T) {
	open, total, _ := largeMessage("a@b.com", "b.com", 5<<20, 1)
	r, _ := open()
	var n int64
	buf := make([]byte, 32<<10)
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if err != nil {
			break
		}
	}
	if n != total || total < 5<<20-100 || total > 5<<20 {
		t.Errorf("streamed %d bytes, announced %d, asked about %d", n, total, 5<<20)
	}
}

func TestGeneratorIsDeterministic(t *testing.T) {
	a, b := newGenerator(9, "contoso.com"), newGenerator(9, "contoso.com")
	for i := range 50 {
		x, y := a.next("o@contoso.com", i, 0.5), b.next("o@contoso.com", i, 0.5)
		if !bytes.Equal(x.MIME, y.MIME) || x.IsRead != y.IsRead {
			t.Fatalf("message %d differs between two generators with the same seed", i)
		}
		if !bytes.Contains(x.MIME, []byte("Message-ID: ")) || !bytes.Contains(x.MIME, []byte("\r\n\r\n")) {
			t.Fatalf("message %d is not a MIME message:\n%s", i, x.MIME)
		}
	}
}
