package graphtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Microsoft To Do of Graph v1.0 (learn.microsoft.com/graph/api/resources/
// todotasklist, resources/todotask, todotasklist-post-tasks,
// todotask-update, todotask-delta, opentypeextension-post-opentypeextension).
// To Do has no extended properties; a client keeps its own data in open
// extensions, which POST of a task takes inline and $expand=extensions
// returns.

// todoTask is a task as the fake stores it.
type todoTask struct {
	ID, ListID string
	Task       mailbox.Task
	// Extensions are the open extensions by extensionName, their
	// custom properties as JSON.
	Extensions        map[string]map[string]any `json:",omitempty"`
	Created, Modified time.Time
	ChangeKey, Seq    int64
	// SearchKey is PR_SEARCH_KEY (searchkey.go): To Do does not serve
	// it, the import/export API does.
	SearchKey []byte `json:",omitempty"`
}

type todoList struct {
	ID, Name string
	Default  bool
}

// StoredTask is the fake's own view of one To Do task: its id, its
// exmigrate stamp (the source id of its open extension; "" without) and
// the task as stored.
type StoredTask struct {
	ID, SourceID string
	Task         mailbox.Task
}

// TodoExtensionName is the open extension in which exmigrate stamps a
// task, and TodoSourceIDField the field that holds the source id: the
// graphmail adapter writes them, the fixture reads them.
const (
	TodoExtensionName = "com.exmigrate.source"
	TodoSourceIDField = "sourceId"
)

// Tasks.Read(Write).All are the To Do application permissions
// (learn.microsoft.com/graph/permissions-reference#tasksreadwriteall).
var (
	todoReadRoles  = []string{"Tasks.Read.All", "Tasks.ReadWrite.All"}
	todoWriteRoles = []string{"Tasks.ReadWrite.All"}
)

func (mb *mbox) initTodo(s *Server) {
	l := &todoList{ID: s.nextID("AAMkTL"), Name: "Tasks", Default: true}
	mb.todoLists = map[string]*todoList{l.ID: l}
	mb.todoOrder = []string{l.ID}
	mb.defTodo = l.ID
	mb.tasks = map[string]*todoTask{}
	mb.taskRemoved = map[string][]tombstone{}
}

func (mb *mbox) listTasks(listID string) []*todoTask {
	return bySeq(mb.tasks, func(t *todoTask) bool { return t.ListID == listID }, func(t *todoTask) int64 { return t.Seq })
}

var todoListDef = &entityDef{
	name:   "microsoft.graph.todoTaskList",
	props:  []string{"id", "displayName", "isOwner", "isShared", "wellknownListName"},
	navs:   []string{"extensions", "tasks"},
	filter: todoListSchema,
}

var todoListSchema = newSchema("microsoft.graph.todoTaskList",
	&propDef{name: "id", typ: edmString, get: func(v any) any { return v.(*todoList).ID }},
	&propDef{name: "displayName", typ: edmString, get: func(v any) any { return v.(*todoList).Name }},
	&propDef{name: "wellknownListName", typ: edmString, get: func(v any) any {
		if v.(*todoList).Default {
			return "defaultList"
		}
		return "none"
	}},
)

var todoTaskDef = &entityDef{
	name: "microsoft.graph.todoTask",
	props: []string{"id", "title", "body", "bodyLastModifiedDateTime", "categories", "completedDateTime", "createdDateTime", "dueDateTime",
		"hasAttachments", "importance", "isReminderOn", "lastModifiedDateTime", "recurrence", "reminderDateTime", "startDateTime", "status"},
	navs:   []string{"attachments", "attachmentSessions", "checklistItems", "extensions", "linkedResources"},
	filter: todoTaskSchema,
}

var todoTaskSchema = newSchema("microsoft.graph.todoTask",
	&propDef{name: "id", typ: edmString, get: func(v any) any { return v.(*todoTask).ID }},
	&propDef{name: "title", typ: edmString, get: func(v any) any { return v.(*todoTask).Task.Subject }},
	&propDef{name: "status", typ: edmString, get: func(v any) any { return lowerFirst(v.(*todoTask).Task.Status) }},
)

var todoWritable = []string{"title", "body", "categories", "completedDateTime", "dueDateTime", "importance", "isReminderOn",
	"recurrence", "reminderDateTime", "startDateTime", "status", "extensions", "linkedResources", "checklistItems"}

var wireStatus = map[string]string{"notstarted": "NotStarted", "inprogress": "InProgress", "completed": "Completed",
	"waitingonothers": "WaitingOnOthers", "deferred": "Deferred"}

// openExtension is the extensionName of an open extension as a client
// writes it; false when it is not one (no name, another @odata.type).
func openExtension(x map[string]any) (string, bool) {
	name, _ := x["extensionName"].(string)
	typ := x["@odata.type"]
	return name, name != "" && (typ == "microsoft.graph.openTypeExtension" || typ == "#microsoft.graph.openTypeExtension")
}

const msgOpenExtension = "An open extension needs @odata.type microsoft.graph.openTypeExtension and an extensionName."

type taskPatch struct {
	set map[string]bool
	t   mailbox.Task
	ext map[string]map[string]any
}

// parseTask checks a todoTask body as Graph does: unknown properties,
// wrong types, an unknown status, importance or zone are 400.
func parseTask(body []byte) (*taskPatch, string, string) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
	}
	p := &taskPatch{set: map[string]bool{}, ext: map[string]map[string]any{}}
	bad := func(name string, v json.RawMessage) (*taskPatch, string, string) {
		return nil, "invalidRequest", fmt.Sprintf("Cannot convert the literal '%s' to the expected type of property '%s'.", truncate(string(v), 40), name)
	}
	for k, v := range raw {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		i := slices.IndexFunc(todoWritable, func(a string) bool { return strings.EqualFold(a, k) })
		if i < 0 {
			return nil, "invalidRequest", fmt.Sprintf("The property '%s' does not exist on type 'microsoft.graph.todoTask'. Make sure to only use property names that are defined by the type or mark the type as open type.", k)
		}
		name := todoWritable[i]
		p.set[name] = true
		var err error
		switch name {
		case "title":
			err = json.Unmarshal(v, &p.t.Subject)
		case "body":
			var b wireBody
			if err = json.Unmarshal(v, &b); err == nil {
				var ok bool
				if p.t.Body, p.t.BodyHTML, ok = b.read(); !ok {
					return bad(name, v)
				}
			}
		case "categories":
			err = json.Unmarshal(v, &p.t.Categories)
		case "importance":
			var s string
			if err = json.Unmarshal(v, &s); err == nil {
				imp, ok := wireImportance[strings.ToLower(s)]
				if !ok {
					return bad(name, v)
				}
				p.t.Importance = imp
			}
		case "status":
			var s string
			if err = json.Unmarshal(v, &s); err == nil {
				st, ok := wireStatus[strings.ToLower(s)]
				if !ok {
					return bad(name, v)
				}
				p.t.Status = st
			}
		case "isReminderOn":
			err = json.Unmarshal(v, &p.t.ReminderOn)
		case "dueDateTime", "startDateTime", "completedDateTime", "reminderDateTime":
			if string(v) == "null" {
				continue
			}
			var d wireDTZ
			if err = json.Unmarshal(v, &d); err != nil {
				return bad(name, v)
			}
			t, _, zerr := parseDTZ(d)
			if zerr != "" {
				return nil, "invalidRequest", zerr
			}
			switch name {
			case "dueDateTime":
				p.t.DueDate = t.Format(time.DateOnly)
			case "startDateTime":
				p.t.StartDate = t.Format(time.DateOnly)
			case "completedDateTime":
				p.t.CompleteDate = t.Format(time.DateOnly)
			case "reminderDateTime":
				p.t.ReminderTime = t.UTC()
			}
		case "recurrence":
			if string(v) == "null" {
				continue
			}
			var r wireRecurrence
			if err = json.Unmarshal(v, &r); err != nil {
				return bad(name, v)
			}
			rec := r.model()
			if verr := rec.Validate(); verr != nil || rec.Interval < 1 {
				return nil, "invalidRequest", "The recurrence is not valid."
			}
			p.t.Recurrence = &rec
		case "extensions":
			var xs []map[string]any
			if err = json.Unmarshal(v, &xs); err != nil {
				return bad(name, v)
			}
			for _, x := range xs {
				name, ok := openExtension(x)
				if !ok {
					return nil, "invalidRequest", msgOpenExtension
				}
				p.ext[name] = x
			}
		case "linkedResources", "checklistItems":
			var xs []map[string]any
			err = json.Unmarshal(v, &xs)
		}
		if err != nil {
			return bad(name, v)
		}
	}
	return p, "", ""
}

