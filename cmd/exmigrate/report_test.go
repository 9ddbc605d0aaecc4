package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/internal/logging"
	"github.com/exmigrate/exmigrate/reports"
)

// TestReportMailedThroughGraph assesses a small lab, then mails the report
// from a cloud mailbox through the fake Graph and finds it, with the CSVs
// attached, in the sender's Sent Items.
func TestReportMailedThroughGraph(t *testing.T) {
	l, dir := startSmallLab(t, lab.Options{})
	var out, errb bytes.Buffer
	g := &globalOptions{ConfigPath: l.ConfigPath, io: Streams{Out: &out, Err: &errb}, logger: logging.Discard()}
	ctx := context.Background()
	assessment := filepath.Join(dir, "assessment.json")
	if err := assessRun(ctx, &assessOptions{g: g, Mailboxes: l.MailboxesCSV, Out: assessment}); err != nil {
		t.Fatalf("assess: %v\n%s", err, errb.String())
	}
	sender := "megan@fabrikam.com"
	err := reportRun(ctx, &reportOptions{g: g, In: assessment, Formats: "html", Out: filepath.Join(dir, "report"),
		MailTo: []string{"cio@fabrikam.com", "helpdesk@fabrikam.com"}, MailFrom: sender})
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	sent := l.Graph.Mailbox(sender).SentItems()
	if len(sent) != 1 {
		t.Fatalf("sender's Sent Items hold %d messages, want 1", len(sent))
	}
	m := sent[0]
	if !strings.Contains(m.Subject, "2 mailboxes") || m.BodyType != "html" || !strings.Contains(m.Body, "<html") ||
		strings.Join(m.To, ",") != "cio@fabrikam.com,helpdesk@fabrikam.com" {
		t.Errorf("sent message: subject %q, body type %q, to %v", m.Subject, m.BodyType, m.To)
	}
	var names []string
	for _, a := range m.Attachments {
		names = append(names, a.Name)
		if !bytes.HasPrefix(a.Data, []byte("\uFEFF")) {
			t.Errorf("%s has no UTF-8 BOM for Excel", a.Name)
		}
	}
	if strings.Join(names, ",") != "findings.csv,mailboxes.csv" {
		t.Errorf("attachments %v, want findings.csv and mailboxes.csv", names)
	}
	audit, err := os.ReadFile(filepath.Join(dir, "audit.jsonl"))
	if err != nil || !strings.Contains(string(audit), `"action":"mail.send"`) || !strings.Contains(string(audit), `"operator":"app `) {
		t.Errorf("the send is not in the audit log: %v\n%s", err, audit)
	}
	if !strings.Contains(out.String(), "mailed the report from megan@fabrikam.com") {
		t.Errorf("output: %s", out.String())
	}

	// A sender that is not in Exchange Online fails with a clear error.
	err = reportRun(ctx, &reportOptions{g: g, In: assessment, Formats: "md", Out: filepath.Join(dir, "report2"),
		MailTo: []string{"cio@fabrikam.com"}, MailFrom: "alex@fabrikam.com"})
	if err == nil || !strings.Contains(err.Error(), "mail the report from alex@fabrikam.com") {
		t.Errorf("on-prem sender: err = %v", err)
	}
}

func TestTeamsSummaryKeepsTheURLSecret(t *testing.T) {
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		if r.URL.Query().Get("sig") != "s3cr3t" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	a := &reports.Assessment{Mailboxes: []reports.MailboxAssessment{{Address: "a@b.com", Readiness: reports.Blocked}}}

	t.Setenv("EXM_TEST_TEAMS", srv.URL+"/workflows/1?sig=s3cr3t")
	if err := postTeamsSummary(context.Background(), "EXM_TEST_TEAMS", a); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "1 mailbox (0 B): 1 blocked") || !strings.Contains(string(got), "AdaptiveCard") {
		t.Errorf("posted %s", got)
	}
	t.Setenv("EXM_TEST_TEAMS", srv.URL+"/workflows/1?sig=wrong")
	err := postTeamsSummary(context.Background(), "EXM_TEST_TEAMS", a)
	if err == nil || strings.Contains(err.Error(), "sig=") || strings.Contains(err.Error(), srv.URL) {
		t.Errorf("err = %v: want an error that does not show the URL", err)
	}
	t.Setenv("EXM_TEST_TEAMS", "http://127.0.0.1:1/closed?sig=s3cr3t")
	if err := postTeamsSummary(context.Background(), "EXM_TEST_TEAMS", a); err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("unreachable: err = %v", err)
	}
}

// TestAssessWithPowerShellExports: litigation hold and permissions come
// from Exchange PowerShell exports and turn into findings.
func TestAssessWithPowerShellExports(t *testing.T) {
	l, dir := startSmallLab(t, lab.Options{})
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mbx := write("mbx.csv", "#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox\n\"PrimarySmtpAddress\",\"LitigationHoldEnabled\"\n\"alex@fabrikam.com\",\"True\"\n\"megan@fabrikam.com\",\"False\"\n")
	perms := write("perms.csv", "Mailbox,User,AccessRights\nalex@fabrikam.com,FABRIKAM\\assistant,FullAccess\n")
	folders := write("folders.csv", "Mailbox,FolderPath,User,AccessRights\nalex@fabrikam.com,\\Inbox,Default,Reviewer\n")
	var out, errb bytes.Buffer
	g := &globalOptions{ConfigPath: l.ConfigPath, io: Streams{Out: &out, Err: &errb}, logger: logging.Discard()}
	assessment := filepath.Join(dir, "assessment.json")
	err := assessRun(context.Background(), &assessOptions{g: g, Mailboxes: l.MailboxesCSV, Out: assessment,
		MailboxExport: mbx, PermissionsExport: perms, FolderPermissionsExport: folders})
	if err != nil {
		t.Fatalf("assess: %v", err)
	}
	f, _ := os.Open(assessment)
	defer f.Close()
	a, err := reports.ReadAssessment(f)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, fd := range a.Findings {
		found[fd.Mailbox+" "+fd.Code] = fd.Found
	}
	for _, want := range []string{"alex@fabrikam.com EXM-HOLD-LITIGATION", "alex@fabrikam.com EXM-MAILBOX-PERMISSION", "alex@fabrikam.com EXM-FOLDER-PERMISSION"} {
		if _, ok := found[want]; !ok {
			t.Errorf("no finding %s", want)
		}
	}
	for _, unwanted := range []string{"megan@fabrikam.com EXM-HOLD-LITIGATION", "megan@fabrikam.com EXM-HOLD-LITIGATION-UNKNOWN", "alex@fabrikam.com EXM-HOLD-LITIGATION-UNKNOWN"} {
		if _, ok := found[unwanted]; ok {
			t.Errorf("unexpected finding %s", unwanted)
		}
	}
	// A bad export is a usage error naming the file and line.
	bad := write("bad.csv", "PrimarySmtpAddress,LitigationHoldEnabled\nalex@fabrikam.com,perhaps\n")
	err = assessRun(context.Background(), &assessOptions{g: g, Mailboxes: l.MailboxesCSV, Out: assessment, MailboxExport: bad})
	if exitCode(err) != ExitUsage || !strings.Contains(err.Error(), "bad.csv: 1 bad row(s):\n  line 2: LitigationHoldEnabled \"perhaps\" is not True or False") {
		t.Errorf("bad export: exit %d, %v", exitCode(err), err)
	}
}
