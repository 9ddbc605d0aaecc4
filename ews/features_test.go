package ews_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

func TestInboxRulesRoundTrip(t *testing.T) {
	e := newEnv(t)
	news := e.mb.Folder("Inbox/News").ID()
	rules := []mailbox.Rule{
		{ID: "AQAAAAAAAAE=", Name: "Everything", Priority: 1, Enabled: true,
			Conditions: mailbox.Predicates{
				Categories: []string{"Red"}, ContainsBodyStrings: []string{"invoice", "bill"}, ContainsHeaderStrings: []string{"X-Spam"},
				ContainsRecipientStrings: []string{"sales"}, ContainsSenderStrings: []string{"ceo"}, ContainsSubjectOrBodyStrings: []string{"urgent"},
				ContainsSubjectStrings: []string{"[ext]"}, FlaggedForAction: "FollowUp", FromAddresses: []string{"boss@contoso.com"},
				FromConnectedAccounts: []string{"gmail"}, HasAttachments: true, Importance: mailbox.ImportanceHigh,
				IsApprovalRequest: true, IsAutomaticForward: true, IsAutomaticReply: true, IsEncrypted: true, IsMeetingRequest: true,
				IsMeetingResponse: true, IsNDR: true, IsPermissionControlled: true, IsReadReceipt: true, IsSigned: true, IsVoicemail: true,
				ItemClasses: []string{"IPM.Note"}, MessageClassifications: []string{"Confidential"}, NotSentToMe: true, SentCcMe: true,
				SentOnlyToMe: true, SentToAddresses: []string{"team@contoso.com"}, SentToMe: true, SentToOrCcMe: true, Sensitivity: "Private",
				WithinDateRange: &mailbox.DateRange{StartDateTime: "2024-01-01T00:00:00Z", EndDateTime: "2024-12-31T00:00:00Z"},
				WithinSizeRange: &mailbox.SizeRange{MinimumSizeKB: 10, MaximumSizeKB: 500},
			},
			Exceptions: mailbox.Predicates{ContainsSubjectStrings: []string{"ignore"}},
			Actions: mailbox.Actions{
				AssignCategories: []string{"Blue"}, CopyToFolder: news, Delete: true, ForwardAsAttachmentToRecipients: []string{"a@x.com"},
				ForwardToRecipients: []string{"b@x.com"}, MarkImportance: mailbox.ImportanceLow, MarkAsRead: true, MoveToFolder: news,
				PermanentDelete: true, RedirectToRecipients: []string{"c@x.com"}, SendSMSAlertToRecipients: []string{"d@x.com"},
				ServerReplyWithMessage: "AAMkReply", StopProcessingRules: true,
			}},
		{ID: "AQAAAAAAAAI=", Name: "Client-only", Priority: 2, IsNotSupported: true, IsInError: true},
	}
	e.mb.SetRules(rules)
	got, err := e.c.Mailbox(testMailbox).Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rules) {
		t.Errorf("rules differ:\n got %+v\nwant %+v", got, rules)
	}
}

func TestDelegatesAndHolds(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := []mailbox.Delegate{
		{User: "bob@contoso.com", Permissions: map[string]string{"Calendar": "Editor", "Inbox": "Reviewer"}, ReceiveCopiesOfMeetings: true, ViewPrivateItems: true, DeliverMeetingRequestsTo: "DelegatesOnly"},
		{User: "carol@contoso.com", Permissions: map[string]string{"Tasks": "Author"}, DeliverMeetingRequestsTo: "DelegatesOnly"},
	}
	e.mb.SetDelegates(d, "DelegatesOnly")
	got, err := e.c.Mailbox(testMailbox).Delegates(ctx)
	if err != nil || !reflect.DeepEqual(got, d) {
		t.Errorf("delegates = %+v, %v", got, err)
	}

	box := e.c.Mailbox(testMailbox)
	if _, err := box.Holds(ctx); !errors.Is(err, mailbox.ErrAccessDenied) {
		t.Errorf("holds without eDiscovery rights: %v", err)
	}
	e.srv.GrantDiscovery(testDomain, testUser)
	e.srv.AddMailbox("bob@contoso.com")
	e.srv.AddHold(mailbox.Hold{ID: "h1", Name: "Case 1", Query: "budget"}, testMailbox, "bob@contoso.com")
	e.srv.AddHold(mailbox.Hold{ID: "h2", Name: "Case 2", Query: ""}, "bob@contoso.com")
	holds, err := box.Holds(ctx)
	want := []mailbox.Hold{{ID: "h1", Name: "Case 1", Query: "budget", Status: "OnHold"}}
	if err != nil || !reflect.DeepEqual(holds, want) {
		t.Errorf("holds = %+v, %v", holds, err)
	}
	sm, err := e.c.SearchableMailboxes(ctx, "")
	if err != nil || len(sm) != 2 {
		t.Errorf("searchable mailboxes = %+v, %v", sm, err)
	}
}