func (p *taskPatch) apply(t *mailbox.Task) {
	for name := range p.set {
		switch name {
		case "title":
			t.Subject = p.t.Subject
		case "body":
			t.Body, t.BodyHTML = p.t.Body, p.t.BodyHTML
		case "categories":
			t.Categories = p.t.Categories
		case "importance":
			t.Importance = p.t.Importance
		case "status":
			t.Status = p.t.Status
		case "isReminderOn":
			t.ReminderOn = p.t.ReminderOn
		case "dueDateTime":
			t.DueDate = p.t.DueDate
		case "startDateTime":
			t.StartDate = p.t.StartDate
		case "completedDateTime":
			t.CompleteDate = p.t.CompleteDate
		case "reminderDateTime":
			t.ReminderTime = p.t.ReminderTime
		case "recurrence":
			t.Recurrence = p.t.Recurrence
		}
	}
}

// checkTask: a recurring task needs a due date (To Do repeats from it).
func checkTask(t mailbox.Task) (string, string) {
	if t.Recurrence != nil && t.DueDate == "" {
		return "invalidRequest", "A recurring task needs a dueDateTime."
	}
	return "", ""
}

func dateJSON(d string) any {
	if d == "" {
		return nil
	}
	return map[string]any{"dateTime": d + "T00:00:00.0000000", "timeZone": "UTC"}
}

