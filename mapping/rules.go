package mapping

import (
	"fmt"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// FolderMap maps a folder id of the source mailbox to the id of the folder
// that stands for it on the target. ok is false when there is none.
type FolderMap func(sourceFolderID string) (targetID string, ok bool)

// FolderMapOf builds a FolderMap from a map of source to target ids.
func FolderMapOf(m map[string]string) FolderMap {
	return func(id string) (string, bool) {
		t, ok := m[id]
		return t, ok && t != ""
	}
}

// Gap is one part of a rule that Graph cannot express, and why.
type Gap struct {
	Part   string `json:"part"`   // e.g. conditions.WithinDateRange, actions.MoveToFolder, rule.IsInError
	Reason string `json:"reason"` // a sentence
}

// RuleTranslation is the result of translating one EWS rule for Graph.
type RuleTranslation struct {
	// Rule holds only the parts Graph can express, with folder ids remapped
	// to the target's. Unmappable parts are cleared.
	Rule mailbox.Rule `json:"rule"`
	// Mapped lists what carried over, e.g. "conditions.FromAddresses -> fromAddresses".
	Mapped []string `json:"mapped"`
	// Unmappable lists what did not, in the order of the EWS schema.
	Unmappable []Gap `json:"unmappable"`
	// Mappable is true only when nothing is lost: the Graph rule does exactly
	// what the EWS rule does. Only such rules may be created unattended.
	Mappable bool `json:"mappable"`
}

// Rule part kinds.
const (
	PartRule      = "rule"      // a property of the rule itself
	PartPredicate = "predicate" // a condition or exception (same set on both sides)
	PartAction    = "action"
)

// RulePart describes one EWS rule element and its Graph counterpart.
type RulePart struct {
	Name       string // the EWS element name, e.g. ContainsSubjectStrings
	Kind       string // PartRule, PartPredicate or PartAction
	Graph      string // the Graph messageRule property; empty when there is none
	Unmappable string // why it has no Graph form; empty when it maps
}

// The reasons for the parts that have no Graph form. They name the fact so
// that a report reader can check it.
const (
	reasonFromConnectedAccounts  = "Graph messageRulePredicates has no condition on the connected account a message arrived through"
	reasonItemClasses            = "Graph messageRulePredicates has no condition on the item class (message class)"
	reasonMessageClassifications = "Graph messageRulePredicates has no condition on message classifications"
	reasonWithinDateRange        = "Graph messageRulePredicates has no received-date range condition"
	reasonSendSMSAlert           = "Graph messageRuleActions has no SMS alert action"
	reasonServerReply            = "Graph messageRuleActions has no action that replies with a stored template message"
	reasonNotSupported           = "EWS marks the rule IsNotSupported: part of it was made by a client and cannot be read or rebuilt through the API"
	reasonInError                = "EWS marks the rule IsInError: it does not run on the source and would not run on the target"
)

// predicate is one field of mailbox.Predicates.
type predicate struct {
	RulePart
	isSet func(p *mailbox.Predicates) bool
	// copyTo copies the field into dst; it returns a reason when the value
	// itself has no Graph form (an enumeration value Graph lacks).
	copyTo func(src, dst *mailbox.Predicates) string
}

// action is one field of mailbox.Actions.
type action struct {
	RulePart
	isSet  func(a *mailbox.Actions) bool
	copyTo func(src, dst *mailbox.Actions, folders FolderMap) string
}

func strs(s []string) bool { return len(s) > 0 }

// The tables below follow the element order of t:RulePredicatesType and
// t:RuleActionsType, which is also the order gaps are reported in.
var predicateTable = []predicate{
	{RulePart{"Categories", PartPredicate, "categories", ""},
		func(p *mailbox.Predicates) bool { return strs(p.Categories) },
		func(s, d *mailbox.Predicates) string { d.Categories = clone(s.Categories); return "" }},
	{RulePart{"ContainsBodyStrings", PartPredicate, "bodyContains", ""},
		func(p *mailbox.Predicates) bool { return strs(p.ContainsBodyStrings) },
		func(s, d *mailbox.Predicates) string { d.ContainsBodyStrings = clone(s.ContainsBodyStrings); return "" }},
	{RulePart{"ContainsHeaderStrings", PartPredicate, "headerContains", ""},
		func(p *mailbox.Predicates) bool { return strs(p.ContainsHeaderStrings) },
		func(s, d *mailbox.Predicates) string {
			d.ContainsHeaderStrings = clone(s.ContainsHeaderStrings)
			return ""
		}},
	{RulePart{"ContainsRecipientStrings", PartPredicate, "recipientContains", ""},
		func(p *mailbox.Predicates) bool { return strs(p.ContainsRecipientStrings) },
		func(s, d *mailbox.Predicates) string {
			d.ContainsRecipientStrings = clone(s.ContainsRecipientStrings)
			return ""
		}},
	{RulePart{"ContainsSenderStrings", PartPredicate, "senderContains", ""},
		func(p *mailbox.Predicates) bool { return strs(p.ContainsSenderStrings) },
		func(s, d *mailbox.Predicates) string {
			d.ContainsSenderStrings = clone(s.ContainsSenderStrings)
			return ""
		}},
	{RulePart{"ContainsSubjectOrBodyStrings", PartPredicate, "bodyOrSubjectContains", ""},
		func(p *mailbox.Predicates) bool { return strs(p.ContainsSubjectOrBodyStrings) },
		func(s, d *mailbox.Predicates) string {
			d.ContainsSubjectOrBodyStrings = clone(s.ContainsSubjectOrBodyStrings)
			return ""
		}},
	{RulePart{"ContainsSubjectStrings", PartPredicate, "subjectContains", ""},
		func(p *mailbox.Predicates) bool { return strs(p.ContainsSubjectStrings) },
		func(s, d *mailbox.Predicates) string {
			d.ContainsSubjectStrings = clone(s.ContainsSubjectStrings)
			return ""
		}},
	{RulePart{"FlaggedForAction", PartPredicate, "messageActionFlag", ""},
		func(p *mailbox.Predicates) bool { return p.FlaggedForAction != "" },
		func(s, d *mailbox.Predicates) string {
			if _, ok := MessageActionFlag(s.FlaggedForAction); !ok {
				return fmt.Sprintf("flag %q has no Graph messageActionFlag value", s.FlaggedForAction)
			}
			d.FlaggedForAction = s.FlaggedForAction
			return ""
		}},
	{RulePart{"FromAddresses", PartPredicate, "fromAddresses", ""},
		func(p *mailbox.Predicates) bool { return strs(p.FromAddresses) },
		func(s, d *mailbox.Predicates) string { d.FromAddresses = clone(s.FromAddresses); return "" }},
	{RulePart{"FromConnectedAccounts", PartPredicate, "", reasonFromConnectedAccounts},
		func(p *mailbox.Predicates) bool { return strs(p.FromConnectedAccounts) }, nil},
	{RulePart{"HasAttachments", PartPredicate, "hasAttachments", ""},
		func(p *mailbox.Predicates) bool { return p.HasAttachments },
		func(s, d *mailbox.Predicates) string { d.HasAttachments = true; return "" }},
	{RulePart{"Importance", PartPredicate, "importance", ""},
		func(p *mailbox.Predicates) bool { return p.Importance != "" },
		func(s, d *mailbox.Predicates) string {
			if !validImportance(s.Importance) {
				return fmt.Sprintf("importance %q is not low, normal or high", s.Importance)
			}
			d.Importance = s.Importance
			return ""
		}},
	flagPredicate("IsApprovalRequest", "isApprovalRequest", func(p *mailbox.Predicates) *bool { return &p.IsApprovalRequest }),
	flagPredicate("IsAutomaticForward", "isAutomaticForward", func(p *mailbox.Predicates) *bool { return &p.IsAutomaticForward }),
	flagPredicate("IsAutomaticReply", "isAutomaticReply", func(p *mailbox.Predicates) *bool { return &p.IsAutomaticReply }),
	flagPredicate("IsEncrypted", "isEncrypted", func(p *mailbox.Predicates) *bool { return &p.IsEncrypted }),
	flagPredicate("IsMeetingRequest", "isMeetingRequest", func(p *mailbox.Predicates) *bool { return &p.IsMeetingRequest }),
	flagPredicate("IsMeetingResponse", "isMeetingResponse", func(p *mailbox.Predicates) *bool { return &p.IsMeetingResponse }),
	flagPredicate("IsNDR", "isNonDeliveryReport", func(p *mailbox.Predicates) *bool { return &p.IsNDR }),
	flagPredicate("IsPermissionControlled", "isPermissionControlled", func(p *mailbox.Predicates) *bool { return &p.IsPermissionControlled }),
	flagPredicate("IsReadReceipt", "isReadReceipt", func(p *mailbox.Predicates) *bool { return &p.IsReadReceipt }),
	flagPredicate("IsSigned", "isSigned", func(p *mailbox.Predicates) *bool { return &p.IsSigned }),
	flagPredicate("IsVoicemail", "isVoicemail", func(p *mailbox.Predicates) *bool { return &p.IsVoicemail }),
	{RulePart{"ItemClasses", PartPredicate, "", reasonItemClasses},
		func(p *mailbox.Predicates) bool { return strs(p.ItemClasses) }, nil},
	{RulePart{"MessageClassifications", PartPredicate, "", reasonMessageClassifications},
		func(p *mailbox.Predicates) bool { return strs(p.MessageClassifications) }, nil},
	flagPredicate("NotSentToMe", "notSentToMe", func(p *mailbox.Predicates) *bool { return &p.NotSentToMe }),
	flagPredicate("SentCcMe", "sentCcMe", func(p *mailbox.Predicates) *bool { return &p.SentCcMe }),
	flagPredicate("SentOnlyToMe", "sentOnlyToMe", func(p *mailbox.Predicates) *bool { return &p.SentOnlyToMe }),
	{RulePart{"SentToAddresses", PartPredicate, "sentToAddresses", ""},
		func(p *mailbox.Predicates) bool { return strs(p.SentToAddresses) },
		func(s, d *mailbox.Predicates) string { d.SentToAddresses = clone(s.SentToAddresses); return "" }},
	flagPredicate("SentToMe", "sentToMe", func(p *mailbox.Predicates) *bool { return &p.SentToMe }),
	flagPredicate("SentToOrCcMe", "sentToOrCcMe", func(p *mailbox.Predicates) *bool { return &p.SentToOrCcMe }),
	{RulePart{"Sensitivity", PartPredicate, "sensitivity", ""},
		func(p *mailbox.Predicates) bool { return p.Sensitivity != "" },
		func(s, d *mailbox.Predicates) string {
			switch strings.ToLower(s.Sensitivity) {
			case "normal", "personal", "private", "confidential":
				d.Sensitivity = s.Sensitivity
				return ""
			}
			return fmt.Sprintf("sensitivity %q is not normal, personal, private or confidential", s.Sensitivity)
		}},
	{RulePart{"WithinDateRange", PartPredicate, "", reasonWithinDateRange},
		func(p *mailbox.Predicates) bool { return p.WithinDateRange != nil }, nil},
	{RulePart{"WithinSizeRange", PartPredicate, "withinSizeRange", ""},
		func(p *mailbox.Predicates) bool { return p.WithinSizeRange != nil },
		func(s, d *mailbox.Predicates) string {
			r := *s.WithinSizeRange
			if r.MinimumSizeKB < 0 || r.MaximumSizeKB < 0 {
				return fmt.Sprintf("size range %d-%d KB is negative", r.MinimumSizeKB, r.MaximumSizeKB)
			}
			d.WithinSizeRange = &r // both sides count kilobytes
			return ""
		}},
}

func flagPredicate(name, graph string, field func(*mailbox.Predicates) *bool) predicate {
	return predicate{
		RulePart{name, PartPredicate, graph, ""},
		func(p *mailbox.Predicates) bool { return *field(p) },
		func(s, d *mailbox.Predicates) string { *field(d) = true; return "" },
	}
}

var actionTable = []action{
	{RulePart{"AssignCategories", PartAction, "assignCategories", ""},
		func(a *mailbox.Actions) bool { return strs(a.AssignCategories) },
		func(s, d *mailbox.Actions, _ FolderMap) string {
			d.AssignCategories = clone(s.AssignCategories)
			return ""
		}},
	{RulePart{"CopyToFolder", PartAction, "copyToFolder", ""},
		func(a *mailbox.Actions) bool { return a.CopyToFolder != "" },
		func(s, d *mailbox.Actions, f FolderMap) string {
			id, reason := remapFolder(s.CopyToFolder, f)
			d.CopyToFolder = id
			return reason
		}},
	{RulePart{"Delete", PartAction, "delete", ""},
		func(a *mailbox.Actions) bool { return a.Delete },
		func(s, d *mailbox.Actions, _ FolderMap) string { d.Delete = true; return "" }},
	{RulePart{"ForwardAsAttachmentToRecipients", PartAction, "forwardAsAttachmentTo", ""},
		func(a *mailbox.Actions) bool { return strs(a.ForwardAsAttachmentToRecipients) },
		func(s, d *mailbox.Actions, _ FolderMap) string {
			d.ForwardAsAttachmentToRecipients = clone(s.ForwardAsAttachmentToRecipients)
			return ""
		}},
	{RulePart{"ForwardToRecipients", PartAction, "forwardTo", ""},
		func(a *mailbox.Actions) bool { return strs(a.ForwardToRecipients) },
		func(s, d *mailbox.Actions, _ FolderMap) string {
			d.ForwardToRecipients = clone(s.ForwardToRecipients)
			return ""
		}},
	{RulePart{"MarkImportance", PartAction, "markImportance", ""},
		func(a *mailbox.Actions) bool { return a.MarkImportance != "" },
		func(s, d *mailbox.Actions, _ FolderMap) string {
			if !validImportance(s.MarkImportance) {
				return fmt.Sprintf("importance %q is not low, normal or high", s.MarkImportance)
			}
			d.MarkImportance = s.MarkImportance
			return ""
		}},
	{RulePart{"MarkAsRead", PartAction, "markAsRead", ""},
		func(a *mailbox.Actions) bool { return a.MarkAsRead },
		func(s, d *mailbox.Actions, _ FolderMap) string { d.MarkAsRead = true; return "" }},
	{RulePart{"MoveToFolder", PartAction, "moveToFolder", ""},
		func(a *mailbox.Actions) bool { return a.MoveToFolder != "" },
		func(s, d *mailbox.Actions, f FolderMap) string {
			id, reason := remapFolder(s.MoveToFolder, f)
			d.MoveToFolder = id
			return reason
		}},
	{RulePart{"PermanentDelete", PartAction, "permanentDelete", ""},
		func(a *mailbox.Actions) bool { return a.PermanentDelete },
		func(s, d *mailbox.Actions, _ FolderMap) string { d.PermanentDelete = true; return "" }},
	{RulePart{"RedirectToRecipients", PartAction, "redirectTo", ""},
		func(a *mailbox.Actions) bool { return strs(a.RedirectToRecipients) },
		func(s, d *mailbox.Actions, _ FolderMap) string {
			d.RedirectToRecipients = clone(s.RedirectToRecipients)
			return ""
		}},
	{RulePart{"SendSMSAlertToRecipients", PartAction, "", reasonSendSMSAlert},
		func(a *mailbox.Actions) bool { return strs(a.SendSMSAlertToRecipients) }, nil},
	{RulePart{"ServerReplyWithMessage", PartAction, "", reasonServerReply},
		func(a *mailbox.Actions) bool { return a.ServerReplyWithMessage != "" }, nil},
	{RulePart{"StopProcessingRules", PartAction, "stopProcessingRules", ""},
		func(a *mailbox.Actions) bool { return a.StopProcessingRules },
		func(s, d *mailbox.Actions, _ FolderMap) string { d.StopProcessingRules = true; return "" }},
}

// ruleTable lists the rule's own properties.
var ruleTable = []RulePart{
	{"Name", PartRule, "displayName", ""},
	{"Priority", PartRule, "sequence", ""},
	{"Enabled", PartRule, "isEnabled", ""},
	{"IsNotSupported", PartRule, "", reasonNotSupported},
	{"IsInError", PartRule, "", reasonInError},
}

// RuleParts lists every EWS rule element with its Graph counterpart or the
// reason it has none: the rule's own properties, then the predicates (which
// serve as conditions and as exceptions), then the actions.
func RuleParts() []RulePart {
	out := make([]RulePart, 0, len(ruleTable)+len(predicateTable)+len(actionTable))
	out = append(out, ruleTable...)
	for _, p := range predicateTable {
		out = append(out, p.RulePart)
	}
	for _, a := range actionTable {
		out = append(out, a.RulePart)
	}
	return out
}

// GraphFieldName returns the Graph messageRule property for an EWS rule
// part, with or without its section: "conditions.ContainsSubjectStrings",
// "exceptions.ContainsSubjectStrings" and "ContainsSubjectStrings" all give
// "subjectContains"; "actions.RedirectToRecipients" gives "redirectTo";
// "conditions" gives "conditions". It returns "" for a part with no Graph
// form or an unknown name.
func GraphFieldName(part string) string {
	section, name, found := strings.Cut(part, ".")
	if !found {
		name, section = part, ""
	}
	switch section {
	case "":
		switch name {
		case "conditions", "exceptions", "actions":
			return name
		}
		for _, p := range RuleParts() {
			if p.Name == name {
				return p.Graph
			}
		}
	case "conditions", "exceptions":
		for _, p := range predicateTable {
			if p.Name == name {
				return p.Graph
			}
		}
	case "actions":
		for _, a := range actionTable {
			if a.Name == name {
				return a.Graph
			}
		}
	case "rule":
		for _, r := range ruleTable {
			if r.Name == name {
				return r.Graph
			}
		}
	}
	return ""
}

// MessageActionFlag converts an EWS FlaggedForAction value to Graph's
// messageActionFlag spelling (followUp, doNotForward, fyi, ...).
func MessageActionFlag(ews string) (string, bool) {
	switch strings.ToLower(ews) {
	case "any":
		return "any", true
	case "call":
		return "call", true
	case "donotforward":
		return "doNotForward", true
	case "followup":
		return "followUp", true
	case "fyi":
		return "fyi", true
	case "forward":
		return "forward", true
	case "noresponsenecessary":
		return "noResponseNecessary", true
	case "read":
		return "read", true
	case "reply":
		return "reply", true
	case "replytoall":
		return "replyToAll", true
	case "review":
		return "review", true
	}
	return "", false
}

func validImportance(i mailbox.Importance) bool {
	switch strings.ToLower(string(i)) {
	case "low", "normal", "high":
		return true
	}
	return false
}

func remapFolder(id string, folders FolderMap) (string, string) {
	if folders == nil {
		return "", "no folder map was given, so the folder reference cannot be remapped to the target"
	}
	target, ok := folders(id)
	if !ok || target == "" {
		return "", "the folder it names has no counterpart on the target; create or map that folder first"
	}
	return target, ""
}

func clone(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}

// TranslateRule translates an EWS inbox rule into what Graph's messageRule
// can express. Every set condition, exception and action is either copied
// (folder ids remapped through folders) and listed in Mapped, or left out
// and listed in Unmappable with the reason. A rule IsNotSupported or
// IsInError, or one left with no action, is never Mappable.
func TranslateRule(r mailbox.Rule, folders FolderMap) RuleTranslation {
	t := RuleTranslation{Rule: mailbox.Rule{
		ID:       r.ID,
		Name:     r.Name,
		Priority: r.Priority,
		Enabled:  r.Enabled,
	}}
	if r.IsNotSupported {
		t.Unmappable = append(t.Unmappable, Gap{"rule.IsNotSupported", reasonNotSupported})
	}
	if r.IsInError {
		t.Unmappable = append(t.Unmappable, Gap{"rule.IsInError", reasonInError})
	}
	t.translatePredicates("conditions", &r.Conditions, &t.Rule.Conditions)
	t.translatePredicates("exceptions", &r.Exceptions, &t.Rule.Exceptions)
	for _, a := range actionTable {
		if !a.isSet(&r.Actions) {
			continue
		}
		part := "actions." + a.Name
		if a.copyTo == nil {
			t.Unmappable = append(t.Unmappable, Gap{part, a.Unmappable})
			continue
		}
		if reason := a.copyTo(&r.Actions, &t.Rule.Actions, folders); reason != "" {
			t.Unmappable = append(t.Unmappable, Gap{part, reason})
			continue
		}
		t.Mapped = append(t.Mapped, part+" -> "+a.Graph)
	}
	if !hasAction(&t.Rule.Actions) {
		// messageRule requires actions: a rule without one cannot be created.
		t.Unmappable = append(t.Unmappable, Gap{"actions", "no action of the rule can be expressed in Graph, and a messageRule needs at least one"})
	}
	t.Mappable = len(t.Unmappable) == 0
	return t
}

func (t *RuleTranslation) translatePredicates(section string, src, dst *mailbox.Predicates) {
	for _, p := range predicateTable {
		if !p.isSet(src) {
			continue
		}
		part := section + "." + p.Name
		if p.copyTo == nil {
			t.Unmappable = append(t.Unmappable, Gap{part, p.Unmappable})
			continue
		}
		if reason := p.copyTo(src, dst); reason != "" {
			t.Unmappable = append(t.Unmappable, Gap{part, reason})
			continue
		}
		t.Mapped = append(t.Mapped, part+" -> "+p.Graph)
	}
}

func hasAction(a *mailbox.Actions) bool {
	for _, x := range actionTable {
		if x.isSet(a) {
			return true
		}
	}
	return false
}
