package mapping

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// predicateCases has one row per field of mailbox.Predicates (t:RulePredicatesType):
// the Graph property it maps to, or the exact reason it does not.
var predicateCases = []struct {
	name   string
	set    func(p *mailbox.Predicates)
	graph  string
	reason string
}{
	{"Categories", func(p *mailbox.Predicates) { p.Categories = []string{"Red", "Blue"} }, "categories", ""},
	{"ContainsBodyStrings", func(p *mailbox.Predicates) { p.ContainsBodyStrings = []string{"invoice"} }, "bodyContains", ""},
	{"ContainsHeaderStrings", func(p *mailbox.Predicates) { p.ContainsHeaderStrings = []string{"X-Spam: yes"} }, "headerContains", ""},
	{"ContainsRecipientStrings", func(p *mailbox.Predicates) { p.ContainsRecipientStrings = []string{"sales"} }, "recipientContains", ""},
	{"ContainsSenderStrings", func(p *mailbox.Predicates) { p.ContainsSenderStrings = []string{"noreply"} }, "senderContains", ""},
	{"ContainsSubjectOrBodyStrings", func(p *mailbox.Predicates) { p.ContainsSubjectOrBodyStrings = []string{"urgent"} }, "bodyOrSubjectContains", ""},
	{"ContainsSubjectStrings", func(p *mailbox.Predicates) { p.ContainsSubjectStrings = []string{"[ticket]"} }, "subjectContains", ""},
	{"FlaggedForAction", func(p *mailbox.Predicates) { p.FlaggedForAction = "FollowUp" }, "messageActionFlag", ""},
	{"FromAddresses", func(p *mailbox.Predicates) { p.FromAddresses = []string{"boss@contoso.com"} }, "fromAddresses", ""},
	{"FromConnectedAccounts", func(p *mailbox.Predicates) { p.FromConnectedAccounts = []string{"me@gmail.com"} }, "", reasonFromConnectedAccounts},
	{"HasAttachments", func(p *mailbox.Predicates) { p.HasAttachments = true }, "hasAttachments", ""},
	{"Importance", func(p *mailbox.Predicates) { p.Importance = mailbox.ImportanceHigh }, "importance", ""},
	{"IsApprovalRequest", func(p *mailbox.Predicates) { p.IsApprovalRequest = true }, "isApprovalRequest", ""},
	{"IsAutomaticForward", func(p *mailbox.Predicates) { p.IsAutomaticForward = true }, "isAutomaticForward", ""},
	{"IsAutomaticReply", func(p *mailbox.Predicates) { p.IsAutomaticReply = true }, "isAutomaticReply", ""},
	{"IsEncrypted", func(p *mailbox.Predicates) { p.IsEncrypted = true }, "isEncrypted", ""},
	{"IsMeetingRequest", func(p *mailbox.Predicates) { p.IsMeetingRequest = true }, "isMeetingRequest", ""},
	{"IsMeetingResponse", func(p *mailbox.Predicates) { p.IsMeetingResponse = true }, "isMeetingResponse", ""},
	{"IsNDR", func(p *mailbox.Predicates) { p.IsNDR = true }, "isNonDeliveryReport", ""},
	{"IsPermissionControlled", func(p *mailbox.Predicates) { p.IsPermissionControlled = true }, "isPermissionControlled", ""},
	{"IsReadReceipt", func(p *mailbox.Predicates) { p.IsReadReceipt = true }, "isReadReceipt", ""},
	{"IsSigned", func(p *mailbox.Predicates) { p.IsSigned = true }, "isSigned", ""},
	{"IsVoicemail", func(p *mailbox.Predicates) { p.IsVoicemail = true }, "isVoicemail", ""},
	{"ItemClasses", func(p *mailbox.Predicates) { p.ItemClasses = []string{"IPM.Note.Custom"} }, "", reasonItemClasses},
	{"MessageClassifications", func(p *mailbox.Predicates) { p.MessageClassifications = []string{"Confidential"} }, "", reasonMessageClassifications},
	{"NotSentToMe", func(p *mailbox.Predicates) { p.NotSentToMe = true }, "notSentToMe", ""},
	{"SentCcMe", func(p *mailbox.Predicates) { p.SentCcMe = true }, "sentCcMe", ""},
	{"SentOnlyToMe", func(p *mailbox.Predicates) { p.SentOnlyToMe = true }, "sentOnlyToMe", ""},
	{"SentToAddresses", func(p *mailbox.Predicates) { p.SentToAddresses = []string{"team@contoso.com"} }, "sentToAddresses", ""},
	{"SentToMe", func(p *mailbox.Predicates) { p.SentToMe = true }, "sentToMe", ""},
	{"SentToOrCcMe", func(p *mailbox.Predicates) { p.SentToOrCcMe = true }, "sentToOrCcMe", ""},
	{"Sensitivity", func(p *mailbox.Predicates) { p.Sensitivity = "Private" }, "sensitivity", ""},
	{"WithinDateRange", func(p *mailbox.Predicates) {
		p.WithinDateRange = &mailbox.DateRange{StartDateTime: "2024-01-01T00:00:00Z"}
	}, "", reasonWithinDateRange},
	{"WithinSizeRange", func(p *mailbox.Predicates) {
		p.WithinSizeRange = &mailbox.SizeRange{MinimumSizeKB: 100, MaximumSizeKB: 5000}
	}, "withinSizeRange", ""},
}

