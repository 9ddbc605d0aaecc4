package graphmail

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Tasks go through Microsoft To Do, Graph's only task API since Outlook
// tasks (outlookTask, beta) stopped returning data in 2022
// (reference/items.md C): /todo/lists (the default one has
// wellknownListName defaultList), /todo/lists/{id}/tasks and its delta
// (learn.microsoft.com/graph/api/resources/todotasklist,
// resources/todotask, todotask-delta). To Do holds no percent complete,
// owner, delegator or sensitivity, and takes no attachments with
// application permissions (todotask-post-attachments): a write that
// carries any of them reports mailbox.LossTaskFields. Creating a task
// with an application token needs Tasks.ReadWrite.All (the generated
// permissions table of todotasklist-post-tasks; older copies of that page
// said application permissions were not supported).
//
// To Do has no extended properties: the stamp is an open extension
// (extensionName todoExtension) created inline with the task, in the one
// POST (opentypeextension-post-opentypeextension lists POST
// /users/{id}/todo/lists/{id}/tasks among the creates that take it), so
// that a task is never stored without its stamp. FindBySourceID and
// Stamps list the tasks with $expand=extensions.

const (
	todoExtension     = "com.exmigrate.source"
	todoSourceIDField = "sourceId"
)

// taskLosses is what a task loses through To Do.
const taskLosses = "percent complete, owner, delegator, sensitivity and attachments (Microsoft To Do holds none of them for an application)"

type todoListJSON struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	WellknownListName string `json:"wellknownListName"`
}

type todoTaskJSON struct {
	ID                string           `json:"id"`
	ETag              string           `json:"@odata.etag"`
	Title             string           `json:"title"`
	Body              *graphBody       `json:"body"`
	Importance        string           `json:"importance"`
	Status            string           `json:"status"`
	IsReminderOn      bool             `json:"isReminderOn"`
	Categories        []string         `json:"categories"`
	DueDateTime       *graphDTZ        `json:"dueDateTime"`
	StartDateTime     *graphDTZ        `json:"startDateTime"`
	CompletedDateTime *graphDTZ        `json:"completedDateTime"`
	ReminderDateTime  *graphDTZ        `json:"reminderDateTime"`
	Recurrence        *graphRecurrence `json:"recurrence"`
	CreatedDateTime   *time.Time       `json:"createdDateTime"`
	LastModified      *time.Time       `json:"lastModifiedDateTime"`
	Extensions        []map[string]any `json:"extensions"`
	Removed           any              `json:"@removed"`
}

func (t todoTaskJSON) stamp() string {
	for _, x := range t.Extensions {
		if name, _ := x["extensionName"].(string); strings.EqualFold(name, todoExtension) || strings.EqualFold(fmt.Sprint(x["id"]), todoExtension) {
			s, _ := x[todoSourceIDField].(string)
			return s
		}
	}
	return ""
}

// version is a task's version: To Do has no changeKey, its etag changes
// with every change.
func (t todoTaskJSON) version() string {
	if t.ETag != "" {
		return t.ETag
	}
	if t.LastModified != nil {
		return t.LastModified.UTC().Format(time.RFC3339Nano)
	}
	return ""
}

func (m *Mailbox) isTaskList(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.todoFolders[id]
}

func (m *Mailbox) taskKind() flatKind {
	return flatKind{class: mailbox.ClassTasksFolder, wellKnown: mailbox.TasksFolder, known: m.todoFolders}
}

// taskFolders lists the To Do lists as folders of class IPF.Task under the
// root, the default list first as the well-known Tasks folder.
func (m *Mailbox) taskFolders(ctx context.Context, rootID string) ([]mailbox.Folder, error) {
	return listFlat(ctx, m, m.taskKind(), "list To Do lists of "+m.address, m.c.graphURL(userPath(m.address)+"/todo/lists", nil), rootID, func(l todoListJSON) (string, string, bool) {
		return l.ID, l.DisplayName, l.WellknownListName == "defaultList"
	})
}