func (s *Server) taskJSON(t *todoTask, sel []string, expandExt bool) map[string]any {
	ct := "text"
	if t.Task.BodyHTML {
		ct = "html"
	}
	cats := t.Task.Categories
	if cats == nil {
		cats = []string{}
	}
	imp := strings.ToLower(string(t.Task.Importance))
	if imp == "" {
		imp = "normal"
	}
	st := lowerFirst(t.Task.Status)
	if st == "" {
		st = "notStarted"
	}
	j := map[string]any{
		"@odata.etag":              fmt.Sprintf(`W/"vVwdQvxCiE6779iYhchMrAAA%d"`, t.ChangeKey),
		"id":                       t.ID,
		"title":                    t.Task.Subject,
		"body":                     map[string]any{"contentType": ct, "content": t.Task.Body},
		"importance":               imp,
		"status":                   st,
		"isReminderOn":             t.Task.ReminderOn,
		"categories":               cats,
		"hasAttachments":           false,
		"createdDateTime":          t.Created.Format(time.RFC3339Nano),
		"lastModifiedDateTime":     t.Modified.Format(time.RFC3339Nano),
		"bodyLastModifiedDateTime": t.Modified.Format(time.RFC3339Nano),
	}
	if d := dateJSON(t.Task.DueDate); d != nil {
		j["dueDateTime"] = d
	}
	if d := dateJSON(t.Task.StartDate); d != nil {
		j["startDateTime"] = d
	}
	if d := dateJSON(t.Task.CompleteDate); d != nil {
		j["completedDateTime"] = d
	}
	if !t.Task.ReminderTime.IsZero() {
		j["reminderDateTime"] = map[string]any{"dateTime": t.Task.ReminderTime.UTC().Format(graphDateTime), "timeZone": "UTC"}
	}
	if t.Task.Recurrence != nil {
		j["recurrence"] = recurrenceJSON(t.Task.Recurrence, "")
	}
	j = selectJSON(sel, j)
	if expandExt {
		xs := []any{}
		for _, name := range sortedKeys(t.Extensions) {
			x := map[string]any{"@odata.type": "#microsoft.graph.openTypeExtension", "id": name, "extensionName": name}
			for k, v := range t.Extensions[name] {
				if !strings.HasPrefix(k, "@odata.") && k != "extensionName" && k != "id" {
					x[k] = v
				}
			}
			xs = append(xs, x)
		}
		j["extensions"] = xs
	}
	return j
}

