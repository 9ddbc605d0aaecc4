// Package selection decides which mailboxes of a list a command acts on:
// --mailbox (repeatable), --batch (the list's Batch column) and --only (the
// copy state the state file records). Every command that takes a mailbox
// list (copy, assess, report --copy-results, status) selects through it, so
// that the flags mean the same everywhere and refuse the same bad input.
package selection

import (
	"fmt"
	"slices"
	"strings"

	"github.com/exmigrate/exmigrate/engine"
)

// State is a mailbox's copy state, as --only names it.
type State string

// The states, in the order a wave moves through them.
const (
	NotStarted  State = "not-started" // no pass has started (no job, or a job created by a dry run)
	Running     State = "running"     // a process holds the job's lease now
	Interrupted State = "interrupted" // a pass started and never ended: its process stopped or was killed
	Failed      State = "failed"      // the last pass ended with an error
	Partial     State = "partial"     // the last pass ended with skipped items
	Done        State = "done"        // the last pass ended with nothing skipped
	Completed   State = "completed"   // signed off by finalize: cut over, later passes leave it alone
)

// States lists every state, in the order a wave moves through them.
func States() []State {
	return []State{NotStarted, Running, Interrupted, Failed, Partial, Done, Completed}
}

// Classify turns a job's recorded status, and whether a process holds its
// lease now, into its State. A job marked running without a live lease
// was interrupted: its process is gone, or it will lose the lease before it
// writes again. A status this build does not know (a newer exmigrate wrote
// it) stays visible as it is rather than counting as another state.
func Classify(status string, leaseLive bool) State {
	if leaseLive {
		return Running
	}
	switch status {
	case "", engine.JobNew:
		return NotStarted
	case engine.JobRunning:
		return Interrupted
	case engine.JobFailed:
		return Failed
	case engine.JobPartial:
		return Partial
	case engine.JobDone:
		return Done
	case engine.JobCompleted:
		return Completed
	}
	return State(status)
}

// Matches says whether a mailbox in state s is selected by --only want.
// failed also selects interrupted: both are passes that did not end, and
// both are what a retry is for.
func (want State) Matches(s State) bool {
	return s == want || (want == Failed && s == Interrupted)
}