// createTaskList creates a To Do list or returns the existing one of that
// name (To Do itself takes two lists of one name, so graphmail looks
// first); lists do not nest.
func (m *Mailbox) createTaskList(ctx context.Context, parentID, displayName string) (mailbox.Folder, error) {
	return m.createFlat(ctx, m.taskKind(), parentID, displayName, "task list", "To Do lists do not nest", m.taskFolders, func() (string, string, error) {
		var l todoListJSON
		op := fmt.Sprintf("create To Do list %q in %s", displayName, m.address)
		err := m.sendJSON(ctx, op, http.MethodPost, m.c.graphURL(userPath(m.address)+"/todo/lists", nil), map[string]string{"displayName": displayName}, &l)
		return l.ID, l.DisplayName, err
	})
}

func (m *Mailbox) tasksPath(listID string) string {
	return userPath(m.address) + "/todo/lists/" + urlPathEscape(listID) + "/tasks"
}

func taskItem(t todoTaskJSON, listID string) mailbox.Item {
	it := mailbox.Item{ID: t.ID, ChangeKey: t.version(), FolderID: listID, Class: mailbox.ClassTask, Subject: t.Title, Categories: t.Categories,
		Flag: mailbox.NotFlagged, Importance: mailbox.ImportanceNormal, IsRead: true, SourceID: t.stamp()}
	if imp := fromGraphEnum(t.Importance, []string{"Low", "Normal", "High"}); imp != "" {
		it.Importance = mailbox.Importance(imp)
	}
	if len(it.Categories) == 0 {
		it.Categories = nil
	}
	if t.CreatedDateTime != nil {
		it.Received = t.CreatedDateTime.UTC()
	}
	return it
}

// taskItems pages through a list's tasks with their stamps.
func (m *Mailbox) taskItems(ctx context.Context, listID string, fn func(mailbox.Item) error) error {
	q := url.Values{"$expand": {"extensions"}, "$top": {fmt.Sprint(pageSize)}}
	return listPaged(ctx, m, "list tasks of "+listID+" in "+m.address, m.c.graphURL(m.tasksPath(listID), q), func(t todoTaskJSON) error {
		m.remember(t.ID, mailbox.KindTasks, listID)
		return fn(taskItem(t, listID))
	})
}

// taskCount is the number of tasks of a list: To Do documents no $count,
// so the ids are listed (a page of 100 per request).
func (m *Mailbox) taskCount(ctx context.Context, listID string) (int64, error) {
	var n int64
	q := url.Values{"$select": {"id"}, "$top": {fmt.Sprint(pageSize)}}
	err := listPaged(ctx, m, "count tasks of "+listID+" in "+m.address, m.c.graphURL(m.tasksPath(listID), q), func(struct {
		ID string `json:"id"`
	}) error {
		n++
		return nil
	})
	return n, err
}

// findTask looks a task up in a list by its stamp: To Do filters on no
// extension, so the list is read with its extensions.
func (m *Mailbox) findTask(ctx context.Context, listID, src string) (string, bool, error) {
	id := ""
	err := m.taskItems(ctx, listID, func(it mailbox.Item) error {
		if id == "" && it.SourceID == src {
			id = it.ID
		}
		return nil
	})
	return id, id != "", err
}

// taskChanges is one round of a list's delta (todotask-delta, v1.0). The
// delta carries no extensions; Stamps lists them.
func (m *Mailbox) taskChanges(ctx context.Context, listID, state string) (mailbox.ChangePage, error) {
	op := "task delta of list " + listID + " in " + m.address
	return deltaRound(ctx, m, op, state, m.c.graphURL(m.tasksPath(listID)+"/delta", nil), func(t todoTaskJSON) mailbox.Change {
		if t.Removed != nil {
			return mailbox.Change{Kind: mailbox.ChangeDeleted, Item: mailbox.Item{ID: t.ID, FolderID: listID, Class: mailbox.ClassTask}}
		}
		m.remember(t.ID, mailbox.KindTasks, listID)
		return mailbox.Change{Kind: changeKind(state, t.CreatedDateTime, t.LastModified), Item: taskItem(t, listID)}
	})
}