// actionCases has one row per field of mailbox.Actions (t:RuleActionsType).
var actionCases = []struct {
	name   string
	set    func(a *mailbox.Actions)
	graph  string
	reason string
}{
	{"AssignCategories", func(a *mailbox.Actions) { a.AssignCategories = []string{"Finance"} }, "assignCategories", ""},
	{"CopyToFolder", func(a *mailbox.Actions) { a.CopyToFolder = "src-archive" }, "copyToFolder", ""},
	{"Delete", func(a *mailbox.Actions) { a.Delete = true }, "delete", ""},
	{"ForwardAsAttachmentToRecipients", func(a *mailbox.Actions) { a.ForwardAsAttachmentToRecipients = []string{"a@contoso.com"} }, "forwardAsAttachmentTo", ""},
	{"ForwardToRecipients", func(a *mailbox.Actions) { a.ForwardToRecipients = []string{"b@contoso.com"} }, "forwardTo", ""},
	{"MarkImportance", func(a *mailbox.Actions) { a.MarkImportance = mailbox.ImportanceLow }, "markImportance", ""},
	{"MarkAsRead", func(a *mailbox.Actions) { a.MarkAsRead = true }, "markAsRead", ""},
	{"MoveToFolder", func(a *mailbox.Actions) { a.MoveToFolder = "src-projects" }, "moveToFolder", ""},
	{"PermanentDelete", func(a *mailbox.Actions) { a.PermanentDelete = true }, "permanentDelete", ""},
	{"RedirectToRecipients", func(a *mailbox.Actions) { a.RedirectToRecipients = []string{"c@contoso.com"} }, "redirectTo", ""},
	{"SendSMSAlertToRecipients", func(a *mailbox.Actions) { a.SendSMSAlertToRecipients = []string{"+15550100"} }, "", reasonSendSMSAlert},
	{"ServerReplyWithMessage", func(a *mailbox.Actions) { a.ServerReplyWithMessage = "AAMkTemplate=" }, "", reasonServerReply},
	{"StopProcessingRules", func(a *mailbox.Actions) { a.StopProcessingRules = true }, "stopProcessingRules", ""},
}

var testFolders = FolderMapOf(map[string]string{
	"src-archive":  "tgt-archive",
	"src-projects": "tgt-projects",
})

