package ews_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

var update = flag.Bool("update", false, "rewrite the golden request files in testdata/requests")

// schemaDir holds the EWS schemas the requests and the fake's answers are
// validated against (soap-envelope.xsd imports messages.xsd and types.xsd,
// types.xsd imports xml.xsd, all by relative schemaLocation). They ship
// with the package so that a clean clone validates too.
const schemaDir = "testdata/schema"

// schemaTools returns xmllint and the envelope schema, failing the test
// when either is missing: validation is part of the suite, never skipped.
func schemaTools(t *testing.T) (xmllint, schema string) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint not found (%v): the EWS schema validation needs it; install it with `apt-get install libxml2-utils` (Debian; .ci/run does)", err)
	}
	schema = filepath.Join(schemaDir, "soap-envelope.xsd")
	for _, name := range []string{"soap-envelope.xsd", "messages.xsd", "types.xsd", "xml.xsd"} {
		if _, err := os.Stat(filepath.Join(schemaDir, name)); err != nil {
			t.Fatalf("EWS schema missing: %v", err)
		}
	}
	return xmllint, schema
}

// recorder keeps every request body the fake received, per operation.
type recorder struct {
	mu   sync.Mutex
	reqs map[string][][]byte
}

func (r *recorder) record(op string, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reqs == nil {
		r.reqs = map[string][][]byte{}
	}
	r.reqs[op] = append(r.reqs[op], append([]byte(nil), body...))
}

