package ewstest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/internal/thirdparty"
)

// bodies records request or response bodies per operation.
type bodies struct {
	mu sync.Mutex
	m  map[string][][]byte
}

func (b *bodies) record(op string, body []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string][][]byte{}
	}
	b.m[op] = append(b.m[op], append([]byte(nil), body...))
}

func (b *bodies) count(op, marker string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, body := range b.m[op] {
		if bytes.Contains(body, []byte(marker)) {
			n++
		}
	}
	return n
}

// exchangelibResults is what exchangelib_smoke.py prints, one entry per operation.
type exchangelibResults struct {
	FolderWalk struct {
		opResult
		Folders []struct {
			Path             string `json:"path"`
			Class            string `json:"class"`
			TotalCount       int    `json:"total_count"`
			ChildFolderCount int    `json:"child_folder_count"`
			UnreadCount      *int   `json:"unread_count"`
		} `json:"folders"`
	} `json:"folder_walk"`
	ItemPaging struct {
		opResult
		Count int `json:"count"`
		Items []struct {
			ID, Subject, MessageID string
			IsRead                 bool `json:"is_read"`
			Received               string
		} `json:"items"`
	} `json:"item_paging"`
	ItemDetails struct {
		opResult
		Items []struct {
			Subject        string   `json:"subject"`
			From           string   `json:"from"`
			To             []string `json:"to"`
			Cc             []string `json:"cc"`
			DisplayTo      string   `json:"display_to"`
			HasAttachments bool     `json:"has_attachments"`
			Attachments    []string `json:"attachments"`
			BodyType       string   `json:"body_type"`
			BodyLen        int      `json:"body_len"`
			LastModified   string   `json:"last_modified"`
		} `json:"items"`
	} `json:"item_details"`
	AttachmentRead struct {
		opResult
		Attachments []struct {
			Name        string `json:"name"`
			ContentType string `json:"content_type"`
			Size        int    `json:"size"`
			SHA256      string `json:"sha256"`
		} `json:"attachments"`
	} `json:"attachment_read"`
	CalendarRead struct {
		opResult
		Items []struct{ Subject, Start, End, Location, UID string } `json:"items"`
	} `json:"calendar_read"`
	MIMERead struct {
		opResult
		Items []struct {
			Subject string `json:"subject"`
			SHA256  string `json:"sha256"`
		} `json:"items"`
	} `json:"mime_read"`
	Sync struct {
		opResult
		Changes  map[string]int `json:"changes"`
		Subjects []string       `json:"subjects"`
	} `json:"sync"`
	CreateFromProperties struct {
		opResult
		Subject    string   `json:"subject"`
		To         []string `json:"to"`
		Cc         []string `json:"cc"`
		Body       string   `json:"body"`
		IsDraft    bool     `json:"is_draft"`
		Importance string   `json:"importance"`
	} `json:"create_from_properties"`
	CreateFromMIME struct {
		opResult
		Subject string `json:"subject"`
		IsRead  bool   `json:"is_read"`
		SHA256  string `json:"sha256"`
	} `json:"create_from_mime"`
	SyncAfterCreate struct {
		opResult
		Changes  map[string]int `json:"changes"`
		Subjects []string       `json:"subjects"`
	} `json:"sync_after_create"`
	SendRefused struct {
		opResult
		Refused bool `json:"refused"`
	} `json:"send_refused"`
}

type opResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	Trace string `json:"trace"`
}