func TestTranslatePredicates(t *testing.T) {
	for _, section := range []string{"conditions", "exceptions"} {
		for _, tc := range predicateCases {
			t.Run(section+"/"+tc.name, func(t *testing.T) {
				r := mailbox.Rule{ID: "r1", Name: "rule", Priority: 1, Enabled: true}
				r.Actions.MarkAsRead = true // a Graph rule needs an action
				src := &r.Conditions
				if section == "exceptions" {
					src = &r.Exceptions
				}
				tc.set(src)
				want := *src

				got := TranslateRule(r, testFolders)
				gotP := got.Rule.Conditions
				if section == "exceptions" {
					gotP = got.Rule.Exceptions
				}
				part := section + "." + tc.name
				if tc.graph != "" {
					if !got.Mappable || len(got.Unmappable) != 0 {
						t.Fatalf("not mappable: %+v", got.Unmappable)
					}
					wantMapped := []string{part + " -> " + tc.graph, "actions.MarkAsRead -> markAsRead"}
					if !slices.Equal(got.Mapped, wantMapped) {
						t.Fatalf("Mapped = %q, want %q", got.Mapped, wantMapped)
					}
					if !reflect.DeepEqual(gotP, want) {
						t.Fatalf("%s = %+v, want %+v", section, gotP, want)
					}
					if f := GraphFieldName(part); f != tc.graph {
						t.Fatalf("GraphFieldName(%q) = %q, want %q", part, f, tc.graph)
					}
					return
				}
				if got.Mappable {
					t.Fatal("a rule with an unmappable predicate is Mappable")
				}
				wantGaps := []Gap{{part, tc.reason}}
				if !slices.Equal(got.Unmappable, wantGaps) {
					t.Fatalf("Unmappable = %+v, want %+v", got.Unmappable, wantGaps)
				}
				if !reflect.DeepEqual(gotP, mailbox.Predicates{}) {
					t.Fatalf("the unmappable predicate leaked into the Graph rule: %+v", gotP)
				}
				if f := GraphFieldName(part); f != "" {
					t.Fatalf("GraphFieldName(%q) = %q, want empty", part, f)
				}
			})
		}
	}
}

func TestTranslateActions(t *testing.T) {
	for _, tc := range actionCases {
		t.Run(tc.name, func(t *testing.T) {
			r := mailbox.Rule{ID: "r1", Name: "rule", Priority: 2, Enabled: true}
			r.Conditions.FromAddresses = []string{"x@contoso.com"}
			tc.set(&r.Actions)

			got := TranslateRule(r, testFolders)
			part := "actions." + tc.name
			if tc.graph != "" {
				if !got.Mappable {
					t.Fatalf("not mappable: %+v", got.Unmappable)
				}
				wantMapped := []string{"conditions.FromAddresses -> fromAddresses", part + " -> " + tc.graph}
				if !slices.Equal(got.Mapped, wantMapped) {
					t.Fatalf("Mapped = %q, want %q", got.Mapped, wantMapped)
				}
				want := r.Actions
				// Folder references are the target's ids.
				if want.CopyToFolder != "" {
					want.CopyToFolder = "tgt-archive"
				}
				if want.MoveToFolder != "" {
					want.MoveToFolder = "tgt-projects"
				}
				if !reflect.DeepEqual(got.Rule.Actions, want) {
					t.Fatalf("actions = %+v, want %+v", got.Rule.Actions, want)
				}
				if f := GraphFieldName(part); f != tc.graph {
					t.Fatalf("GraphFieldName(%q) = %q, want %q", part, f, tc.graph)
				}
				return
			}
			wantGaps := []Gap{{part, tc.reason}, {"actions", "no action of the rule can be expressed in Graph, and a messageRule needs at least one"}}
			if got.Mappable || !slices.Equal(got.Unmappable, wantGaps) {
				t.Fatalf("Mappable=%v Unmappable = %+v, want %+v", got.Mappable, got.Unmappable, wantGaps)
			}
			if !reflect.DeepEqual(got.Rule.Actions, mailbox.Actions{}) {
				t.Fatalf("the unmappable action leaked into the Graph rule: %+v", got.Rule.Actions)
			}
		})
	}
}

