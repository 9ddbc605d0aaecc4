package mailbox

import (
	"fmt"
	"io"
	"time"
)

// Task is what FormatTyped carries for an item of KindTasks: an Outlook
// task as EWS's t:Task holds it. Microsoft To Do (Graph's only task API)
// holds less; its writer reports what it loses (percent complete, owner,
// delegation, sensitivity).
type Task struct {
	Subject  string `json:"subject,omitempty"`
	Body     string `json:"body,omitempty"`
	BodyHTML bool   `json:"bodyHtml,omitempty"`
	// Status is NotStarted, InProgress, Completed, WaitingOnOthers or
	// Deferred.
	Status          string     `json:"status,omitempty"`
	PercentComplete int        `json:"percentComplete,omitempty"`
	Importance      Importance `json:"importance,omitempty"`
	Sensitivity     string     `json:"sensitivity,omitempty"`
	// Dates without a time of day, as Outlook shows them.
	StartDate    string   `json:"startDate,omitempty"`    // 2006-01-02
	DueDate      string   `json:"dueDate,omitempty"`      // 2006-01-02
	CompleteDate string   `json:"completeDate,omitempty"` // 2006-01-02
	Categories   []string `json:"categories,omitempty"`
	ReminderOn   bool     `json:"reminderOn,omitempty"`
	// ReminderTime is when the reminder fires (UTC).
	ReminderTime time.Time   `json:"reminderTime,omitzero"`
	Recurrence   *Recurrence `json:"recurrence,omitempty"`
	// Owner is the task's owner; Delegator is who assigned it. Only
	// Exchange holds them.
	Owner       string       `json:"owner,omitempty"`
	Delegator   string       `json:"delegator,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

const taskVersion = 1

// TaskStatuses are the statuses both services share.
var TaskStatuses = []string{"NotStarted", "InProgress", "Completed", "WaitingOnOthers", "Deferred"}

// EncodeTask is the typed body of a task.
func EncodeTask(t Task) ([]byte, error) { return encodeTyped(typedTask, taskVersion, t) }

// DecodeTask reads a typed body written by EncodeTask.
func DecodeTask(r io.Reader) (Task, error) {
	t, err := decodeTyped[Task](r, typedTask, taskVersion)
	if err != nil {
		return Task{}, err
	}
	t.ReminderTime = t.ReminderTime.UTC()
	if len(t.Categories) == 0 {
		t.Categories = nil
	}
	if len(t.Attachments) == 0 {
		t.Attachments = nil
	}
	if t.Recurrence != nil && len(t.Recurrence.DaysOfWeek) == 0 {
		t.Recurrence.DaysOfWeek = nil
	}
	return t, nil
}

// Validate checks what both services refuse.
func (t Task) Validate() error {
	for _, err := range []error{oneOf("task status", t.Status, TaskStatuses), oneOf("sensitivity", t.Sensitivity, SensitivityValues),
		oneOf("importance", string(t.Importance), []string{"Low", "Normal", "High"})} {
		if err != nil {
			return err
		}
	}
	if t.PercentComplete < 0 || t.PercentComplete > 100 {
		return fmt.Errorf("%w: percent complete %d", ErrBadTyped, t.PercentComplete)
	}
	for name, d := range map[string]string{"start date": t.StartDate, "due date": t.DueDate, "complete date": t.CompleteDate} {
		if d == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return fmt.Errorf("%w: task %s %q is not a date (2006-01-02)", ErrBadTyped, name, d)
		}
	}
	if t.Recurrence != nil {
		if err := t.Recurrence.Validate(); err != nil {
			return err
		}
	}
	return validateAttachments(t.Attachments)
}

// ContactGroup is what FormatTyped carries for a contact group
// (IPM.DistList): a personal distribution list in a contacts folder.
// Graph has no contact groups; EWS holds them as t:DistributionList.
type ContactGroup struct {
	DisplayName string         `json:"displayName"`
	FileAs      string         `json:"fileAs,omitempty"`
	Members     []ContactEmail `json:"members,omitempty"`
	Categories  []string       `json:"categories,omitempty"`
	Body        string         `json:"body,omitempty"`
}

const contactGroupVersion = 1

// ClassContactGroup is the message class of a contact group.
const ClassContactGroup = "IPM.DistList"

// EncodeContactGroup is the typed body of a contact group.
func EncodeContactGroup(g ContactGroup) ([]byte, error) {
	return encodeTyped(typedContactGroup, contactGroupVersion, g)
}

// DecodeContactGroup reads a typed body written by EncodeContactGroup.
func DecodeContactGroup(r io.Reader) (ContactGroup, error) {
	g, err := decodeTyped[ContactGroup](r, typedContactGroup, contactGroupVersion)
	if err != nil {
		return ContactGroup{}, err
	}
	if len(g.Members) == 0 {
		g.Members = nil
	}
	if len(g.Categories) == 0 {
		g.Categories = nil
	}
	return g, nil
}

// Validate checks what both services refuse.
func (g ContactGroup) Validate() error {
	if g.DisplayName == "" {
		return fmt.Errorf("%w: a contact group without a name", ErrBadTyped)
	}
	for _, m := range g.Members {
		if m.Address == "" {
			return fmt.Errorf("%w: a group member without an address", ErrBadTyped)
		}
	}
	return nil
}
