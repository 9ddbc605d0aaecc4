package selection

import "strings"

// Job is what selecting by state needs of one job of a state file.
type Job struct {
	ID             int64 // creation order: a later job of a mailbox is its current one
	Source, Target string
	SourceLocation string // endpoint names
	TargetLocation string
	State          State
}

// Index answers a mailbox's state from the jobs of a state file.
type Index struct {
	bySource map[string][]Job // lower-cased source address
}

// NewIndex indexes jobs by source address.
func NewIndex(jobs []Job) *Index {
	x := &Index{bySource: make(map[string][]Job, len(jobs))}
	for _, j := range jobs {
		k := strings.ToLower(j.Source)
		x.bySource[k] = append(x.bySource[k], j)
	}
	return x
}

// StateOf is the state of the mailbox source copied to target (any target
// when target is empty) between the endpoints from and to (any when
// empty). A mailbox with no such job is NotStarted. With several jobs (one
// mailbox moved one way and later back), a running one wins, since a
// second process must not take it for idle, and otherwise the one created
// last: it is the move the wave is on now.
func (x *Index) StateOf(source, target, from, to string) State {
	var cur *Job
	for i, j := range x.bySource[strings.ToLower(source)] {
		if target != "" && !strings.EqualFold(j.Target, target) {
			continue
		}
		if (from != "" && !strings.EqualFold(j.SourceLocation, from)) || (to != "" && !strings.EqualFold(j.TargetLocation, to)) {
			continue
		}
		if j.State == Running {
			return Running
		}
		if cur == nil || j.ID > cur.ID {
			cur = &x.bySource[strings.ToLower(source)][i]
		}
	}
	if cur == nil {
		return NotStarted
	}
	return cur.State
}