func (r opResult) check(t *testing.T, op string) bool {
	t.Helper()
	if !r.OK {
		t.Errorf("exchangelib %s failed: %s\n%s", op, r.Error, r.Trace)
	}
	return r.OK
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// exchangelibSeed is the mailbox the script reads: 23 inbox messages (one
// with a PDF, one HTML with a non-ASCII subject), a subfolder and a
// calendar item in the lab's text/calendar form.
func exchangelibSeed(srv *ewstest.Server) (inbox *ewstest.FolderFixture, seeded map[string][]byte) {
	mb := srv.AddMailbox("alice@contoso.com")
	inbox = mb.Root("inbox")
	seeded = map[string][]byte{}
	base := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	add := func(f *ewstest.FolderFixture, mime []byte, i int) {
		f.AddItem(ewstest.Item{MIME: mime, Received: base.Add(time.Duration(i) * time.Hour), IsRead: i%3 == 0})
		seeded[string(mime)] = mime
	}
	for i := range 21 {
		add(inbox, fmt.Appendf(nil, "From: Bob <bob@contoso.com>\r\nTo: Alice <alice@contoso.com>\r\nCc: Carol <carol@contoso.com>\r\n"+
			"Subject: Seeded %d\r\nMessage-ID: <seed-%d@contoso.com>\r\nDate: Sat, 01 Mar 2025 09:00:00 +0000\r\nMIME-Version: 1.0\r\n"+
			"Content-Type: text/plain; charset=utf-8\r\n\r\nBody %d\r\n", i, i, i), i)
	}
	add(inbox, []byte("From: Scanner <scanner@contoso.com>\r\nTo: alice@contoso.com\r\nSubject: Scan 0042\r\nMessage-ID: <scan-42@contoso.com>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"+
		"--b\r\nContent-Type: application/pdf; name=\"scan-0042.pdf\"\r\nContent-Disposition: attachment; filename=\"scan-0042.pdf\"\r\n"+
		"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"), 21)
	add(inbox, []byte("From: =?utf-8?q?J=C3=B6rg?= <joerg@fabrikam.com>\r\nTo: alice@contoso.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"+
		"Message-ID: <html-1@fabrikam.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hallo</p>\r\n"), 22)
	add(mb.Folder("Inbox/Projects"), []byte("Subject: Kickoff\r\n\r\nx"), 0)
	mb.Root("calendar").AddItem(ewstest.Item{Class: "IPM.Appointment", Received: base, IsRead: true, MIME: []byte(
		"Subject: Planning\r\nMIME-Version: 1.0\r\nContent-Type: text/calendar; charset=\"utf-8\"; method=PUBLISH\r\n\r\n" +
			"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:plan-1\r\nDTSTART:20250310T090000Z\r\nDTEND:20250310T100000Z\r\n" +
			"SUMMARY:Planning\r\nLOCATION:Room 4\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")})
	return inbox, seeded
}

// TestExchangelib drives the fake, unmodified, with exchangelib 4.9
// (Debian's python3-exchangelib) over HTTPS with NTLM: the folder walk,
// item paging, details (every field exchangelib knows), an attachment
// (found with a restriction, read with GetAttachment), a calendar, MIME,
// SyncFolderItems to the end, CreateItem from properties and from MIME,
// and a send the lab must refuse. Every request exchangelib sent and every
// answer of the fake must be schema-valid, and each result is compared
// with the fake's own state.
func TestExchangelib(t *testing.T) {
	py := thirdparty.Python(t, "exchangelib", "python3-exchangelib")
	reqs, resps := &bodies{}, &bodies{}
	srv := ewstest.NewServer(ewstest.WithRequestRecorder(reqs.record), ewstest.WithResponseRecorder(resps.record))
	srv.AddAccount("CONTOSO", "svc", "pw-123", true)
	inbox, seeded := exchangelibSeed(srv)
	url, ca := srv.StartTLS(t)

	dir := t.TempDir()
	caFile, mimeFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "new.eml")
	newMIME := []byte("From: Dave <dave@fabrikam.com>\r\nTo: Alice <alice@contoso.com>\r\nSubject: Imported by exchangelib\r\n" +
		"Message-ID: <imported-1@fabrikam.com>\r\nDate: Mon, 03 Mar 2025 10:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nHello from MIME.\r\n")
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mimeFile, newMIME, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join("testdata", "clients", "exchangelib_smoke.py"),
		url, caFile, "alice@contoso.com", `CONTOSO\svc`, mimeFile)
	// A proxy from the environment must not see loopback requests; TLS
	// trust comes from the script's adapter, not from the environment.
	cmd.Env = append(os.Environ(), "EXM_EWS_PASSWORD=pw-123", "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		"REQUESTS_CA_BUNDLE=", "CURL_CA_BUNDLE=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("exchangelib script: %v\nstderr:\n%s", err, stderr.String())
	}
	var res exchangelibResults
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("script output: %v\n%s", err, out)
	}
	stored := inbox.Items()[:23] // the items seeded, before the script created one

	if res.FolderWalk.check(t, "folder walk") {
		var paths []string
		for _, f := range res.FolderWalk.Folders {
			paths = append(paths, f.Path)
			if f.Path == "Inbox" && (f.TotalCount != 23 || f.ChildFolderCount != 1 || f.UnreadCount == nil || *f.UnreadCount != 15) {
				t.Errorf("Inbox as walked: %+v", f)
			}
		}
		want := []string{"Calendar", "Contacts", "Deleted Items", "Drafts", "Inbox", "Inbox/Projects", "Journal", "Junk Email", "Notes", "Outbox", "Sent Items", "Tasks"}
		if slices.Sort(paths); !slices.Equal(paths, want) {
			t.Errorf("folders walked: %q, want %q", paths, want)
		}
	}
	if res.ItemPaging.check(t, "item paging") {
		if res.ItemPaging.Count != 23 || len(res.ItemPaging.Items) != 23 {
			t.Errorf("paged %d items, count %d, want 23", len(res.ItemPaging.Items), res.ItemPaging.Count)
		}
		for i, it := range res.ItemPaging.Items {
			if i < len(stored) && (it.ID != stored[i].ID || it.Subject != stored[i].Subject || it.IsRead != stored[i].IsRead) {
				t.Errorf("item %d = %+v, the fake holds %s %q read %v", i, it, stored[i].ID, stored[i].Subject, stored[i].IsRead)
			}
		}
		// 23 items in pages of 7: FindItem at offsets 0, 7, 14, 21.
		if n := reqs.count("FindItem", `MaxEntriesReturned="7"`); n != 4 {
			t.Errorf("%d FindItem pages of 7, want 4", n)
		}
	}
	if res.ItemDetails.check(t, "item details") {
		got := map[string]int{}
		for _, it := range res.ItemDetails.Items {
			got[it.Subject]++
			switch it.Subject {
			case "Seeded 3":
				if it.From != "bob@contoso.com" || fmt.Sprint(it.To) != "[alice@contoso.com]" || fmt.Sprint(it.Cc) != "[carol@contoso.com]" ||
					it.DisplayTo != "Alice" || it.HasAttachments || it.BodyLen == 0 || it.LastModified == "" {
					t.Errorf("Seeded 3 as read: %+v", it)
				}
			case "Scan 0042":
				if !it.HasAttachments || fmt.Sprint(it.Attachments) != "[scan-0042.pdf]" {
					t.Errorf("Scan 0042 as read: %+v", it)
				}
			case "Grüße":
				if it.BodyType != "HTMLBody" || it.From != "joerg@fabrikam.com" {
					t.Errorf("Grüße as read: %+v", it)
				}
			}
		}
		if len(got) != 23 {
			t.Errorf("details of %d distinct items, want 23", len(got))
		}
	}
	if res.AttachmentRead.check(t, "attachment read") {
		// The item is found with a restriction on item:Subject, its
		// attachment listed by GetItem and read with GetAttachment.
		a := res.AttachmentRead.Attachments
		if len(a) != 1 || a[0].Name != "scan-0042.pdf" || a[0].ContentType != "application/pdf" || a[0].Size != 9 || a[0].SHA256 != sha([]byte("%PDF-1.4\n")) {
			t.Errorf("attachments as read: %+v", a)
		}
	}
	if res.CalendarRead.check(t, "calendar read") {
		if c := res.CalendarRead.Items; len(c) != 1 || c[0].Start != "2025-03-10T09:00:00+00:00" || c[0].End != "2025-03-10T10:00:00+00:00" ||
			c[0].Location != "Room 4" || c[0].UID != "plan-1" {
			t.Errorf("calendar as read: %+v", c)
		}
	}
	if res.MIMERead.check(t, "MIME read") {
		if len(res.MIMERead.Items) != 23 {
			t.Errorf("read the MIME of %d items, want 23", len(res.MIMERead.Items))
		}
		for i, it := range res.MIMERead.Items {
			if i < len(stored) && it.SHA256 != sha(stored[i].MIME) {
				t.Errorf("MIME of %q differs from what the fake holds", it.Subject)
			}
		}
		for _, it := range stored {
			if _, ok := seeded[string(it.MIME)]; !ok {
				t.Errorf("the fake holds MIME that was not seeded for %q", it.Subject)
			}
		}
	}
	if res.Sync.check(t, "sync") {
		var want []string
		for _, it := range stored {
			want = append(want, it.Subject)
		}
		if res.Sync.Changes["create"] != 23 || len(res.Sync.Changes) != 1 || !slices.Equal(res.Sync.Subjects, want) {
			t.Errorf("sync to the end: %v %q", res.Sync.Changes, res.Sync.Subjects)
		}
		// 23 changes, 5 per call: 5 calls; exchangelib stops at IncludesLastItemInRange.
		if n := reqs.count("SyncFolderItems", "<m:MaxChangesReturned>5<"); n < 5 {
			t.Errorf("%d SyncFolderItems calls of 5 changes, want 5 and then the one after the creates", n)
		}
	}
	drafts := srv.AddMailbox("alice@contoso.com").Root("drafts").Items()
	if res.CreateFromProperties.check(t, "CreateItem from properties") {
		r := res.CreateFromProperties
		if len(drafts) != 1 {
			t.Fatalf("Drafts holds %d items, want the one created", len(drafts))
		}
		d := drafts[0]
		if d.Subject != "Budget 2027 (exchangelib)" || !d.IsDraft || d.Importance != "High" || fmt.Sprint(d.Categories) != "[Finance]" ||
			!bytes.Contains(d.MIME, []byte(`To: "Bob" <bob@contoso.com>`)) || !bytes.Contains(d.MIME, []byte("Cc: <carol@contoso.com>")) ||
			!bytes.Contains(d.MIME, []byte("Figures attached later.")) {
			t.Errorf("the fake holds %+v\n%s", d, d.MIME)
		}
		if r.Subject != d.Subject || fmt.Sprint(r.To) != "[bob@contoso.com]" || fmt.Sprint(r.Cc) != "[carol@contoso.com]" || !r.IsDraft ||
			r.Importance != "High" || !strings.Contains(r.Body, "<p>Figures attached later.</p>") {
			t.Errorf("exchangelib read back %+v", r)
		}
	}
	if res.CreateFromMIME.check(t, "CreateItem from MIME") {
		all := inbox.Items()
		last := all[len(all)-1]
		if len(all) != 24 || !bytes.Equal(last.MIME, newMIME) || !last.IsRead || last.Subject != "Imported by exchangelib" ||
			res.CreateFromMIME.SHA256 != sha(newMIME) || !res.CreateFromMIME.IsRead {
			t.Errorf("created from MIME: the fake holds %d items, last %+v; exchangelib read %+v", len(all), last, res.CreateFromMIME)
		}
	}
	if res.SyncAfterCreate.check(t, "sync after the creates") {
		if fmt.Sprint(res.SyncAfterCreate.Changes) != "map[create:1]" || fmt.Sprint(res.SyncAfterCreate.Subjects) != "[Imported by exchangelib]" {
			t.Errorf("sync after the create: %v %q", res.SyncAfterCreate.Changes, res.SyncAfterCreate.Subjects)
		}
	}
	if res.SendRefused.check(t, "send") {
		sent := srv.AddMailbox("alice@contoso.com").Root("sentitems").Items()
		if !res.SendRefused.Refused || srv.SendAttempts() != 1 || len(sent) != 0 || len(drafts) != 1 {
			t.Errorf("send: refused %v, %d send attempts, %d in Sent Items", res.SendRefused.Refused, srv.SendAttempts(), len(sent))
		}
	}
	t.Logf("exchangelib: %d folders walked; %d items paged in %d FindItem pages of 7; details of %d; %d attachment read; %d calendar items; MIME of %d; sync %v in %d calls, then %v; created %q from properties and %q from MIME; send refused %v",
		len(res.FolderWalk.Folders), len(res.ItemPaging.Items), reqs.count("FindItem", `MaxEntriesReturned="7"`), len(res.ItemDetails.Items),
		len(res.AttachmentRead.Attachments), len(res.CalendarRead.Items), len(res.MIMERead.Items), res.Sync.Changes, reqs.count("SyncFolderItems", "<m:MaxChangesReturned>5<"),
		res.SyncAfterCreate.Changes, res.CreateFromProperties.Subject, res.CreateFromMIME.Subject, res.SendRefused.Refused)
	if srv.BasicAttempts() != 0 || srv.AnchorMisses() != 0 {
		t.Errorf("exchangelib sent Basic credentials %d times, %d impersonated requests without X-AnchorMailbox", srv.BasicAttempts(), srv.AnchorMisses())
	}
	validateBodies(t, "exchangelib's requests", reqs)
	validateBodies(t, "the fake's answers to exchangelib", resps)
}

// validateBodies runs xmllint over recorded documents; the EWS tests need
// xmllint (.ci/run installs it), so its absence fails.
func validateBodies(t *testing.T, what string, b *bodies) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint not found (%v): install it with `apt-get install libxml2-utils`", err)
	}
	dir := t.TempDir()
	var files []string
	b.mu.Lock()
	for op, list := range b.m {
		for i, body := range list {
			f := filepath.Join(dir, fmt.Sprintf("%s-%03d.xml", op, i))
			if err := os.WriteFile(f, body, 0o600); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	b.mu.Unlock()
	out, err := exec.Command(xmllint, append([]string{"--noout", "--schema", "../testdata/schema/soap-envelope.xsd"}, files...)...).CombinedOutput()
	if n := strings.Count(string(out), " validates"); err != nil || n != len(files) {
		t.Errorf("xmllint: %d of %d of %s valid: %v\n%s", n, len(files), what, err, out)
	}
}
