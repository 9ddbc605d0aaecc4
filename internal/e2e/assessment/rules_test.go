package assessment_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mapping"
)

// fillPredicates sets every Predicates field whose EWS element has a Graph
// form (per mapping.RuleParts) to a valid value, so that a part added to the
// table is covered here without editing the test.
func fillPredicates(t *testing.T, p *mailbox.Predicates) {
	t.Helper()
	v := reflect.ValueOf(p).Elem()
	for _, part := range mapping.RuleParts() {
		if part.Kind != mapping.PartPredicate || part.Graph == "" {
			continue
		}
		f := v.FieldByName(part.Name)
		if !f.IsValid() {
			t.Fatalf("mailbox.Predicates has no field %s", part.Name)
		}
		switch part.Name {
		case "FlaggedForAction":
			f.SetString("FollowUp")
		case "Importance":
			f.SetString(string(mailbox.Importance("High")))
		case "Sensitivity":
			f.SetString("Private")
		case "WithinSizeRange":
			f.Set(reflect.ValueOf(&mailbox.SizeRange{MinimumSizeKB: 10, MaximumSizeKB: 2048}))
		default:
			switch f.Kind() {
			case reflect.Bool:
				f.SetBool(true)
			case reflect.Slice:
				val := []string{strings.ToLower(part.Name) + "-a", strings.ToLower(part.Name) + "-b"}
				if strings.HasSuffix(part.Name, "Addresses") {
					val = []string{"ceo@" + domain, "cfo@" + domain}
				}
				f.Set(reflect.ValueOf(val))
			default:
				t.Fatalf("predicate %s: no test value for kind %s", part.Name, f.Kind())
			}
		}
	}
}

