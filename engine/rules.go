package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mapping"
)

// RuleOutcome is what happened to one source rule.
type RuleOutcome struct {
	Name     string
	Created  bool   // created on the target in this run
	Existing bool   // a rule of that name was already on the target
	NotMoved string // why it was not created: the parts Graph cannot express
	// Lost names parts the target dropped from a rule it created anyway
	// (Graph answers success and stores less); the rule must be checked
	// by hand.
	Lost []string
}

// ErrRulesUnsupported means the source cannot list or the target cannot
// create inbox rules.
var ErrRulesUnsupported = errors.New("inbox rules cannot be copied between these sides")

// CopyRules creates on the target the source rules that translate without
// loss, their folder references pointing at the target's copies of the
// folders. A rule that would lose a condition, exception or action is never
// created; its outcome names the missing parts.
func (c *Copier) CopyRules(ctx context.Context, key JobKey, src mailbox.Source, dst mailbox.Target) ([]RuleOutcome, error) {
	reader, ok := src.(mailbox.RuleReader)
	writer, ok2 := dst.(mailbox.RuleWriter)
	if !ok || !ok2 {
		return nil, fmt.Errorf("%s to %s: %w", key.SourceLocation, key.TargetLocation, ErrRulesUnsupported)
	}
	rules, err := reader.Rules(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the rules of %s: %w", key.SourceAddress, err)
	}
	existing := map[string]bool{}
	if tr, ok := dst.(mailbox.RuleReader); ok {
		have, err := tr.Rules(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the rules of %s: %w", key.TargetAddress, err)
		}
		for _, r := range have {
			existing[strings.ToLower(r.Name)] = true
		}
	}
	job, err := c.Store.Job(ctx, key)
	if err != nil {
		return nil, err
	}
	folders, err := c.Store.Folders(ctx, job.ID)
	if err != nil {
		return nil, err
	}
	targetOf := make(map[string]string, len(folders))
	for _, f := range folders {
		targetOf[f.SourceFolderID] = f.TargetFolderID
	}
	run := &mailboxRun{c: c, key: key}
	var out []RuleOutcome
	for _, r := range rules {
		t := mapping.TranslateRule(r, mapping.FolderMapOf(targetOf))
		o := RuleOutcome{Name: r.Name}
		switch {
		case !t.Mappable:
			parts := make([]string, len(t.Unmappable))
			for i, g := range t.Unmappable {
				parts[i] = g.Part + " (" + g.Reason + ")"
			}
			o.NotMoved = strings.Join(parts, "; ")
		case existing[strings.ToLower(r.Name)]:
			o.Existing = true
		default:
			if c.Options.DryRun {
				o.Created = true
				break
			}
			e := AuditEvent{Action: audit.ActionRuleCreate, Object: "rule " + r.Name}
			if err := run.begin(ctx, e); err != nil {
				return out, err
			}
			id, err := writer.CreateRule(ctx, t.Rule)
			e.TargetID = id
			run.audit(ctx, e, err)
			if err != nil {
				return out, fmt.Errorf("create rule %q on %s: %w", r.Name, key.TargetAddress, err)
			}
			o.Created = true
			if o.Lost, err = readBack(ctx, dst, id, t.Rule); err != nil {
				return out, fmt.Errorf("read back rule %q on %s: %w", r.Name, key.TargetAddress, err)
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// readBack reads a created rule from the target and names what it lost.
func readBack(ctx context.Context, dst mailbox.Target, id string, sent mailbox.Rule) ([]string, error) {
	tr, ok := dst.(mailbox.RuleReader)
	if !ok {
		return nil, nil
	}
	rules, err := tr.Rules(ctx)
	if err != nil {
		return nil, err
	}
	for _, got := range rules {
		if got.ID == id {
			return mapping.LostParts(sent, got), nil
		}
	}
	return []string{"rule (not found on the target after it was created)"}, nil
}
