package graphmail_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/mailbox"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func fullRule() mailbox.Rule {
	return mailbox.Rule{
		Name: "Invoices", Priority: 2, Enabled: true,
		Conditions: mailbox.Predicates{
			ContainsSubjectStrings: []string{"invoice", "bill"}, FromAddresses: []string{"billing@fabrikam.example"},
			HasAttachments: true, Importance: mailbox.ImportanceHigh, FlaggedForAction: "FollowUp", Sensitivity: "Confidential",
			WithinSizeRange: &mailbox.SizeRange{MinimumSizeKB: 10, MaximumSizeKB: 2048}, IsNDR: true, SentToMe: true,
			ContainsHeaderStrings: []string{"X-Spam: no"}, Categories: []string{"Finance"},
		},
		Exceptions: mailbox.Predicates{ContainsSenderStrings: []string{"noreply"}},
		Actions: mailbox.Actions{
			MoveToFolder: "AAMkFolderTarget", MarkAsRead: true, AssignCategories: []string{"Paid"},
			ForwardToRecipients: []string{"accounts@contoso.example"}, RedirectToRecipients: []string{"archive@contoso.example"},
			MarkImportance: mailbox.ImportanceLow, StopProcessingRules: true,
		},
	}
}

func TestToMessageRuleGolden(t *testing.T) {
	got, err := graphmail.ToMessageRule(fullRule())
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden := filepath.Join("testdata", "rule_full.golden.json")
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("messageRule JSON differs from %s:\n%s", golden, pretty.String())
	}
}

func TestRulesRoundTrip(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	mb := l.c.Mailbox(alice)
	r := fullRule()
	id, err := mb.CreateRule(ctxT(t), r)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := mb.Rules(ctxT(t))
	if err != nil || len(rules) != 1 {
		t.Fatalf("Rules: %v %v", rules, err)
	}
	r.ID = id
	if !reflect.DeepEqual(rules[0], r) {
		t.Errorf("read back\n%+v\nwant\n%+v", rules[0], r)
	}
}

func TestCreateRuleRefusesWhatGraphCannotExpress(t *testing.T) {
	l := newLab(t)
	l.srv.AddMailbox(alice, mailbox.TypeUser)
	r := fullRule()
	r.Conditions.ItemClasses = []string{"IPM.Note.Custom"}
	r.Exceptions.WithinDateRange = &mailbox.DateRange{StartDateTime: "2024-01-01T00:00:00Z"}
	r.Actions.ServerReplyWithMessage = "AAMkTemplate"
	before := l.srv.Requests()
	_, err := l.c.Mailbox(alice).CreateRule(ctxT(t), r)
	var ue *graphmail.RuleUnsupportedError
	if !errors.As(err, &ue) || !errors.Is(err, graphmail.ErrUnsupported) || !mailbox.IsPermanent(err) {
		t.Fatalf("err = %v", err)
	}
	want := "Conditions.ItemClasses,Exceptions.WithinDateRange,Actions.ServerReplyWithMessage"
	if strings.Join(ue.Fields, ",") != want {
		t.Errorf("fields = %v, want %s", ue.Fields, want)
	}
	if l.srv.Requests() != before || len(l.srv.Mailbox(alice).Rules()) != 0 {
		t.Error("an unsupported rule reached Graph")
	}
}

func TestSendMail(t *testing.T) {
	l := newLab(t)
	fx := l.srv.AddMailbox("reports@contoso.example", mailbox.TypeShared)
	err := l.c.SendMail(ctxT(t), "reports@contoso.example", graphmail.OutgoingMail{
		To: []string{"cio@contoso.example", "pm@contoso.example"}, Subject: "Migration report", HTMLBody: "<h1>Ready</h1>",
		Attachments: []graphmail.Attachment{{Name: "report.csv", ContentType: "text/csv", Data: []byte("a,b\n1,2\n")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sent := fx.SentItems()
	if len(sent) != 1 {
		t.Fatalf("%d sent items", len(sent))
	}
	m := sent[0]
	if m.Subject != "Migration report" || m.BodyType != "html" || m.IsDraft || len(m.To) != 2 || len(m.Attachments) != 1 || string(m.Attachments[0].Data) != "a,b\n1,2\n" {
		t.Errorf("sent %+v", m)
	}
	if err := l.c.SendMail(ctxT(t), "reports@contoso.example", graphmail.OutgoingMail{Subject: "x"}); err == nil {
		t.Error("mail without recipients sent")
	}
	big := graphmail.OutgoingMail{To: []string{"a@b.example"}, Attachments: []graphmail.Attachment{{Name: "big", Data: make([]byte, 3<<20)}}}
	if err := l.c.SendMail(ctxT(t), "reports@contoso.example", big); err == nil || !strings.Contains(err.Error(), "over") {
		t.Errorf("3 MB attachment: %v", err)
	}
}
