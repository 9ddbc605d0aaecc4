package ews

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Tasks travel as mailbox.Task (FormatTyped): GetItem with the t:Task
// properties to read, CreateItem with a t:Task to write (items.md E3).
// Owner and Delegator are read-only on EWS (exchangelib's
// items/task.py marks them so; Exchange makes the writing mailbox's
// owner the owner), and CompleteDate is ignored (Exchange sets it when
// the task is completed): a task that has any is written without them,
// reported as mailbox.LossTaskFields. Regenerating recurrences
// (DailyRegeneration ...) have no model: the task is read without its
// recurrence, said in its body.

var taskFields = []string{"item:ItemClass", "item:Subject", "item:Sensitivity", "item:Body", "item:Attachments", "item:Categories",
	"item:Importance", "item:ReminderDueBy", "item:ReminderIsSet", "task:CompleteDate", "task:Delegator", "task:DueDate",
	"task:Owner", "task:PercentComplete", "task:Recurrence", "task:StartDate", "task:Status"}

type taskXML struct {
	XMLName xml.Name
	itemHeadXML
	ReminderDueBy   string         `xml:"http://schemas.microsoft.com/exchange/services/2006/types ReminderDueBy"`
	CompleteDate    string         `xml:"http://schemas.microsoft.com/exchange/services/2006/types CompleteDate"`
	Delegator       string         `xml:"http://schemas.microsoft.com/exchange/services/2006/types Delegator"`
	DueDate         string         `xml:"http://schemas.microsoft.com/exchange/services/2006/types DueDate"`
	Owner           string         `xml:"http://schemas.microsoft.com/exchange/services/2006/types Owner"`
	PercentComplete float64        `xml:"http://schemas.microsoft.com/exchange/services/2006/types PercentComplete"`
	Recurrence      *recurrenceXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types Recurrence"`
	StartDate       string         `xml:"http://schemas.microsoft.com/exchange/services/2006/types StartDate"`
	Status          string         `xml:"http://schemas.microsoft.com/exchange/services/2006/types Status"`
}

// taskDate reads a task's date. Outlook stores local midnight in UTC
// (23:00 the day before for UTC+1), so a time from noon on counts for
// the next day, as for birthdays.
func taskDate(s string) string { return contactBirthday(s) }

func (x *taskXML) task() (mailbox.Task, error) {
	t := mailbox.Task{Subject: x.Subject, Sensitivity: x.sensitivity(), Importance: x.importance(), Categories: x.Categories, ReminderOn: x.ReminderIsSet, Owner: x.Owner, Delegator: x.Delegator,
		StartDate: taskDate(x.StartDate), DueDate: taskDate(x.DueDate), CompleteDate: taskDate(x.CompleteDate),
		PercentComplete: int(x.PercentComplete)}
	t.PercentComplete = min(max(t.PercentComplete, 0), 100)
	if slices.Contains(mailbox.TaskStatuses, x.Status) {
		t.Status = x.Status
	}
	if t.ReminderOn {
		t.ReminderTime = parseTime(x.ReminderDueBy)
	}
	t.Body, t.BodyHTML = x.Body.text()
	r, err := x.Recurrence.recurrence()
	if err != nil {
		// A regenerating recurrence ("every 2 weeks after completion")
		// has no model: the task is carried without it, and its body
		// says so (a reader reports no losses).
		t.Body = withNotes(t.Body, t.BodyHTML, []string{fmt.Sprintf("[task recurrence not carried: %v]", err)})
		return t, nil
	}
	t.Recurrence = r
	return t, nil
}

func (c *Client) getTask(ctx context.Context, mbx, itemID string) (mailbox.Task, error) {
	items, err := getItems[taskXML](ctx, c, mbx, []string{itemID}, taskShape)
	if err != nil {
		return mailbox.Task{}, err
	}
	return c.finishTask(ctx, mbx, itemID, &items[0])
}

func taskShape(gi *etree.Element) { idOnlyShape(gi, "Best", taskFields) }