// dateOf is the date a To Do dateTimeTimeZone names, as written.
func dateOf(d *graphDTZ) (string, error) {
	if d == nil || d.DateTime == "" {
		return "", nil
	}
	if len(d.DateTime) < 10 {
		return "", fmt.Errorf("%w: task date %q", mailbox.ErrBadTyped, d.DateTime)
	}
	t, err := time.Parse(time.DateOnly, d.DateTime[:10])
	if err != nil {
		return "", fmt.Errorf("%w: task date %q", mailbox.ErrBadTyped, d.DateTime)
	}
	return t.Format(time.DateOnly), nil
}

// taskFromGraph maps a To Do task to the model.
func taskFromGraph(g todoTaskJSON) (mailbox.Task, error) {
	t := mailbox.Task{Subject: g.Title, Categories: g.Categories, ReminderOn: g.IsReminderOn, Recurrence: recurrenceFromGraph(g.Recurrence)}
	if g.Body != nil {
		t.Body, t.BodyHTML = g.Body.Content, strings.EqualFold(g.Body.ContentType, "html")
	}
	t.Status = fromGraphEnum(g.Status, mailbox.TaskStatuses)
	t.Importance = mailbox.Importance(fromGraphEnum(g.Importance, []string{"Low", "Normal", "High"}))
	var err error
	if t.DueDate, err = dateOf(g.DueDateTime); err != nil {
		return t, err
	}
	if t.StartDate, err = dateOf(g.StartDateTime); err != nil {
		return t, err
	}
	if t.CompleteDate, err = dateOf(g.CompletedDateTime); err != nil {
		return t, err
	}
	if g.ReminderDateTime != nil && g.ReminderDateTime.DateTime != "" {
		if t.ReminderTime, err = parseGraphDTZ(g.ReminderDateTime); err != nil {
			return t, err
		}
	}
	if len(t.Categories) == 0 {
		t.Categories = nil
	}
	return t, nil
}

func dateToGraph(d string) any {
	if d == "" {
		return nil
	}
	return graphDTZ{DateTime: d + "T00:00:00.0000000", TimeZone: "UTC"}
}

// taskToGraph is the create (update: no extensions) body of a task, and
// reports what To Do cannot hold.
func taskToGraph(ctx context.Context, t mailbox.Task, src string, create bool) map[string]any {
	var lost []string
	if t.PercentComplete != 0 {
		lost = append(lost, fmt.Sprintf("percent complete (%d)", t.PercentComplete))
	}
	if t.Owner != "" {
		lost = append(lost, "owner "+t.Owner)
	}
	if t.Delegator != "" {
		lost = append(lost, "delegator "+t.Delegator)
	}
	if t.Sensitivity != "" && t.Sensitivity != "Normal" {
		lost = append(lost, "sensitivity "+t.Sensitivity)
	}
	if len(t.Attachments) > 0 {
		lost = append(lost, fmt.Sprintf("%d attachments", len(t.Attachments)))
	}
	if len(lost) > 0 {
		mailbox.ReportLoss(ctx, mailbox.Loss{Code: mailbox.LossTaskFields, What: fmt.Sprintf("task %q: To Do holds no %s", t.Subject, strings.Join(lost, ", "))})
	}
	ct := "text"
	if t.BodyHTML {
		ct = "html"
	}
	status := "notStarted"
	if t.Status != "" {
		status = strings.ToLower(t.Status[:1]) + t.Status[1:]
	}
	g := map[string]any{
		"title":             t.Subject,
		"body":              graphBody{ContentType: ct, Content: t.Body},
		"status":            status,
		"isReminderOn":      t.ReminderOn,
		"categories":        nonNil(t.Categories),
		"dueDateTime":       dateToGraph(t.DueDate),
		"startDateTime":     dateToGraph(t.StartDate),
		"completedDateTime": dateToGraph(t.CompleteDate),
		"recurrence":        recurrenceToGraph(t.Recurrence, ""),
		"reminderDateTime":  nil,
	}
	if t.Importance != "" {
		g["importance"] = strings.ToLower(string(t.Importance))
	}
	if !t.ReminderTime.IsZero() {
		g["reminderDateTime"] = graphDTZ{DateTime: t.ReminderTime.UTC().Format(graphDateTime), TimeZone: "UTC"}
	}
	if create && src != "" {
		g["extensions"] = []map[string]any{{"@odata.type": "microsoft.graph.openTypeExtension", "extensionName": todoExtension, todoSourceIDField: src}}
	}
	return g
}