// ParseOnly reads --only values; each may be a comma-separated list.
// Case and spaces do not matter; an empty value is refused, because
// `--only ""` from a script with an unset variable would otherwise select
// everything.
func ParseOnly(values []string) ([]State, error) {
	var out []State
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			s := State(strings.ToLower(strings.TrimSpace(part)))
			switch {
			case s == "":
				return nil, errorf("--only: empty value: name a state (%s)", stateList())
			case s == "notstarted" || s == "not_started" || s == "new":
				s = NotStarted
			case s == "complete" || s == "finalized" || s == "finalised":
				s = Completed
			case !slices.Contains(States(), s):
				return nil, errorf("--only %q: unknown state: use %s", strings.TrimSpace(part), stateList())
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

func stateList() string {
	names := make([]string, 0, len(States()))
	for _, s := range States() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

// Error is a selection flag's bad value: the user's to fix (a usage
// error), never the state's.
type Error struct{ Err error }

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func errorf(format string, args ...any) error { return &Error{fmt.Errorf(format, args...)} }

// Criteria are the selection flags of one command. The zero value selects
// every mailbox.
type Criteria struct {
	Mailboxes []string // --mailbox: source addresses, compared case-insensitively
	Batches   []string // --batch: Batch column values, compared case-insensitively
	Only      []State  // --only
}

// IsZero reports whether the criteria select everything.
func (c Criteria) IsZero() bool {
	return len(c.Mailboxes) == 0 && len(c.Batches) == 0 && len(c.Only) == 0
}

// NeedsState reports whether selecting needs the state file.
func (c Criteria) NeedsState() bool { return len(c.Only) > 0 }

// String describes the criteria as the flags that set them, for messages.
func (c Criteria) String() string {
	var parts []string
	for _, m := range c.Mailboxes {
		parts = append(parts, "--mailbox "+m)
	}
	for _, b := range c.Batches {
		parts = append(parts, fmt.Sprintf("--batch %q", b))
	}
	for _, s := range c.Only {
		parts = append(parts, "--only "+string(s))
	}
	if len(parts) == 0 {
		return "every mailbox"
	}
	return strings.Join(parts, " ")
}

// Candidate is one mailbox a command could act on.
type Candidate struct {
	Address string // the source mailbox
	Batch   string
}

// Select returns the positions in cands of the mailboxes the criteria
// select, in list order. stateOf gives the state of cands[i]; it is called
// only when --only is given. A --mailbox that is not in the list, or a
// --batch that no mailbox of the list has, is an error naming what the
// list holds: a typo must not silently select nothing. Selecting nothing
// because no mailbox is in an --only state is not an error (a wave with
// nothing failed has nothing to retry); the caller says so.
func (c Criteria) Select(cands []Candidate, listName string, stateOf func(i int) State) ([]int, error) {
	if listName == "" {
		listName = "the mailbox list"
	}
	for _, m := range c.Mailboxes {
		if strings.TrimSpace(m) == "" {
			return nil, errorf("--mailbox: empty value: give a source address from %s", listName)
		}
		if !slices.ContainsFunc(cands, func(x Candidate) bool { return strings.EqualFold(x.Address, strings.TrimSpace(m)) }) {
			return nil, errorf("--mailbox %s: not in %s, which lists %s; check the spelling, or add the mailbox to the list", m, listName, sample(addresses(cands)))
		}
	}
	for _, b := range c.Batches {
		if strings.TrimSpace(b) == "" {
			return nil, errorf("--batch: empty value: give a value of the Batch column of %s", listName)
		}
		if !slices.ContainsFunc(cands, func(x Candidate) bool { return strings.EqualFold(x.Batch, strings.TrimSpace(b)) }) {
			batches := Batches(cands)
			if len(batches) == 0 {
				return nil, errorf("--batch %q: %s has no Batch column values; add a Batch column to it, or select with --mailbox", b, listName)
			}
			return nil, errorf("--batch %q: no mailbox of %s is in this batch; its batches are %s", b, listName, sample(quoted(batches)))
		}
	}
	var out []int
	for i, x := range cands {
		if len(c.Mailboxes) > 0 && !slices.ContainsFunc(c.Mailboxes, func(m string) bool { return strings.EqualFold(strings.TrimSpace(m), x.Address) }) {
			continue
		}
		if len(c.Batches) > 0 && !slices.ContainsFunc(c.Batches, func(b string) bool { return strings.EqualFold(strings.TrimSpace(b), x.Batch) }) {
			continue
		}
		if len(c.Only) > 0 {
			s := stateOf(i)
			if !slices.ContainsFunc(c.Only, func(w State) bool { return w.Matches(s) }) {
				continue
			}
		}
		out = append(out, i)
	}
	return out, nil
}

// Batches lists the distinct non-empty batches of cands, in list order.
func Batches(cands []Candidate) []string {
	var out []string
	for _, x := range cands {
		if x.Batch != "" && !slices.ContainsFunc(out, func(b string) bool { return strings.EqualFold(b, x.Batch) }) {
			out = append(out, x.Batch)
		}
	}
	return out
}

// addresses lists the distinct addresses of cands (a state file has one
// job per direction of a mailbox), in list order.
func addresses(cands []Candidate) []string {
	var out []string
	for _, x := range cands {
		if !slices.ContainsFunc(out, func(a string) bool { return strings.EqualFold(a, x.Address) }) {
			out = append(out, x.Address)
		}
	}
	return out
}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// sample names up to five values and how many more there are: a list of
// thousands must not flood the error.
func sample(vals []string) string {
	const most = 5
	switch {
	case len(vals) == 0:
		return "nothing"
	case len(vals) <= most:
		return strings.Join(vals, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(vals[:most], ", "), len(vals)-most)
}
