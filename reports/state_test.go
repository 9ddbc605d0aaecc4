package reports

import (
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// TestStateOf goes over every combination of location, readiness and
// copy status that decides a state.
func TestStateOf(t *testing.T) {
	job := func(status string) *CopySummary { return &CopySummary{Status: status} }
	const (
		onprem = mailbox.LocationOnPrem
		cloud  = mailbox.LocationCloud
		auto   = mailbox.LocationAuto
	)
	tests := []struct {
		loc  mailbox.Location
		r    Readiness
		c    *CopySummary
		want State
	}{
		// No job: in the wave unless already in Exchange Online.
		{onprem, Ready, nil, StateNotStarted},
		{onprem, Blocked, nil, StateNotStarted},
		{auto, Unreadable, nil, StateNotStarted},
		{"", Ready, nil, StateNotStarted},
		{cloud, Ready, nil, StateInCloud},
		{cloud, Blocked, nil, StateInCloud},
		{cloud, Unreadable, nil, StateInCloud},
		// A job: in the wave wherever the mailbox is (offboarding).
		{cloud, Ready, job("done"), StateDone},
		{cloud, Ready, job("not-started"), StateNotStarted},
		{onprem, Ready, job("not-started"), StateNotStarted},
		{onprem, Ready, job(""), StateNotStarted},
		{onprem, Ready, job("something-new"), StateNotStarted},
		// Done only when nothing blocks the mailbox.
		{onprem, Ready, job("completed"), StateCompleted},
		{onprem, Blocked, job("completed"), StateCopiedBlocked},
		{onprem, Unreadable, job("completed"), StateCopiedUnassessed},
		{onprem, Ready, job("done"), StateDone},
		{onprem, Warnings, job("done"), StateDone},
		{onprem, Blocked, job("done"), StateCopiedBlocked},
		{cloud, Blocked, job("done"), StateCopiedBlocked},
		{onprem, Unreadable, job("done"), StateCopiedUnassessed},
		{onprem, Ready, job("partial"), StatePartial},
		{onprem, Warnings, job("partial"), StatePartial},
		{onprem, Blocked, job("partial"), StateCopiedBlocked},
		{onprem, Unreadable, job("partial"), StateCopiedUnassessed},
		// Unfinished copies say so whatever the readiness.
		{onprem, Blocked, job("running"), StateRunning},
		{onprem, Ready, job("running"), StateRunning},
		{onprem, Ready, job("interrupted"), StateInterrupted},
		{onprem, Blocked, job("interrupted"), StateInterrupted},
		{cloud, Unreadable, job("interrupted"), StateInterrupted},
		{onprem, Blocked, job("failed"), StateFailed},
		{onprem, Ready, job("failed"), StateFailed},
		{onprem, Unreadable, job("failed"), StateFailed},
	}
	for _, tc := range tests {
		got := StateOf(tc.loc, tc.r, tc.c)
		status := "no job"
		if tc.c != nil {
			status = "job " + tc.c.Status
		}
		if got != tc.want {
			t.Errorf("StateOf(%s, %s, %s) = %s, want %s", tc.loc, tc.r, status, got, tc.want)
		}
		if got == StateDone && tc.r != Ready && tc.r != Warnings {
			t.Errorf("StateOf(%s, %s, %s) is done: only a ready mailbox may be", tc.loc, tc.r, status)
		}
		if (got == StateInCloud) != (tc.loc == cloud && tc.c == nil) {
			t.Errorf("StateOf(%s, %s, %s) = %s: in-cloud is exactly a cloud mailbox without a job", tc.loc, tc.r, status, got)
		}
	}
}

func TestPlanOf(t *testing.T) {
	tests := []struct {
		name string
		m    MailboxAssessment
		want Plan
	}{
		{"no job: the assessed items", MailboxAssessment{Items: 500}, Plan{ToCopy: 500}},
		{"in the cloud: nothing", MailboxAssessment{Location: mailbox.LocationCloud, Items: 500}, Plan{}},
		{"reconciled", MailboxAssessment{Items: 500, Copy: &CopySummary{Status: "done", SourceItems: 510, TargetItems: 505, ItemsSkipped: 5, ItemsCopied: 505}},
			Plan{ToCopy: 505, OnTarget: 505, Counted: true}},
		{"reconciled, target short of the copied items", MailboxAssessment{Copy: &CopySummary{Status: "done", SourceItems: 100, TargetItems: 90, ItemsCopied: 100}},
			Plan{ToCopy: 100, OnTarget: 90, Counted: true}},
		{"target holds more", MailboxAssessment{Copy: &CopySummary{Status: "done", SourceItems: 100, TargetItems: 140, ItemsCopied: 100}},
			Plan{ToCopy: 100, OnTarget: 100, Counted: true}},
		{"first pass running", MailboxAssessment{Items: 6576, Copy: &CopySummary{Status: "running", ItemsCopied: 1923, ItemsPending: 3}},
			Plan{ToCopy: 6576, OnTarget: 1923}},
		{"more recorded than assessed", MailboxAssessment{Items: 10, Copy: &CopySummary{Status: "running", ItemsCopied: 30, ItemsSkipped: 2}},
			Plan{ToCopy: 30, OnTarget: 30}},
		{"second pass running", MailboxAssessment{Items: 100, Copy: &CopySummary{Status: "running", SourceItems: 120, TargetItems: 100, ItemsCopied: 110}},
			Plan{ToCopy: 120, OnTarget: 110, Counted: true}},
		{"not started job", MailboxAssessment{Items: 42, Copy: &CopySummary{Status: "not-started"}}, Plan{ToCopy: 42}},
		{"second pass interrupted", MailboxAssessment{Items: 100, Copy: &CopySummary{Status: "interrupted", SourceItems: 120, TargetItems: 100, ItemsCopied: 115}},
			Plan{ToCopy: 120, OnTarget: 115, Counted: true}},
	}
	for _, tc := range tests {
		v := tc.m
		s := StateOf(v.Location, Ready, v.Copy)
		if got := PlanOf(&v, s); got != tc.want {
			t.Errorf("%s: PlanOf = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