// Every field of the EWS shapes has a test row and a translation row, so a
// field added to mailbox.Rule cannot go unnoticed.
func TestEveryRuleFieldIsCovered(t *testing.T) {
	check := func(typ reflect.Type, tested []string, kind string) {
		parts := map[string]bool{}
		for _, p := range RuleParts() {
			if p.Kind == kind {
				parts[p.Name] = true
				if (p.Graph == "") == (p.Unmappable == "") {
					t.Errorf("part %s must have exactly one of a Graph field and a reason: %+v", p.Name, p)
				}
			}
		}
		for i := range typ.NumField() {
			name := typ.Field(i).Name
			if !slices.Contains(tested, name) {
				t.Errorf("%s.%s has no test row", typ.Name(), name)
			}
			if !parts[name] {
				t.Errorf("%s.%s has no translation row", typ.Name(), name)
			}
			delete(parts, name)
		}
		for name := range parts {
			t.Errorf("translation row %s matches no field of %s", name, typ.Name())
		}
	}
	var pn, an []string
	for _, c := range predicateCases {
		pn = append(pn, c.name)
	}
	for _, c := range actionCases {
		an = append(an, c.name)
	}
	check(reflect.TypeFor[mailbox.Predicates](), pn, PartPredicate)
	check(reflect.TypeFor[mailbox.Actions](), an, PartAction)
}

func TestTranslateFolderReferences(t *testing.T) {
	base := mailbox.Rule{Name: "move", Enabled: true}
	base.Conditions.ContainsSubjectStrings = []string{"report"}

	tests := []struct {
		name    string
		actions mailbox.Actions
		folders FolderMap
		want    mailbox.Actions
		gaps    []string
	}{
		{"move remapped", mailbox.Actions{MoveToFolder: "src-projects"}, testFolders,
			mailbox.Actions{MoveToFolder: "tgt-projects"}, nil},
		{"copy remapped", mailbox.Actions{CopyToFolder: "src-archive", MarkAsRead: true}, testFolders,
			mailbox.Actions{CopyToFolder: "tgt-archive", MarkAsRead: true}, nil},
		{"move to a folder the target lacks", mailbox.Actions{MoveToFolder: "src-gone", MarkAsRead: true}, testFolders,
			mailbox.Actions{MarkAsRead: true}, []string{"actions.MoveToFolder"}},
		{"copy without a folder map", mailbox.Actions{CopyToFolder: "src-archive", StopProcessingRules: true}, nil,
			mailbox.Actions{StopProcessingRules: true}, []string{"actions.CopyToFolder"}},
		{"map returns an empty id", mailbox.Actions{MoveToFolder: "src-empty", Delete: true},
			FolderMapOf(map[string]string{"src-empty": ""}),
			mailbox.Actions{Delete: true}, []string{"actions.MoveToFolder"}},
		{"only action unmappable", mailbox.Actions{MoveToFolder: "src-gone"}, testFolders,
			mailbox.Actions{}, []string{"actions.MoveToFolder", "actions"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			r.Actions = tc.actions
			got := TranslateRule(r, tc.folders)
			if !reflect.DeepEqual(got.Rule.Actions, tc.want) {
				t.Errorf("actions = %+v, want %+v", got.Rule.Actions, tc.want)
			}
			var parts []string
			for _, g := range got.Unmappable {
				parts = append(parts, g.Part)
				if !strings.Contains(g.Reason, "folder") && g.Part != "actions" {
					t.Errorf("reason %q does not say it is about a folder", g.Reason)
				}
			}
			if !slices.Equal(parts, tc.gaps) {
				t.Errorf("gaps = %q, want %q", parts, tc.gaps)
			}
			if got.Mappable != (len(tc.gaps) == 0) {
				t.Errorf("Mappable = %v with gaps %q", got.Mappable, tc.gaps)
			}
		})
	}
}

