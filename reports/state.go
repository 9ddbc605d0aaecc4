package reports

import (
	"slices"

	"github.com/exmigrate/exmigrate/mailbox"
)

// State is where a mailbox stands in the migration. It combines the
// mailbox's location, its readiness and its copy job into one value, so
// that every table, chart and headline of a report counts a mailbox in one
// place only: a blocked mailbox is never "done", and a mailbox already in
// Exchange Online is neither "not started" nor "ready to move". SCHEMA.md
// ("Mailbox states") is the definition; StateOf is its only implementation.
type State string

// The states, in the order reports list them.
const (
	// StateCompleted: finalize signed the mailbox off (its final pass
	// reconciled, any skipped items approved) and nothing blocks it: cut
	// over, and later passes leave it alone.
	StateCompleted State = "completed"
	// StateDone: the last copy pass finished with nothing skipped and the
	// assessment found nothing that blocks the mailbox.
	StateDone State = "done"
	// StateCopiedBlocked: the copy finished (done or partial), but the
	// assessment found a blocker: the mailbox cannot be cut over as it is.
	StateCopiedBlocked State = "copied-blocked"
	// StateCopiedUnassessed: the copy finished, but the assessment could
	// not read the mailbox, so nothing says it may be cut over.
	StateCopiedUnassessed State = "copied-unassessed"
	// StatePartial: the last pass finished with items skipped.
	StatePartial State = "partial"
	// StateRunning: a pass is under way: it started, has not finished,
	// and a copy holds the job's lease.
	StateRunning State = "running"
	// StateInterrupted: a pass started and did not finish, and no copy
	// holds the job any more (the copy was stopped or crashed): the next
	// copy resumes it.
	StateInterrupted State = "interrupted"
	// StateFailed: the last pass failed.
	StateFailed State = "failed"
	// StateNotStarted: a mailbox to move whose copy has not run a pass,
	// with or without a job in the state file.
	StateNotStarted State = "not-started"
	// StateInCloud: in Exchange Online with no copy job from it: already
	// where an onboarding moves mailboxes to, nothing to move.
	StateInCloud State = "in-cloud"
)

// States lists every state in the order reports present them.
func States() []State {
	return []State{StateCompleted, StateDone, StateCopiedBlocked, StateCopiedUnassessed, StatePartial, StateRunning, StateInterrupted, StateFailed, StateNotStarted, StateInCloud}
}

// StateOf combines a mailbox's location, its (effective) readiness and its
// copy result. A mailbox with a copy job is in the wave wherever it is (an
// offboarding copies from Exchange Online); one without is in the wave
// unless it is in Exchange Online already.
func StateOf(loc mailbox.Location, r Readiness, c *CopySummary) State {
	if c == nil {
		if loc == mailbox.LocationCloud {
			return StateInCloud
		}
		return StateNotStarted
	}
	var s State
	switch c.Status {
	case "completed":
		s = StateCompleted
	case "done":
		s = StateDone
	case "partial":
		s = StatePartial
	case "failed":
		s = StateFailed
	case "running":
		s = StateRunning
	case "interrupted":
		s = StateInterrupted
	default: // "not-started", "" and anything this build does not know
		return StateNotStarted
	}
	if s != StateDone && s != StatePartial && s != StateCompleted {
		return s
	}
	switch r {
	case Blocked:
		return StateCopiedBlocked
	case Unreadable:
		return StateCopiedUnassessed
	}
	return s
}

// ToMove says whether a mailbox in this state is part of the wave: every
// state but in-cloud.
func (s State) ToMove() bool { return s != StateInCloud }

// Label names the state for people.
func (s State) Label() string {
	switch s {
	case StateCompleted:
		return "Completed (signed off)"
	case StateDone:
		return "Done"
	case StateCopiedBlocked:
		return "Copied, blocked"
	case StateCopiedUnassessed:
		return "Copied, not assessed"
	case StatePartial:
		return "Partial"
	case StateRunning:
		return "Running"
	case StateInterrupted:
		return "Interrupted"
	case StateFailed:
		return "Failed"
	case StateNotStarted:
		return "Not started"
	case StateInCloud:
		return "In Exchange Online"
	}
	return titleCase(string(s))
}

func stateRank(s State) int {
	if i := slices.Index(States(), s); i >= 0 {
		return i
	}
	return len(States())
}

func stateClass(s State) string {
	switch s {
	case StateCompleted, StateDone:
		return "c-ready"
	case StatePartial:
		return "c-progress"
	case StateRunning:
		return "c-running"
	case StateInterrupted:
		return "c-warn"
	case StateFailed:
		return "c-block"
	case StateCopiedBlocked:
		return "c-copied-blocked"
	case StateCopiedUnassessed:
		return "c-unassessed"
	case StateInCloud:
		return "c-cloud"
	}
	return "c-unread"
}

// Plan is how many items a mailbox's copy has to bring to the target and
// how many are there, as one mailbox contributes to the "Copied" headline.
type Plan struct {
	// ToCopy is the source items less the skipped ones. The source count
	// of the last pass's reconciliation is used when there is one; before
	// that (a first pass under way, or no pass yet) the larger of the
	// assessed items and the items the copy has recorded.
	ToCopy int64
	// OnTarget is how many of ToCopy are on the target: the target count
	// of the last reconciliation; while a pass runs or before the first
	// reconciliation, the items copied when more (the target has not been
	// counted since). Never more than ToCopy.
	OnTarget int64
	// Counted says ToCopy comes from a reconciliation, not the plan.
	Counted bool
}

// PlanOf is a mailbox's share of the copy. A mailbox in Exchange Online
// without a job has nothing to copy.
func PlanOf(m *MailboxAssessment, s State) Plan {
	if !s.ToMove() {
		return Plan{}
	}
	c := m.Copy
	if c == nil {
		return Plan{ToCopy: max(m.Items, 0)}
	}
	var p Plan
	if c.SourceItems > 0 {
		p.ToCopy, p.Counted = c.SourceItems-c.ItemsSkipped, true
	} else {
		recorded := c.ItemsCopied + c.ItemsSkipped + c.ItemsPending
		p.ToCopy = max(m.Items, recorded) - c.ItemsSkipped
	}
	p.ToCopy = max(p.ToCopy, 0)
	onTarget := c.TargetItems
	if !p.Counted || s == StateRunning || s == StateInterrupted {
		// The target has not been counted since these items were copied.
		onTarget = max(onTarget, c.ItemsCopied)
	}
	p.OnTarget = min(max(onTarget, 0), p.ToCopy)
	return p
}