// taskURL is the URL of a task: To Do names a task within its list, so
// the list must be known (remembered from a listing or a write, or found).
func (m *Mailbox) taskURL(ctx context.Context, itemID string) (string, error) {
	_, listID := m.recall(itemID)
	if listID == "" {
		rootID, err := m.rootID(ctx)
		if err != nil {
			return "", err
		}
		lists, err := m.taskFolders(ctx, rootID)
		if err != nil {
			return "", err
		}
		for _, l := range lists {
			var t todoTaskJSON
			err := m.getJSON(ctx, "find task "+itemID, m.c.graphURL(m.tasksPath(l.ID)+"/"+urlPathEscape(itemID), url.Values{"$select": {"id"}}), &t)
			if err == nil {
				listID = l.ID
				m.remember(itemID, mailbox.KindTasks, listID)
				break
			}
			if !isNotFound(err) {
				return "", err
			}
		}
		if listID == "" {
			return "", fmt.Errorf("graph: task %s in %s: %w", itemID, m.address, mailbox.ErrNotFound)
		}
	}
	return m.c.graphURL(m.tasksPath(listID)+"/"+urlPathEscape(itemID), nil), nil
}

// openTask reads a task as the typed body.
func (m *Mailbox) openTask(ctx context.Context, itemID string) (io.ReadCloser, error) {
	u, err := m.taskURL(ctx, itemID)
	if err != nil {
		return nil, err
	}
	op := "read task " + itemID + " in " + m.address
	var g todoTaskJSON
	if err := m.getJSON(ctx, op, u, &g); err != nil {
		return nil, err
	}
	t, err := taskFromGraph(g)
	if err == nil {
		var body []byte
		if body, err = mailbox.EncodeTask(t); err == nil {
			return io.NopCloser(bytes.NewReader(body)), nil
		}
	}
	return nil, mailbox.Permanent(fmt.Errorf("graph: %s: %w", op, err))
}

// createTask writes a typed task into a list, its stamp created with it.
func (m *Mailbox) createTask(ctx context.Context, listID string, p mailbox.Payload) (string, error) {
	src := payloadStamp(p)
	if p.Body == nil {
		return "", mailbox.Permanent(fmt.Errorf("graph: create task in %s: %w: the payload has no body", m.address, mailbox.ErrItemRejected))
	}
	t, err := mailbox.DecodeTask(p.Body)
	if err != nil {
		return "", mailbox.Permanent(fmt.Errorf("graph: create task %s in %s: %w", src, m.address, err))
	}
	op := fmt.Sprintf("create task %s in list %s of %s", src, listID, m.address)
	var created todoTaskJSON
	if err := m.sendJSON(ctx, op, http.MethodPost, m.c.graphURL(m.tasksPath(listID), nil), taskToGraph(ctx, t, src, true), &created); err != nil {
		return "", err
	}
	if created.ID == "" {
		return "", mailbox.Permanent(fmt.Errorf("graph: %s: the answer has no task id", op))
	}
	m.remember(created.ID, mailbox.KindTasks, listID)
	return created.ID, nil
}

// updateTask rewrites a task in place (PATCH; its stamp stays).
func (m *Mailbox) updateTask(ctx context.Context, itemID string, p mailbox.Payload) error {
	if p.Body == nil {
		return mailbox.Permanent(fmt.Errorf("graph: update task %s in %s: %w: the payload has no body", itemID, m.address, mailbox.ErrItemRejected))
	}
	t, err := mailbox.DecodeTask(p.Body)
	if err != nil {
		return mailbox.Permanent(fmt.Errorf("graph: update task %s in %s: %w", itemID, m.address, err))
	}
	u, err := m.taskURL(ctx, itemID)
	if err != nil {
		return err
	}
	return m.sendJSON(ctx, "update task "+itemID+" in "+m.address, http.MethodPatch, u, taskToGraph(ctx, t, "", false), nil)
}