// TestRuleRoundTrip carries every Graph-mappable EWS predicate (as a
// condition and as an exception) and action through the whole path: seeded
// in the fake Exchange, read with the EWS client (GetInboxRules), translated
// by mapping.TranslateRule with folder ids remapped to folders created on the
// target, created with the Graph client on the fake Graph, read back, and
// compared with mapping.LostParts.
func TestRuleRoundTrip(t *testing.T) {
	e := startEnv(t, emptyScenario())
	ctx := context.Background()
	const src, dst = "rulesrc@" + domain, "rulesrc@contoso.onmicrosoft.com"
	fx := e.lab.EWS.AddMailbox(src)
	projects := fx.Folder("Inbox/Projects").ID()
	archive := fx.Folder("Archive 2024").ID()
	e.lab.Graph.AddMailbox(dst, mailbox.TypeUser)

	var all mailbox.Predicates
	fillPredicates(t, &all)
	seeded := []mailbox.Rule{
		{ID: "c", Name: "Every condition", Priority: 1, Enabled: true, Conditions: all, Actions: mailbox.Actions{
			AssignCategories: []string{"Projects", "Boss"}, CopyToFolder: archive, MoveToFolder: projects, MarkAsRead: true,
			MarkImportance: "Low", StopProcessingRules: true,
			ForwardToRecipients: []string{"assistant@" + domain}, ForwardAsAttachmentToRecipients: []string{"audit@" + domain},
			RedirectToRecipients: []string{"deputy@" + domain}}},
		{ID: "x", Name: "Every exception", Priority: 2, Enabled: true,
			Conditions: mailbox.Predicates{ContainsSubjectStrings: []string{"spam"}}, Exceptions: all, Actions: mailbox.Actions{Delete: true}},
		{ID: "p", Name: "Disabled purge", Priority: 3, Enabled: false,
			Conditions: mailbox.Predicates{SentToMe: true}, Actions: mailbox.Actions{PermanentDelete: true}},
	}
	// Every mappable action is in one of the rules.
	setActions := map[string]bool{}
	for _, r := range seeded {
		av := reflect.ValueOf(r.Actions)
		for _, part := range mapping.RuleParts() {
			if part.Kind == mapping.PartAction && !av.FieldByName(part.Name).IsZero() {
				setActions[part.Name] = true
			}
		}
	}
	for _, part := range mapping.RuleParts() {
		if part.Kind == mapping.PartAction && part.Graph != "" && !setActions[part.Name] {
			t.Errorf("action %s (Graph %s) is in no rule of the test", part.Name, part.Graph)
		}
	}
	fx.SetRules(seeded)

	// Read the rules back over EWS: the client keeps every part.
	source := e.sides.EWS.Mailbox(src)
	read, err := source.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != len(seeded) {
		t.Fatalf("EWS read %d rules, want %d", len(read), len(seeded))
	}
	for i := range seeded {
		if lost := mapping.LostParts(seeded[i], read[i]); len(lost) > 0 {
			t.Errorf("EWS client lost %v of rule %q", lost, seeded[i].Name)
		}
	}

	// The target's folders, created through the Graph client.
	target := e.sides.Graph.Mailbox(dst)
	tfolders, err := target.Folders(ctx, mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	var inboxID, rootID string
	for _, f := range tfolders {
		switch f.WellKnown {
		case mailbox.Inbox:
			inboxID = f.ID
		case mailbox.RootFolder:
			rootID = f.ID
		}
	}
	tProjects, err := target.CreateFolder(ctx, inboxID, "Projects", "")
	if err != nil {
		t.Fatal(err)
	}
	tArchive, err := target.CreateFolder(ctx, rootID, "Archive 2024", "")
	if err != nil {
		t.Fatal(err)
	}
	fm := mapping.FolderMapOf(map[string]string{projects: tProjects.ID, archive: tArchive.ID})

	var rw mailbox.RuleWriter = target
	var rr mailbox.RuleReader = target
	sent := map[string]mapping.RuleTranslation{}
	mapped := map[string]bool{}
	for _, r := range read {
		tr := mapping.TranslateRule(r, fm)
		if !tr.Mappable {
			t.Fatalf("rule %q is not mappable: %+v", r.Name, tr.Unmappable)
		}
		for _, m := range tr.Mapped {
			part, _, _ := strings.Cut(m, " -> ")
			mapped[part] = true
		}
		if _, err := rw.CreateRule(ctx, tr.Rule); err != nil {
			t.Fatalf("CreateRule %q: %v", r.Name, err)
		}
		sent[r.Name] = tr
	}
	for _, part := range mapping.RuleParts() {
		if part.Graph == "" {
			continue
		}
		switch part.Kind {
		case mapping.PartPredicate:
			for _, sec := range []string{"conditions.", "exceptions."} {
				if !mapped[sec+part.Name] {
					t.Errorf("%s%s was not carried (mapped: %v)", sec, part.Name, mapped)
				}
			}
		case mapping.PartAction:
			if !mapped["actions."+part.Name] {
				t.Errorf("actions.%s was not carried", part.Name)
			}
		}
	}

	got, err := rr.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(seeded) {
		t.Fatalf("Graph holds %d rules, want %d", len(got), len(seeded))
	}
	for _, g := range got {
		tr, ok := sent[g.Name]
		if !ok {
			t.Errorf("unexpected rule %q on the target", g.Name)
			continue
		}
		if lost := mapping.LostParts(tr.Rule, g); len(lost) > 0 {
			t.Errorf("rule %q lost %v on the round trip\nsent %+v\n got %+v", g.Name, lost, tr.Rule, g)
		}
		if g.Name == "Every condition" {
			if g.Actions.MoveToFolder != tProjects.ID || g.Actions.CopyToFolder != tArchive.ID {
				t.Errorf("folder references not remapped: move %q copy %q; want the target's %q and %q",
					g.Actions.MoveToFolder, g.Actions.CopyToFolder, tProjects.ID, tArchive.ID)
			}
			if g.Actions.MoveToFolder == projects {
				t.Error("the target rule points at the source folder id")
			}
		}
	}
	t.Logf("round trip kept %d mapped parts over %d rules", len(mapped), len(got))
}

// TestUnmappableRuleIsNeverCreated: for every EWS part without a Graph form
// (per mapping.RuleParts), a rule read over EWS that uses it is reported by
// TranslateRule with the part and its reason, and the Graph client refuses
// to create it as it is (a *graphmail.RuleUnsupportedError, before any
// request), so a partly mappable rule never lands on the target silently.
func TestUnmappableRuleIsNeverCreated(t *testing.T) {
	e := startEnv(t, emptyScenario())
	ctx := context.Background()
	const src, dst = "gaps@" + domain, "gaps@contoso.onmicrosoft.com"
	fx := e.lab.EWS.AddMailbox(src)
	tfx := e.lab.Graph.AddMailbox(dst, mailbox.TypeUser)
	reply := fx.Folder("Inbox").AddItem(mailItem("Out of office template"))

	type gapCase struct {
		part string // e.g. conditions.ItemClasses
		rule mailbox.Rule
	}
	var cases []gapCase
	for i, p := range mapping.RuleParts() {
		if p.Graph != "" {
			continue
		}
		base := mailbox.Rule{ID: fmt.Sprintf("g%d", i), Name: "Gap " + p.Name, Priority: i + 1, Enabled: true,
			Conditions: mailbox.Predicates{ContainsSubjectStrings: []string{"x"}}, Actions: mailbox.Actions{MarkAsRead: true}}
		switch p.Kind {
		case mapping.PartRule:
			r := base
			reflect.ValueOf(&r).Elem().FieldByName(p.Name).SetBool(true)
			cases = append(cases, gapCase{"rule." + p.Name, r})
		case mapping.PartPredicate:
			for _, sec := range []string{"Conditions", "Exceptions"} {
				r := base
				r.Name += " (" + strings.ToLower(sec) + ")"
				setGapValue(t, reflect.ValueOf(&r).Elem().FieldByName(sec).FieldByName(p.Name), p.Name)
				cases = append(cases, gapCase{strings.ToLower(sec) + "." + p.Name, r})
			}
		case mapping.PartAction:
			r := base
			f := reflect.ValueOf(&r.Actions).Elem().FieldByName(p.Name)
			if p.Name == "ServerReplyWithMessage" {
				f.SetString(reply)
			} else {
				setGapValue(t, f, p.Name)
			}
			cases = append(cases, gapCase{"actions." + p.Name, r})
		}
	}
	rules := make([]mailbox.Rule, len(cases))
	for i, c := range cases {
		rules[i] = c.rule
	}
	fx.SetRules(rules)
	read, err := e.sides.EWS.Mailbox(src).Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != len(cases) {
		t.Fatalf("EWS read %d rules, want %d", len(read), len(cases))
	}
	target := e.sides.Graph.Mailbox(dst)
	writes := e.lab.Graph.Writes()
	for i, c := range cases {
		t.Run(c.part, func(t *testing.T) {
			r := read[i]
			tr := mapping.TranslateRule(r, mapping.FolderMapOf(nil))
			var gap *mapping.Gap
			for j := range tr.Unmappable {
				if tr.Unmappable[j].Part == c.part {
					gap = &tr.Unmappable[j]
				}
			}
			if tr.Mappable || gap == nil || gap.Reason == "" {
				t.Fatalf("translation %+v does not name %s with a reason", tr.Unmappable, c.part)
			}
			_, err := target.CreateRule(ctx, r)
			var ue *graphmail.RuleUnsupportedError
			if !errors.As(err, &ue) || !errors.Is(err, graphmail.ErrUnsupported) {
				t.Errorf("CreateRule of the rule as read: %v, want a *graphmail.RuleUnsupportedError", err)
			}
		})
	}
	if got := e.lab.Graph.Writes(); got != writes || len(tfx.Rules()) != 0 {
		t.Errorf("the target was written: %d writes, %d rules", got-writes, len(tfx.Rules()))
	}
}

// setGapValue sets a part without a Graph form to a value EWS can carry.
func setGapValue(t *testing.T, f reflect.Value, name string) {
	t.Helper()
	switch name {
	case "WithinDateRange":
		f.Set(reflect.ValueOf(&mailbox.DateRange{StartDateTime: "2024-01-01T00:00:00Z", EndDateTime: "2024-03-31T00:00:00Z"}))
	case "ItemClasses":
		f.Set(reflect.ValueOf([]string{"IPM.Schedule.Meeting.Request"}))
	case "SendSMSAlertToRecipients":
		f.Set(reflect.ValueOf([]string{"+15550100"}))
	default:
		if f.Kind() != reflect.Slice {
			t.Fatalf("%s: no test value for kind %s", name, f.Kind())
		}
		f.Set(reflect.ValueOf([]string{strings.ToLower(name) + "-value"}))
	}
}