func TestTranslateRuleState(t *testing.T) {
	tests := []struct {
		name string
		rule mailbox.Rule
		gaps []Gap
	}{
		{"not supported", mailbox.Rule{Name: "n", IsNotSupported: true, Actions: mailbox.Actions{MarkAsRead: true}},
			[]Gap{{"rule.IsNotSupported", reasonNotSupported}}},
		{"in error", mailbox.Rule{Name: "e", IsInError: true, Actions: mailbox.Actions{Delete: true}},
			[]Gap{{"rule.IsInError", reasonInError}}},
		{"both, no actions", mailbox.Rule{Name: "b", IsNotSupported: true, IsInError: true},
			[]Gap{{"rule.IsNotSupported", reasonNotSupported}, {"rule.IsInError", reasonInError},
				{"actions", "no action of the rule can be expressed in Graph, and a messageRule needs at least one"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TranslateRule(tc.rule, nil)
			if got.Mappable || !slices.Equal(got.Unmappable, tc.gaps) {
				t.Fatalf("Mappable=%v gaps=%+v, want %+v", got.Mappable, got.Unmappable, tc.gaps)
			}
			if got.Rule.IsNotSupported || got.Rule.IsInError {
				t.Fatal("the EWS state flags leaked into the Graph rule")
			}
		})
	}
}

func TestTranslateRejectsValuesGraphLacks(t *testing.T) {
	tests := []struct {
		name string
		set  func(r *mailbox.Rule)
		part string
	}{
		{"flag", func(r *mailbox.Rule) { r.Conditions.FlaggedForAction = "Escalate" }, "conditions.FlaggedForAction"},
		{"importance", func(r *mailbox.Rule) { r.Exceptions.Importance = "Urgent" }, "exceptions.Importance"},
		{"sensitivity", func(r *mailbox.Rule) { r.Conditions.Sensitivity = "Secret" }, "conditions.Sensitivity"},
		{"size", func(r *mailbox.Rule) { r.Conditions.WithinSizeRange = &mailbox.SizeRange{MinimumSizeKB: -1} }, "conditions.WithinSizeRange"},
		{"mark importance", func(r *mailbox.Rule) { r.Actions.MarkImportance = "Critical" }, "actions.MarkImportance"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := mailbox.Rule{Name: "v", Actions: mailbox.Actions{StopProcessingRules: true}}
			tc.set(&r)
			got := TranslateRule(r, nil)
			if got.Mappable || len(got.Unmappable) != 1 || got.Unmappable[0].Part != tc.part {
				t.Fatalf("got %+v, want one gap for %s", got.Unmappable, tc.part)
			}
		})
	}
	// Every EWS FlaggedForAction value has a Graph spelling.
	for _, v := range []string{"Any", "Call", "DoNotForward", "FollowUp", "FYI", "Forward",
		"NoResponseNecessary", "Read", "Reply", "ReplyToAll", "Review"} {
		g, ok := MessageActionFlag(v)
		if !ok || !strings.EqualFold(g, v) || g[0] < 'a' || g[0] > 'z' {
			t.Errorf("MessageActionFlag(%q) = %q, %v", v, g, ok)
		}
	}
}