// finishTask makes a task of GetItem's answer, reading its attachments.
func (c *Client) finishTask(ctx context.Context, mbx, itemID string, x *taskXML) (mailbox.Task, error) {
	if err := readAs(itemID, x.XMLName, "Task", "task"); err != nil {
		return mailbox.Task{}, err
	}
	t, err := x.task()
	if err != nil {
		return mailbox.Task{}, mailbox.Permanent(fmt.Errorf("ews: read task %s: %w", itemID, err))
	}
	t.Attachments, t.Body, err = c.readAttachments(ctx, mbx, x.Attachments.Items, t.Body, t.BodyHTML)
	if err != nil {
		return mailbox.Task{}, err
	}
	return t, nil
}

// OpenTask reads a task as EncodeTask's JSON.
func (m *Mailbox) OpenTask(ctx context.Context, itemID string) (io.ReadCloser, error) {
	return openEncoded(ctx, m, itemID, "task", m.c.getTask, mailbox.EncodeTask)
}

// taskItem writes t as a t:Task in TaskType order.
func taskItem(parent *etree.Element, t mailbox.Task, stamp func(*etree.Element)) {
	ti := parent.CreateElement("t:Task")
	writeItemHead(ti, t.Subject, t.Sensitivity, t.Body, t.BodyHTML, t.Attachments, t.Categories, t.Importance)
	if t.ReminderOn && !t.ReminderTime.IsZero() {
		elem(ti, "t:ReminderDueBy", t.ReminderTime.UTC().Format(time.RFC3339))
	}
	elem(ti, "t:ReminderIsSet", strconv.FormatBool(t.ReminderOn))
	if stamp != nil {
		stamp(ti)
	}
	date := func(name, d string) {
		if d != "" {
			elem(ti, name, d+birthdayTime)
		}
	}
	// CompleteDate is not written: Exchange ignores it and sets it to the
	// day the task is completed (exchangelib's items/task.py).
	date("t:DueDate", t.DueDate)
	elem(ti, "t:PercentComplete", strconv.Itoa(percentOf(t)))
	if t.Recurrence != nil {
		writeRecurrence(ti, t.Recurrence)
	}
	date("t:StartDate", t.StartDate)
	if t.Status != "" {
		elem(ti, "t:Status", t.Status)
	}
}

// percentOf is the percent complete Outlook keeps with a status: 100
// when completed, 0 when not started (exchangelib's Task.clean resets it
// so too).
func percentOf(t mailbox.Task) int {
	switch t.Status {
	case "Completed":
		return 100
	case "NotStarted":
		return 0
	}
	return t.PercentComplete
}

// taskLosses are the losses of writing t: what EWS does not let a
// client set (owner, delegator, complete date).
func taskLosses(t mailbox.Task) []mailbox.Loss {
	var what []string
	if t.Owner != "" || t.Delegator != "" {
		what = append(what, fmt.Sprintf("owner %q and delegator %q (read-only; Exchange makes the target mailbox's owner the owner)", t.Owner, t.Delegator))
	}
	if t.CompleteDate != "" {
		what = append(what, fmt.Sprintf("complete date %s (Exchange sets the day the copy is completed)", t.CompleteDate))
	}
	if len(what) == 0 {
		return nil
	}
	return []mailbox.Loss{{Code: mailbox.LossTaskFields, What: fmt.Sprintf("task %q: %s", t.Subject, strings.Join(what, "; "))}}
}

// CreateTask writes a typed task payload.
func (m *Mailbox) CreateTask(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	t, err := mailbox.DecodeTask(p.Body)
	if err != nil {
		return "", mailbox.Permanent(fmt.Errorf("create task %s in %s: %w", p.SourceID, m.address, err))
	}
	for _, l := range taskLosses(t) {
		mailbox.ReportLoss(ctx, l)
	}
	id, err := m.c.createTyped(ctx, m.address, folderID, false, func(items *etree.Element) { taskItem(items, t, sourceStamp(p.SourceID)) })
	if err != nil {
		return "", fmt.Errorf("create task %s in %s: %w", p.SourceID, m.address, err)
	}
	return id, nil
}