func TestPublicFoldersArchiveRecoverable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.srv.PublicFolder("Sales/2024/Q1").AddItem(ewstest.Item{MIME: mime("pf", 100)})
	e.srv.PublicFolder("Sales/2023")
	e.srv.PublicFolder("HR")
	pf, err := e.c.PublicFolders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range pf {
		paths = append(paths, f.Path)
	}
	want := []string{"", "Sales", "HR", "Sales/2024", "Sales/2023", "Sales/2024/Q1"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("public folder paths = %q, want %q", paths, want)
	}
	if pf[len(pf)-1].ItemCount != 1 {
		t.Errorf("Q1 = %+v", pf[len(pf)-1])
	}
	// Without the routing mailbox the client says what to configure.
	c := e.client(t, func(cfg *ews.Config) { cfg.PublicFolderMailbox = "" })
	if _, err := c.PublicFolders(ctx); err == nil {
		t.Error("public folders without a routing mailbox should fail with advice")
	}

	e.mb.ArchiveFolder("Inbox/2019").AddItem(ewstest.Item{MIME: mime("old", 100)})
	arch, err := e.c.Mailbox(testMailbox).Folders(ctx, mailbox.ScopeArchive)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range arch {
		found = found || (f.Path == "Inbox/2019" && f.ItemCount == 1)
	}
	if !found {
		t.Errorf("archive folders = %+v", arch)
	}
	e.mb.RecoverableFolder("Deletions").AddItem(ewstest.Item{MIME: mime("gone", 100)})
	rec, err := e.c.Mailbox(testMailbox).Folders(ctx, mailbox.ScopeRecoverable)
	if err != nil {
		t.Fatal(err)
	}
	var deletions mailbox.Folder
	for _, f := range rec {
		if f.Path == "Deletions" {
			deletions = f
		}
	}
	if deletions.ItemCount != 1 || deletions.SizeBytes == 0 {
		t.Errorf("recoverable folders = %+v", rec)
	}
}

func TestResolveNames(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.srv.AddMailbox("alan@contoso.com").SetDisplayName("Alan Turing")
	room := e.srv.AddMailbox("room1@contoso.com")
	room.SetDisplayName("Room 1")
	res, err := e.c.ResolveNames(ctx, "room1@contoso.com")
	if err != nil || len(res) != 1 || res[0].SMTPAddress != "room1@contoso.com" || res[0].DisplayName != "Room 1" || res[0].MailboxType != "Mailbox" {
		t.Errorf("single = %+v, %v", res, err)
	}
	res, err = e.c.ResolveNames(ctx, "al") // alice and alan: a Warning with both
	if err != nil || len(res) != 2 {
		t.Errorf("multiple = %+v, %v", res, err)
	}
	res, err = e.c.ResolveNames(ctx, "nobody@contoso.com")
	if err != nil || len(res) != 0 {
		t.Errorf("none = %+v, %v", res, err)
	}
}

func TestMailboxExists(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if ok, err := e.c.Mailbox(testMailbox).Exists(ctx); !ok || err != nil {
		t.Errorf("Exists(alice) = %v, %v", ok, err)
	}
	if ok, err := e.c.Mailbox("cloudonly@contoso.com").Exists(ctx); ok || err != nil {
		t.Errorf("Exists(cloudonly) = %v, %v", ok, err)
	}
}

// TestClientOnlyRules reads OutlookRuleBlobExists, once: the flag comes
// with the rules, so asking for both costs one GetInboxRules.
func TestClientOnlyRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	for _, exist := range []bool{false, true} {
		e.mb.SetClientOnlyRules(exist)
		box := e.c.Mailbox(testMailbox) // a fresh adapter forgets the last answer
		before := e.srv.Requests("GetInboxRules")
		if _, err := box.Rules(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := box.ClientOnlyRules(ctx)
		if err != nil || got != exist {
			t.Errorf("ClientOnlyRules = %v, %v; want %v", got, err, exist)
		}
		if n := e.srv.Requests("GetInboxRules") - before; n != 1 {
			t.Errorf("%d GetInboxRules requests for rules and the flag, want 1", n)
		}
	}
	// Asked first, it reads the rules itself.
	if got, err := box.ClientOnlyRules(ctx); err != nil || !got {
		t.Errorf("ClientOnlyRules without Rules first = %v, %v", got, err)
	}
}

// TestCategoriesImportanceFlagRoundTrip writes a message with categories,
// importance and a follow-up flag, and reads them back from a listing.
func TestCategoriesImportanceFlagRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	box := e.c.Mailbox(testMailbox)
	f := e.mb.Folder("Inbox/Flags")
	raw := []byte("Subject: flagged\r\nMessage-ID: <f@x>\r\n\r\nbody\r\n")
	want := map[string]mailbox.Item{}
	for i, it := range []mailbox.Item{
		{Subject: "a", Categories: []string{"Red", "Projects"}, Importance: mailbox.ImportanceHigh, Flag: mailbox.Flagged},
		{Subject: "b", Importance: mailbox.ImportanceLow, Flag: mailbox.Complete},
		{Subject: "c", Importance: mailbox.ImportanceNormal, Flag: mailbox.NotFlagged},
	} {
		id, err := box.CreateMessage(ctx, f.ID(), mailbox.Message{Item: it, SourceID: fmt.Sprint("s", i), MIME: bytes.NewReader(raw), Size: int64(len(raw))})
		if err != nil {
			t.Fatal(err)
		}
		want[id] = it
	}
	n := 0
	err := box.Items(ctx, f.ID(), func(got mailbox.Item) error {
		w, ok := want[got.ID]
		if !ok {
			return fmt.Errorf("unexpected item %s", got.ID)
		}
		n++
		if strings.Join(got.Categories, ",") != strings.Join(w.Categories, ",") || got.Importance != w.Importance || got.Flag != w.Flag {
			t.Errorf("read back categories %v importance %s flag %s; wrote %v %s %s", got.Categories, got.Importance, got.Flag, w.Categories, w.Importance, w.Flag)
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("listed %d items: %v", n, err)
	}
}