// exerciseAll runs every operation the client has against a seeded fake.
func exerciseAll(t *testing.T, e *env, c *ews.Client) {
	t.Helper()
	ctx := context.Background()
	e.srv.GrantDiscovery(testDomain, testUser)
	e.srv.AddHold(mailbox.Hold{ID: "hold-1", Name: "Legal case 42", Query: "project:x"}, testMailbox)
	e.mb.SetRules([]mailbox.Rule{{ID: "r1", Name: "Move newsletters", Priority: 1, Enabled: true,
		Conditions: mailbox.Predicates{ContainsSubjectStrings: []string{"newsletter"}},
		Actions:    mailbox.Actions{MoveToFolder: e.mb.Folder("Inbox/News").ID(), StopProcessingRules: true}}})
	e.mb.SetDelegates([]mailbox.Delegate{{User: "bob@contoso.com", Permissions: map[string]string{"Calendar": "Editor"}}}, "")
	e.srv.PublicFolder("Sales/2024")
	f := e.mb.Folder("Inbox/Work")
	id := f.AddItem(ewstest.Item{MIME: mime("Hello", 100)})
	// Seeded after the rest so the pinned requests keep their ids.
	e.mb.Root("calendar").SetPermissions([]ewstest.Permission{{User: ewstest.DefaultUser, Level: "FreeBusyTimeAndSubjectAndLocation"},
		{User: "bob@contoso.com", Level: "Editor"}})
	e.mb.Folder("Projects").SetPermissions([]ewstest.Permission{{User: ewstest.DefaultUser, Level: "Reviewer"},
		{SID: "S-1-5-21-1-2-3-1104", Level: "Custom"}})
	e.mb.Root("contacts").SetPermissions([]ewstest.Permission{{User: "bob@contoso.com", Level: "Author"}})
	box := c.Mailbox(testMailbox)
	var contactID string
	steps := []struct {
		name string
		run  func() error
	}{
		{"Check", func() error {
			e.srv.Inject(ewstest.Fault{Op: "ResolveNames", Kind: ewstest.FaultServerBusy, BackOff: time.Millisecond})
			return c.Check(ctx) // answered with a SOAP fault first, then retried
		}},
		{"Folders", func() error { _, err := box.Folders(ctx, mailbox.ScopePrimary); return err }},
		{"Items", func() error { return box.Items(ctx, f.ID(), func(mailbox.Item) error { return nil }) }},
		{"OpenMIME", func() error {
			rc, err := box.OpenMIME(ctx, id)
			if err == nil {
				io.Copy(io.Discard, rc)
				rc.Close()
			}
			return err
		}},
		{"ReadMIME", func() error {
			// The second id does not exist: a per-item ErrorItemNotFound.
			return box.ReadMIME(ctx, []string{id, "QUFNa0FESXxub3RoZXJl"}, func(string, io.Reader, error) error { return nil })
		}},
		{"CreateFolder", func() error { _, err := box.CreateFolder(ctx, f.ID(), "New", "IPF.Note"); return err }},
		{"CreateFolder at the root", func() error {
			// A fresh Mailbox knows no folder: it looks the root up first.
			_, err := c.Mailbox(testMailbox).CreateFolder(ctx, "", "Imported", "")
			return err
		}},
		{"CreateMessage", func() error {
			m := mime("Copied", 200)
			_, err := box.CreateMessage(ctx, f.ID(), mailbox.Message{Item: mailbox.Item{IsRead: true,
				Received: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Sent: time.Date(2024, 1, 2, 3, 0, 0, 0, time.UTC),
				Categories: []string{"Red", "Projects"}, Importance: mailbox.ImportanceHigh, Flag: mailbox.Flagged},
				SourceID: "src-1", MIME: bytes.NewReader(m), Size: int64(len(m))})
			return err
		}},
		{"FindBySourceID", func() error { _, _, err := box.FindBySourceID(ctx, f.ID(), "src-1"); return err }},
		{"CreateItem contact", func() error {
			// Every property of the model, so that the t:Contact's element
			// order is checked against ContactItemType whole.
			body, err := mailbox.EncodeContact(fullContact())
			if err != nil {
				return err
			}
			contactID, err = box.CreateItem(ctx, "contacts", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassContact, Flag: mailbox.Flagged},
				SourceID: "src-contact", Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))})
			return err
		}},
		{"OpenItem typed contact", func() error {
			rc, err := box.OpenItem(ctx, contactID, mailbox.FormatTyped)
			if err == nil {
				rc.Close()
			}
			return err
		}},
		{"SetRead", func() error { return box.SetRead(ctx, id, false) }},
		{"Changes", func() error { _, err := box.Changes(ctx, f.ID(), ""); return err }},
		{"FolderChanges", func() error { _, err := box.FolderChanges(ctx, ""); return err }},
		{"ResolveNames", func() error { _, err := c.ResolveNames(ctx, testMailbox); return err }},
		{"Rules", func() error { _, err := box.Rules(ctx); return err }},
		{"Delegates", func() error { _, err := box.Delegates(ctx); return err }},
		{"FolderPermissions", func() error { _, err := box.FolderPermissions(ctx); return err }},
		{"Holds", func() error { _, err := box.Holds(ctx); return err }},
		{"SearchableMailboxes", func() error { _, err := c.SearchableMailboxes(ctx, "ali"); return err }},
		{"PublicFolders", func() error { _, err := c.PublicFolders(ctx); return err }},
	}
	// The typed kinds last, so that the requests pinned above keep their ids.
	steps = append(steps, typedSteps(ctx, box, &contactID)...)
	// A sticky note last of all: MIME with its ItemClass.
	steps = append(steps, struct {
		name string
		run  func() error
	}{"CreateItem sticky note", func() error {
		m := []byte("Subject: Call Ann\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCall Ann\r\nabout the lease\r\n")
		_, err := box.CreateItem(ctx, "notes", mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassStickyNote, Subject: "Call Ann"},
			SourceID: "src-note", Format: mailbox.FormatMIME, Body: bytes.NewReader(m), Size: int64(len(m))})
		return err
	}})
	// Full fidelity after everything else: an export and an upload of a
	// message and of the contact (its stamp with t:Contact), and an
	// update in place. The message has fixed dates: its stream is pinned.
	var ffID string
	for _, ff := range []struct {
		name, folder, class string
		id                  *string
	}{{"message", "inbox", mailbox.ClassMessage, &ffID}, {"contact", "contacts", mailbox.ClassContact, &contactID}} {
		steps = append(steps, struct {
			name string
			run  func() error
		}{"full fidelity " + ff.name, func() error {
			if ffID == "" {
				ffID = f.AddItem(ewstest.Item{MIME: mime("Full fidelity", 100), Received: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
					SearchKey: "0123456789abcdef0123456789abcdef"})
			}
			rc, err := box.OpenItem(ctx, *ff.id, mailbox.FormatFullFidelity)
			if err != nil {
				return err
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				return err
			}
			p := mailbox.Payload{Item: mailbox.Item{Class: ff.class}, SourceID: "src-ff-" + ff.name, Format: mailbox.FormatFullFidelity,
				Body: bytes.NewReader(data), Size: int64(len(data))}
			nid, err := box.CreateItem(ctx, ff.folder, p)
			if err != nil {
				return err
			}
			p.Body = bytes.NewReader(data)
			return box.UpdateItem(ctx, nid, p)
		}})
	}
	// Public folder content last of all (seeded here, so the pinned
	// requests above keep their ids): the listing, a read, a folder and a
	// post written under it, found by its stamp.
	steps = append(steps, struct {
		name string
		run  func() error
	}{"public folder copy", func() error {
		sales := e.srv.PublicFolder("Sales/2024")
		sales.SetContentMailbox("1ec2a236-ed93-4f88-b9c6-33e63fa4aa44")
		sales.AddItem(ewstest.Item{MIME: mime("Board post", 100), Class: "IPM.Post", Received: time.Date(2024, 7, 8, 9, 10, 11, 0, time.UTC)})
		fs, err := box.Folders(ctx, mailbox.ScopePublicFolders)
		if err != nil {
			return err
		}
		pf := fs[len(fs)-1]
		page, err := box.Changes(ctx, pf.ID, "")
		if err != nil || len(page.Changes) != 1 {
			return fmt.Errorf("public folder listing: %d changes, %v", len(page.Changes), err)
		}
		it := page.Changes[0].Item
		body := readAll(t, box, it.ID, mailbox.FormatMIME)
		sub, err := box.CreateFolder(ctx, pf.ID, "Copied", "IPF.Note")
		if err != nil {
			return err
		}
		if _, err := box.CreateItem(ctx, sub.ID, mailbox.Payload{Item: it, SourceID: "src-post", Format: mailbox.FormatMIME,
			Body: bytes.NewReader(body), Size: int64(len(body))}); err != nil {
			return err
		}
		_, _, err = box.FindBySourceID(ctx, sub.ID, "src-post")
		return err
	}})
	// The mailbox type last: ResolveNames, then the room lists and rooms.
	steps = append(steps, struct {
		name string
		run  func() error
	}{"MailboxType", func() error {
		e.srv.AddRoomList("rooms@contoso.com", "Rooms", testMailbox)
		typ, _, err := box.MailboxType(ctx)
		if err == nil && typ != mailbox.TypeRoom {
			err = fmt.Errorf("type %q, want room", typ)
		}
		return err
	}})
	for _, s := range steps {
		if err := s.run(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
}

// TestRequestsAreSchemaValid captures the request of every operation the
// client sends and validates it with xmllint against the official schemas.
func TestRequestsAreSchemaValid(t *testing.T) {
	xmllint, schema := schemaTools(t)
	for _, imp := range []bool{true, false} {
		t.Run(fmt.Sprintf("impersonation=%t", imp), func(t *testing.T) {
			rec, resp := &recorder{}, &recorder{}
			e := newEnv(t, ewstest.WithRequestRecorder(rec.record), ewstest.WithResponseRecorder(resp.record))
			c := e.client(t, func(cfg *ews.Config) { cfg.Impersonation = imp })
			if !imp {
				e.srv.GrantFullAccess(testDomain, testUser, testMailbox)
			}
			exerciseAll(t, e, c)
			if n := e.srv.BasicAttempts(); n != 0 {
				t.Errorf("the client sent Basic credentials %d times", n)
			}
			if n := e.srv.AnchorMisses(); n != 0 {
				t.Errorf("%d impersonated requests without a matching X-AnchorMailbox", n)
			}
			if n := e.srv.SendAttempts(); n != 0 {
				t.Errorf("the client asked %d times for a write that would send mail (the no-send rule)", n)
			}
			dir := t.TempDir()
			var files []string
			ops := make([]string, 0, len(rec.reqs))
			for op := range rec.reqs {
				ops = append(ops, op)
			}
			sort.Strings(ops)
			for _, op := range ops {
				for i, body := range rec.reqs[op] {
					name := filepath.Join(dir, fmt.Sprintf("%s-%d.xml", op, i))
					if err := os.WriteFile(name, body, 0o600); err != nil {
						t.Fatal(err)
					}
					files = append(files, name)
				}
			}
			want := []string{"CreateAttachment", "CreateFolder", "CreateItem", "DeleteAttachment", "DeleteItem", "FindFolder", "FindItem", "GetAttachment", "GetDelegate", "GetDiscoverySearchConfiguration",
				"GetFolder", "GetHoldOnMailboxes", "GetInboxRules", "GetItem", "GetSearchableMailboxes", "ResolveNames",
				"SyncFolderHierarchy", "SyncFolderItems", "UpdateItem", "ExportItems", "UploadItems", "GetRoomLists", "GetRooms"}
			for _, op := range want {
				if len(rec.reqs[op]) == 0 {
					t.Errorf("no %s request captured", op)
				}
			}
			out, err := exec.Command(xmllint, append([]string{"--noout", "--schema", schema}, files...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("xmllint rejected a request: %v\n%s", err, out)
			}
			if got := strings.Count(string(out), " validates"); got != len(files) {
				t.Errorf("xmllint validated %d of %d files:\n%s", got, len(files), out)
			}
			if imp {
				checkGolden(t, rec)
			}
			// The fake's answers must be schema-valid too, or it would
			// teach the client a format Exchange never sends.
			var rfiles []string
			for op, bodies := range resp.reqs {
				for i, body := range bodies {
					name := filepath.Join(dir, fmt.Sprintf("resp-%s-%d.xml", op, i))
					if err := os.WriteFile(name, body, 0o600); err != nil {
						t.Fatal(err)
					}
					rfiles = append(rfiles, name)
				}
			}
			out, err = exec.Command(xmllint, append([]string{"--noout", "--schema", schema}, rfiles...)...).CombinedOutput()
			if err != nil {
				t.Errorf("xmllint rejected a response of the fake: %v\n%s", err, out)
			}
			if got := strings.Count(string(out), " validates"); got != len(rfiles) || len(rfiles) < len(files) {
				t.Errorf("xmllint validated %d of %d responses (%d requests):\n%s", got, len(rfiles), len(files), out)
			}
		})
	}
}

// goldenVariants pins, besides the first request of an operation, the
// first one whose body holds a marker: requests of another shape under the
// same operation.
var goldenVariants = map[string][2]string{
	"GetFolder-PermissionSet":       {"GetFolder", `FieldURI="folder:PermissionSet"`},
	"CreateItem-Contact":            {"CreateItem", `<t:Contact>`},
	"GetItem-Contact":               {"GetItem", `FieldURI="contacts:DisplayName"`},
	"CreateItem-CalendarItem":       {"CreateItem", `<t:CalendarItem>`},
	"GetItem-CalendarItem":          {"GetItem", `FieldURI="calendar:ModifiedOccurrences"`},
	"UpdateItem-Occurrence":         {"UpdateItem", `<t:OccurrenceItemId`},
	"UpdateItem-Stamp":              {"UpdateItem", `<t:DeleteItemField><t:ExtendedFieldURI`},
	"UpdateItem-CalendarItem":       {"UpdateItem", `FieldURI="calendar:Recurrence"/><t:CalendarItem>`},
	"UpdateItem-Contact":            {"UpdateItem", `FieldURI="contacts:EmailAddress"`},
	"UpdateItem-Task":               {"UpdateItem", `FieldURI="task:Status"`},
	"CreateItem-Task":               {"CreateItem", `<t:Task>`},
	"GetItem-Task":                  {"GetItem", `FieldURI="task:Status"`},
	"CreateItem-ContactGroup":       {"CreateItem", `<t:DistributionList>`},
	"GetItem-ContactGroup":          {"GetItem", `FieldURI="distributionlist:Members"`},
	"UpdateItem-ContactGroup":       {"UpdateItem", `<t:SetItemField><t:FieldURI FieldURI="distributionlist:Members"/>`},
	"CreateAttachment-ContactPhoto": {"CreateAttachment", `<t:IsContactPhoto>true`},
	"CreateItem-StickyNote":         {"CreateItem", `<t:ItemClass>IPM.StickyNote</t:ItemClass>`},
	"UploadItems-Update":            {"UploadItems", `CreateAction="Update"`},
	"CreateItem-PostItem":           {"CreateItem", `<t:PostItem>`},
	"FindFolder-Public":             {"FindFolder", `PropertyTag="0x6698"`},
	"UpdateItem-UploadStamp":        {"UpdateItem", `<t:Message><t:ExtendedProperty><t:ExtendedFieldURI PropertySetId=`},
	"UpdateItem-UploadStampContact": {"UpdateItem", `<t:Contact><t:ExtendedProperty><t:ExtendedFieldURI PropertySetId=`},
}

// checkGolden pins the first request of each operation (and of each
// goldenVariants shape) byte for byte.
func checkGolden(t *testing.T, rec *recorder) {
	t.Helper()
	dir := filepath.Join("testdata", "requests")
	pinned := map[string][][]byte{}
	for op, bodies := range rec.reqs {
		pinned[op] = bodies
	}
	for name, v := range goldenVariants {
		for _, b := range rec.reqs[v[0]] {
			if bytes.Contains(b, []byte(v[1])) {
				pinned[name] = [][]byte{b}
				break
			}
		}
		if pinned[name] == nil {
			t.Errorf("no %s request captured", name)
		}
	}
	for op, bodies := range pinned {
		path := filepath.Join(dir, op+".xml")
		if *update {
			os.MkdirAll(dir, 0o755)
			if err := os.WriteFile(path, bodies[0], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("golden %s missing (run go test -run TestRequestsAreSchemaValid -update): %v", path, err)
			continue
		}
		if !bytes.Equal(want, bodies[0]) {
			t.Errorf("%s request differs from %s:\n got: %s\nwant: %s", op, path, bodies[0], want)
		}
	}
}

// validateWithXmllint validates recorded documents against the EWS schemas;
// a missing xmllint or schema fails the test (see schemaTools).
func validateWithXmllint(t *testing.T, what string, docs map[string][][]byte) {
	t.Helper()
	xmllint, schema := schemaTools(t)
	dir := t.TempDir()
	var files []string
	for op, bodies := range docs {
		for i, body := range bodies {
			name := filepath.Join(dir, fmt.Sprintf("%s-%d.xml", op, i))
			if err := os.WriteFile(name, body, 0o600); err != nil {
				t.Fatal(err)
			}
			files = append(files, name)
		}
	}
	out, err := exec.Command(xmllint, append([]string{"--noout", "--schema", schema}, files...)...).CombinedOutput()
	if err != nil || strings.Count(string(out), " validates") != len(files) {
		t.Errorf("xmllint rejected %s: %v\n%s", what, err, out)
	}
}
