package graphtest

import (
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// A fixture's task holds only what a todoTask can: percent complete,
// sensitivity, owner, delegator and attachments are dropped, on AddTask
// and on UpdateTask alike.
func TestFixtureTaskIsWhatToDoHolds(t *testing.T) {
	f := start(t)
	bob := f.s.AddMailbox("bob@contoso.example", mailbox.TypeUser)
	id := bob.AddTask("", mailbox.Task{Subject: "file taxes", PercentComplete: 40, Sensitivity: "Private",
		Owner: "bob", Delegator: "alice", Attachments: []mailbox.Attachment{{Name: "a.txt"}}})
	check := func(when string) {
		t.Helper()
		got := bob.Tasks("")
		if len(got) != 1 || got[0].ID != id || got[0].Task.Subject != "file taxes" {
			t.Fatalf("%s: tasks %+v", when, got)
		}
		if tk := got[0].Task; tk.PercentComplete != 0 || tk.Sensitivity != "" || tk.Owner != "" || tk.Delegator != "" || tk.Attachments != nil {
			t.Errorf("%s: the fixture kept what To Do cannot hold: %+v", when, tk)
		}
	}
	check("AddTask")
	if !bob.UpdateTask(id, func(tk *mailbox.Task) { tk.PercentComplete, tk.Owner = 70, "carol" }) {
		t.Fatal("UpdateTask: no task")
	}
	check("UpdateTask")
}

// AddTask refuses a recurring task without a due date, as To Do does.
func TestFixtureRecurringTaskNeedsDueDate(t *testing.T) {
	f := start(t)
	bob := f.s.AddMailbox("bob@contoso.example", mailbox.TypeUser)
	defer func() {
		if recover() == nil {
			t.Error("AddTask stored a recurring task without a due date")
		}
	}()
	bob.AddTask("", mailbox.Task{Subject: "weekly", Recurrence: &mailbox.Recurrence{Pattern: "weekly", Interval: 1, DaysOfWeek: []string{"friday"}}})
}