func TestTranslateWholeRule(t *testing.T) {
	r := mailbox.Rule{ID: "AQAAAJ1", Name: "Projects", Priority: 3, Enabled: true}
	r.Conditions.FromAddresses = []string{"pm@contoso.com"}
	r.Conditions.ContainsSubjectStrings = []string{"[proj]"}
	r.Conditions.WithinDateRange = &mailbox.DateRange{EndDateTime: "2025-01-01T00:00:00Z"}
	r.Exceptions.IsAutomaticReply = true
	r.Exceptions.ItemClasses = []string{"IPM.Schedule.Meeting.Request"}
	r.Actions.MoveToFolder = "src-projects"
	r.Actions.ServerReplyWithMessage = "tmpl"
	r.Actions.StopProcessingRules = true

	got := TranslateRule(r, testFolders)
	wantMapped := []string{
		"conditions.ContainsSubjectStrings -> subjectContains",
		"conditions.FromAddresses -> fromAddresses",
		"exceptions.IsAutomaticReply -> isAutomaticReply",
		"actions.MoveToFolder -> moveToFolder",
		"actions.StopProcessingRules -> stopProcessingRules",
	}
	wantGaps := []Gap{
		{"conditions.WithinDateRange", reasonWithinDateRange},
		{"exceptions.ItemClasses", reasonItemClasses},
		{"actions.ServerReplyWithMessage", reasonServerReply},
	}
	if !slices.Equal(got.Mapped, wantMapped) {
		t.Errorf("Mapped = %q\nwant %q", got.Mapped, wantMapped)
	}
	if !slices.Equal(got.Unmappable, wantGaps) {
		t.Errorf("Unmappable = %+v\nwant %+v", got.Unmappable, wantGaps)
	}
	if got.Mappable {
		t.Error("a partly mappable rule is Mappable")
	}
	want := mailbox.Rule{ID: "AQAAAJ1", Name: "Projects", Priority: 3, Enabled: true}
	want.Conditions.FromAddresses = []string{"pm@contoso.com"}
	want.Conditions.ContainsSubjectStrings = []string{"[proj]"}
	want.Exceptions.IsAutomaticReply = true
	want.Actions.MoveToFolder = "tgt-projects"
	want.Actions.StopProcessingRules = true
	if !reflect.DeepEqual(got.Rule, want) {
		t.Errorf("Rule = %+v\nwant %+v", got.Rule, want)
	}

	// The translation owns its slices.
	r.Conditions.FromAddresses[0] = "changed@contoso.com"
	if got.Rule.Conditions.FromAddresses[0] != "pm@contoso.com" {
		t.Error("the translated rule shares a slice with the source rule")
	}
}

func TestGraphFieldName(t *testing.T) {
	tests := map[string]string{
		"conditions.ContainsSubjectStrings":       "subjectContains",
		"exceptions.ContainsSubjectStrings":       "subjectContains",
		"ContainsSubjectStrings":                  "subjectContains",
		"IsNDR":                                   "isNonDeliveryReport",
		"actions.RedirectToRecipients":            "redirectTo",
		"actions.ForwardAsAttachmentToRecipients": "forwardAsAttachmentTo",
		"RedirectToRecipients":                    "redirectTo",
		"Name":                                    "displayName",
		"rule.Priority":                           "sequence",
		"Enabled":                                 "isEnabled",
		"conditions":                              "conditions",
		"actions":                                 "actions",
		"conditions.WithinDateRange":              "",
		"actions.SendSMSAlertToRecipients":        "",
		"rule.IsInError":                          "",
		"actions.ContainsSubjectStrings":          "", // a predicate is not an action
		"conditions.MoveToFolder":                 "",
		"bogus":                                   "",
		"":                                        "",
	}
	for in, want := range tests {
		if got := GraphFieldName(in); got != want {
			t.Errorf("GraphFieldName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzGraphFieldName(f *testing.F) {
	graphNames := map[string]bool{"": true, "conditions": true, "exceptions": true, "actions": true}
	for _, p := range RuleParts() {
		graphNames[p.Graph] = true
		f.Add(p.Name)
		f.Add("conditions." + p.Name)
		f.Add("actions." + p.Name)
	}
	f.Add("rule.IsInError")
	f.Add("..")
	f.Add("conditions.")
	f.Fuzz(func(t *testing.T, part string) {
		got := GraphFieldName(part)
		if !graphNames[got] {
			t.Fatalf("GraphFieldName(%q) = %q, not a Graph property", part, got)
		}
		// A qualified name resolves like its bare name: names are unique.
		if section, name, ok := strings.Cut(part, "."); ok && got != "" && section != "" {
			if bare := GraphFieldName(name); bare != got {
				t.Fatalf("GraphFieldName(%q) = %q but GraphFieldName(%q) = %q", part, got, name, bare)
			}
		}
	})
}