func taskViewOf(o *queryOptions) (bool, *queryError) {
	if qe := todoTaskDef.checkView(o); qe != nil {
		return false, qe
	}
	ext := false
	for _, it := range o.expand {
		if !strings.EqualFold(it.name, "extensions") {
			return false, badRequest("invalidRequest", "The fake does not expand '%s' on tasks.", it.name)
		}
		ext = true
	}
	return ext, nil
}

// routeTodo serves /todo/lists...; it reports whether the path was one.
func (s *Server) routeTodo(q *req) bool {
	seg, m := q.seg, q.method()
	n := len(seg)
	if n < 2 || seg[0] != "todo" || seg[1] != "lists" {
		return false
	}
	if n == 2 {
		s.todoLists(q)
		return true
	}
	l := lookup(s, q, seg[2], func() *todoList { return q.mb.todoLists[seg[2]] })
	if l == nil {
		return true
	}
	switch {
	case n == 3 && m == http.MethodGet:
		s.getSelected(q, todoReadRoles, todoListDef, func(sel []string) map[string]any { return todoListJSON(l, sel) })
	case n == 3 && m == http.MethodDelete:
		if !s.need(q, todoWriteRoles) {
			return true
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if l.Default {
			graphError(q.w, http.StatusBadRequest, "invalidRequest", "The default list cannot be deleted.")
			return true
		}
		for id, t := range q.mb.tasks {
			if t.ListID == l.ID {
				delete(q.mb.tasks, id)
			}
		}
		delete(q.mb.todoLists, l.ID)
		q.mb.todoOrder = slices.DeleteFunc(q.mb.todoOrder, func(id string) bool { return id == l.ID })
		q.w.WriteHeader(http.StatusNoContent)
	case n == 4 && seg[3] == "tasks":
		s.todoTasks(q, l)
	case n == 5 && seg[3] == "tasks" && isDelta(seg[4]) && m == http.MethodGet:
		s.todoDelta(q, l)
	case n >= 5 && seg[3] == "tasks":
		s.todoTaskOne(q, l, seg[4], seg[5:])
	default:
		graphError(q.w, http.StatusBadRequest, "BadRequest", "Unsupported segment or method.")
	}
	return true
}

func todoListJSON(l *todoList, sel []string) map[string]any {
	wk := "none"
	if l.Default {
		wk = "defaultList"
	}
	return selectJSON(sel, map[string]any{"@odata.etag": `W/"m1fdwWoFiE2YS9yegTKoYwAA/hqrxA=="`, "id": l.ID, "displayName": l.Name,
		"isOwner": true, "isShared": false, "wellknownListName": wk})
}

// todoLists lists or creates task lists. To Do takes two lists of one
// name; the client looks before it creates.
func (s *Server) todoLists(q *req) {
	switch q.method() {
	case http.MethodGet:
		collection[*todoList]{roles: todoReadRoles, opts: optSelect | optFilter | optTop | optSkip | optFormat, schema: todoListSchema,
			view: func(o *queryOptions) (func(*todoList) map[string]any, *queryError) {
				return func(l *todoList) map[string]any { return todoListJSON(l, o.sel) }, todoListDef.checkSelect(o.sel)
			},
			members: func(*queryOptions) []*todoList { return inOrder(q.mb.todoOrder, q.mb.todoLists) },
		}.list(s, q)
	case http.MethodPost:
		if !s.need(q, todoWriteRoles) {
			return
		}
		var in struct {
			DisplayName string `json:"displayName"`
		}
		if !decodeStrict(q.w, q.body, "microsoft.graph.todoTaskList", []string{"displayName", "extensions"}, &in) {
			return
		}
		if strings.TrimSpace(in.DisplayName) == "" {
			graphError(q.w, http.StatusBadRequest, "invalidRequest", "The list's displayName is missing.")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		l := &todoList{ID: s.nextID("AAMkTL"), Name: in.DisplayName}
		q.mb.todoLists[l.ID] = l
		q.mb.todoOrder = append(q.mb.todoOrder, l.ID)
		writeJSON(q.w, http.StatusCreated, todoListJSON(l, nil))
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

func (s *Server) todoTasks(q *req, l *todoList) {
	switch q.method() {
	case http.MethodGet:
		collection[*todoTask]{roles: todoReadRoles, opts: listOpts, schema: todoTaskSchema,
			view: func(o *queryOptions) (func(*todoTask) map[string]any, *queryError) {
				ext, qe := taskViewOf(o)
				return func(t *todoTask) map[string]any { return s.taskJSON(t, o.sel, ext) }, qe
			},
			members: func(*queryOptions) []*todoTask { return q.mb.listTasks(l.ID) },
		}.list(s, q)
	case http.MethodPost:
		if !s.need(q, todoWriteRoles) {
			return
		}
		p, code, msg := parseTask(q.body)
		if code != "" {
			graphError(q.w, http.StatusBadRequest, code, msg)
			return
		}
		var t mailbox.Task
		t.Status, t.Importance = "NotStarted", mailbox.ImportanceNormal
		p.apply(&t)
		if code, msg := checkTask(t); code != "" {
			graphError(q.w, http.StatusBadRequest, code, msg)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		now := time.Now().UTC()
		tt := &todoTask{ID: s.nextID("AAMkT"), ListID: l.ID, Task: t, Extensions: p.ext, Created: now}
		s.touchTask(tt)
		q.mb.tasks[tt.ID] = tt
		writeJSON(q.w, http.StatusCreated, s.taskJSON(tt, nil, false))
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

func (s *Server) touchTask(t *todoTask) {
	ensureSearchKey(&t.SearchKey)
	s.seq++
	t.Seq = s.seq
	t.ChangeKey++
	t.Modified = time.Now().UTC()
}

func (s *Server) todoTaskOne(q *req, l *todoList, id string, rest []string) {
	t := lookup(s, q, id, func() *todoTask {
		if t := q.mb.tasks[id]; t != nil && t.ListID == l.ID {
			return t
		}
		return nil // a task is served under its own list only
	})
	if t == nil {
		return
	}
	m := q.method()
	if len(rest) == 1 && rest[0] == "extensions" {
		switch m {
		case http.MethodGet:
			if !s.need(q, todoReadRoles) {
				return
			}
			s.mu.Lock()
			j := s.taskJSON(t, []string{"id"}, true)
			s.mu.Unlock()
			writeJSON(q.w, http.StatusOK, map[string]any{"value": j["extensions"]})
		case http.MethodPost:
			if !s.need(q, todoWriteRoles) {
				return
			}
			var x map[string]any
			if json.Unmarshal(q.body, &x) != nil || x == nil {
				graphError(q.w, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
				return
			}
			name, ok := openExtension(x)
			if !ok {
				graphError(q.w, http.StatusBadRequest, "invalidRequest", msgOpenExtension)
				return
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if _, dup := t.Extensions[name]; dup {
				graphError(q.w, http.StatusConflict, "NameAlreadyExists", "An extension of that name already exists.")
				return
			}
			if t.Extensions == nil {
				t.Extensions = map[string]map[string]any{}
			}
			t.Extensions[name] = x
			s.touchTask(t)
			writeJSON(q.w, http.StatusCreated, x)
		default:
			graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
		}
		return
	}
	if len(rest) > 0 {
		graphError(q.w, http.StatusBadRequest, "BadRequest", "Unsupported segment or method.")
		return
	}
	switch m {
	case http.MethodGet:
		s.getOne(q, todoReadRoles, entityOpts, func(o *queryOptions) (func() map[string]any, *queryError) {
			ext, qe := taskViewOf(o)
			return func() map[string]any { return s.taskJSON(t, o.sel, ext) }, qe
		})
	case http.MethodPatch:
		if !s.need(q, todoWriteRoles) {
			return
		}
		p, code, msg := parseTask(q.body)
		if code == "" && p.set["extensions"] {
			code, msg = "invalidRequest", "Extensions are updated through /extensions."
		}
		if code != "" {
			graphError(q.w, http.StatusBadRequest, code, msg)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		nt := t.Task
		p.apply(&nt)
		if code, msg := checkTask(nt); code != "" {
			graphError(q.w, http.StatusBadRequest, code, msg)
			return
		}
		t.Task = nt
		s.touchTask(t)
		writeJSON(q.w, http.StatusOK, s.taskJSON(t, nil, false))
	case http.MethodDelete:
		if !s.need(q, todoWriteRoles) {
			return
		}
		s.mu.Lock()
		removeLocked(s, q.mb.tasks, q.mb.taskRemoved, l.ID, t.ID)
		s.mu.Unlock()
		q.w.WriteHeader(http.StatusNoContent)
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

// todoDelta pages a list's changes (todotask-delta): every task on the
// first round, then changed ones and @removed entries; $select and $top
// are kept in the tokens.
func (s *Server) todoDelta(q *req, l *todoList) {
	o, ok := s.readQuery(q, todoReadRoles, optSelect|optTop|optSkiptoken|optDeltatoken, func(o *queryOptions) *queryError { return todoTaskDef.checkSelect(o.sel) })
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := deltaToken{Gen: s.deltaGen, Folder: l.ID, Select: strings.Join(o.sel, ",")}
	if o.has(optTop) {
		tok.Top = o.top
	}
	if raw, isDeltaTok := o.roundToken(); !s.resumeDelta(q, &tok, raw, isDeltaTok, "invalidRequest") {
		return
	}
	var sel []string
	if tok.Select != "" {
		sel = strings.Split(tok.Select, ",")
	}
	seqDelta(s, q, tok, q.mb.listTasks(l.ID), func(t *todoTask) int64 { return t.Seq }, q.mb.taskRemoved[l.ID], "#microsoft.graph.todoTask",
		func(t *todoTask) map[string]any { return s.taskJSON(t, sel, false) })
}

// ---------------------------------------------------------------- fixture

// TaskListID is the id of the mailbox's default To Do list.
func (f *MailboxFixture) TaskListID() string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.mb.defTodo
}

// AddTask stores a task as the user made it in a list ("" is the default
// one) and returns its id. It keeps only what a todoTask holds (todoView)
// and panics on a task To Do refuses (a recurring one without a due date).
func (f *MailboxFixture) AddTask(listID string, t mailbox.Task) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if listID == "" {
		listID = f.mb.defTodo
	}
	if f.mb.todoLists[listID] == nil {
		panic("graphtest: AddTask into unknown list " + listID)
	}
	if _, msg := checkTask(t); msg != "" {
		panic("graphtest: AddTask: " + msg)
	}
	tt := &todoTask{ID: f.s.nextID("AAMkT"), ListID: listID, Task: todoView(cloneTask(t)), Created: time.Now().UTC()}
	f.s.touchTask(tt)
	f.mb.tasks[tt.ID] = tt
	return tt.ID
}

// Tasks are the tasks of a list ("" is the default one), oldest change
// first, as the fake holds them.
func (f *MailboxFixture) Tasks(listID string) []StoredTask {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if listID == "" {
		listID = f.mb.defTodo
	}
	var out []StoredTask
	for _, t := range f.mb.listTasks(listID) {
		src, _ := t.Extensions[TodoExtensionName][TodoSourceIDField].(string)
		out = append(out, StoredTask{ID: t.ID, SourceID: src, Task: cloneTask(t.Task)})
	}
	return out
}

// UpdateTask changes a stored task as its owner would; false when there
// is none of that id.
func (f *MailboxFixture) UpdateTask(id string, change func(*mailbox.Task)) bool {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	t := f.mb.tasks[id]
	if t == nil {
		return false
	}
	change(&t.Task)
	t.Task = todoView(t.Task)
	f.s.touchTask(t)
	return true
}

// TaskLists are the ids and names of the mailbox's To Do lists.
func (f *MailboxFixture) TaskLists() map[string]string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	out := map[string]string{}
	for id, l := range f.mb.todoLists {
		out[id] = l.Name
	}
	return out
}

// todoView is what a todoTask can hold of a task: To Do has no percent
// complete, sensitivity, owner or delegator, and the fake serves no task
// attachments (hasAttachments is always false), so a fixture's task keeps
// none of them.
func todoView(t mailbox.Task) mailbox.Task {
	t.PercentComplete, t.Sensitivity, t.Owner, t.Delegator, t.Attachments = 0, "", "", "", nil
	return t
}

func cloneTask(t mailbox.Task) mailbox.Task {
	c := t
	c.Categories = slices.Clone(t.Categories)
	c.Attachments = slices.Clone(t.Attachments)
	if t.Recurrence != nil {
		r := *t.Recurrence
		r.DaysOfWeek = slices.Clone(r.DaysOfWeek)
		c.Recurrence = &r
	}
	return c
}
