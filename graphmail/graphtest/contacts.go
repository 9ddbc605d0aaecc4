package graphtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Contacts and contact folders of Graph v1.0:
// learn.microsoft.com/graph/api/resources/contact,
// learn.microsoft.com/graph/api/resources/contactfolder,
// learn.microsoft.com/graph/api/user-list-contactfolders (the folders under
// the default Contacts folder), contactfolder-list-childfolders,
// contactfolder-post-contacts, contact-get, and contact-delta (per folder:
// /contactFolders/{id}/contacts/delta). Contact groups (IPM.DistList) are
// not served: Graph does not return them.

// Contact is a contact as the fake stores it: its properties as Graph's
// JSON names them, so that a test compares what the client wrote.
type Contact struct {
	ID       string
	FolderID string
	// Props are the contact's properties as written (displayName,
	// emailAddresses, homeAddress, birthday, ...), JSON-decoded.
	Props map[string]any
	// ExtendedProperties are the singleValueExtendedProperties by id.
	ExtendedProperties map[string]string
	Created, Modified  time.Time
	// Photo is the contact's picture as PUT to /photo/$value, and
	// PhotoType its content type; nil without one.
	Photo     []byte `json:",omitempty"`
	PhotoType string `json:",omitempty"`
	// SearchKey is PR_SEARCH_KEY (searchkey.go).
	SearchKey []byte `json:",omitempty"`

	changeKey int64
	seq       int64
}

type contactFolder struct {
	id, parentID, name string
	children           []string
}

// contactWritable are the properties a client may write
// (learn.microsoft.com/graph/api/resources/contact#properties).
var contactWritable = []string{"assistantName", "birthday", "businessAddress", "businessHomePage", "businessPhones", "categories",
	"children", "companyName", "department", "displayName", "emailAddresses", "fileAs", "generation", "givenName", "homeAddress",
	"homePhones", "imAddresses", "initials", "jobTitle", "manager", "middleName", "mobilePhone", "nickName", "officeLocation",
	"otherAddress", "personalNotes", "profession", "spouseName", "surname", "title", "yomiCompanyName", "yomiGivenName", "yomiSurname",
	"singleValueExtendedProperties", "multiValueExtendedProperties"}

var contactDef = &entityDef{
	name: "microsoft.graph.contact",
	props: append(slices.Clone(contactWritable[:len(contactWritable)-2]), "id", "changeKey", "createdDateTime",
		"lastModifiedDateTime", "parentFolderId"),
	navs:   []string{"extensions", "multiValueExtendedProperties", "photo", "singleValueExtendedProperties"},
	filter: contactSchema,
}

var contactFolderDef = &entityDef{
	name:   "microsoft.graph.contactFolder",
	props:  []string{"id", "displayName", "parentFolderId"},
	navs:   []string{"childFolders", "contacts", "multiValueExtendedProperties", "singleValueExtendedProperties"},
	filter: contactFolderSchema,
}

func contactStr(name string) func(v any) any {
	return func(v any) any {
		s, _ := v.(*Contact).Props[name].(string)
		return s
	}
}

var contactSchema = newSchema("microsoft.graph.contact",
	&propDef{name: "id", typ: edmString, get: func(v any) any { return v.(*Contact).ID }},
	&propDef{name: "parentFolderId", typ: edmString, get: func(v any) any { return v.(*Contact).FolderID }},
	&propDef{name: "displayName", typ: edmString, get: contactStr("displayName")},
	&propDef{name: "givenName", typ: edmString, get: contactStr("givenName")},
	&propDef{name: "surname", typ: edmString, get: contactStr("surname")},
	&propDef{name: "companyName", typ: edmString, get: contactStr("companyName")},
	&propDef{name: "createdDateTime", typ: edmDateTime, get: func(v any) any { return secs(v.(*Contact).Created) }},
	&propDef{name: "lastModifiedDateTime", typ: edmDateTime, get: func(v any) any { return secs(v.(*Contact).Modified) }},
	&propDef{name: "singleValueExtendedProperties", typ: edmComplex, coll: true, sub: singleValuePropSchema, get: func(v any) any {
		c := v.(*Contact)
		out := make([]any, 0, len(c.ExtendedProperties))
		for id, val := range c.ExtendedProperties {
			out = append(out, extProp{ID: id, Value: val})
		}
		return out
	}},
)

var contactFolderSchema = newSchema("microsoft.graph.contactFolder",
	&propDef{name: "id", typ: edmString, get: func(v any) any { return v.(*contactFolder).id }},
	&propDef{name: "displayName", typ: edmString, get: func(v any) any { return v.(*contactFolder).name }},
	&propDef{name: "parentFolderId", typ: edmString, get: func(v any) any { return v.(*contactFolder).parentID }},
)

// Exchange holds at most three e-mail addresses (EmailAddress1-3), three IM
// addresses and two business and two home phones per contact
// (learn.microsoft.com/exchange/client-developer/web-service-reference/entry-emailaddress).
const (
	maxContactEmails = 3
	maxContactIMs    = 3
	maxContactPhones = 2
)

// parseContact checks a contact create body as Graph does: unknown or
// read-only properties, wrong types, too many addresses and a birthday that
// is not a DateTimeOffset are 400. It returns the properties and the
// extended properties, or the error's code and message.
func parseContact(body []byte) (props map[string]any, ext map[string]string, code, msg string) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, nil, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
	}
	props, ext = map[string]any{}, map[string]string{}
	for k, v := range raw {
		if strings.HasPrefix(k, "@odata.") {
			continue
		}
		i := slices.IndexFunc(contactWritable, func(a string) bool { return strings.EqualFold(a, k) })
		if i < 0 {
			return nil, nil, "RequestBodyRead", fmt.Sprintf("The property '%s' does not exist on type 'microsoft.graph.contact'. Make sure to only use property names that are defined by the type or mark the type as open type.", k)
		}
		name := contactWritable[i]
		bad := func() (map[string]any, map[string]string, string, string) {
			return nil, nil, "RequestBodyRead", fmt.Sprintf("Cannot convert the literal '%s' to the expected type of property '%s'.", truncate(string(v), 40), name)
		}
		switch name {
		case "singleValueExtendedProperties":
			var ps []extProp
			if json.Unmarshal(v, &ps) != nil {
				return bad()
			}
			for _, p := range ps {
				if strings.TrimSpace(p.ID) == "" {
					return nil, nil, "ErrorInvalidExtendedProperty", "The extended property has no id."
				}
				ext[p.ID] = p.Value
			}
		case "multiValueExtendedProperties":
			var ps []mvProp
			if json.Unmarshal(v, &ps) != nil {
				return bad()
			}
		case "emailAddresses":
			var es []struct {
				Name    string `json:"name"`
				Address string `json:"address"`
			}
			if json.Unmarshal(v, &es) != nil {
				return bad()
			}
			if len(es) > maxContactEmails {
				return nil, nil, "ErrorInvalidArgument", fmt.Sprintf("A contact can have at most %d e-mail addresses.", maxContactEmails)
			}
			out := []any{}
			for _, e := range es {
				out = append(out, map[string]any{"name": e.Name, "address": e.Address})
			}
			props[name] = out
		case "imAddresses", "businessPhones", "homePhones", "children", "categories":
			var ss []string
			if json.Unmarshal(v, &ss) != nil {
				return bad()
			}
			if (name == "imAddresses" && len(ss) > maxContactIMs) || ((name == "businessPhones" || name == "homePhones") && len(ss) > maxContactPhones) {
				return nil, nil, "ErrorInvalidArgument", fmt.Sprintf("Too many values for property '%s'.", name)
			}
			props[name] = strAny(ss)
		case "homeAddress", "businessAddress", "otherAddress":
			var a struct {
				Street          string `json:"street"`
				City            string `json:"city"`
				State           string `json:"state"`
				CountryOrRegion string `json:"countryOrRegion"`
				PostalCode      string `json:"postalCode"`
			}
			if string(v) == "null" {
				continue
			}
			if json.Unmarshal(v, &a) != nil {
				return bad()
			}
			props[name] = map[string]any{"street": a.Street, "city": a.City, "state": a.State, "countryOrRegion": a.CountryOrRegion, "postalCode": a.PostalCode}
		case "birthday":
			var s *string
			if json.Unmarshal(v, &s) != nil {
				return bad()
			}
			if s == nil {
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, *s)
			if err != nil {
				return bad()
			}
			props[name] = t.UTC().Format(graphTime)
		default:
			var s *string
			if json.Unmarshal(v, &s) != nil {
				return bad()
			}
			if s != nil {
				props[name] = *s
			}
		}
	}
	return props, ext, "", ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// contactView is what a request asks of a contact: $select and the
// extended properties of $expand.
type contactView struct {
	sel []string
	sv  *compiledFilter
}

func contactViewOf(o *queryOptions) (*contactView, *queryError) {
	sv, qe := extPropView(contactDef, o, "contacts")
	if qe != nil {
		return nil, qe
	}
	return &contactView{sel: o.sel, sv: sv}, nil
}

func contactJSON(c *Contact, v *contactView) map[string]any {
	j := map[string]any{
		"@odata.etag":          fmt.Sprintf(`W/"EQAAABYAAAA%d"`, c.changeKey),
		"id":                   c.ID,
		"parentFolderId":       c.FolderID,
		"changeKey":            fmt.Sprintf("EQAAABYAAAA%d", c.changeKey),
		"createdDateTime":      c.Created.Format(graphTime),
		"lastModifiedDateTime": c.Modified.Format(graphTime),
	}
	// Graph returns every property, empty ones as null or [].
	for _, p := range contactDef.props {
		if _, ok := j[p]; ok {
			continue
		}
		switch p {
		case "emailAddresses", "imAddresses", "businessPhones", "homePhones", "children", "categories":
			j[p] = []any{}
		case "homeAddress", "businessAddress", "otherAddress":
			j[p] = map[string]any{}
		default:
			j[p] = nil
		}
	}
	for k, val := range c.Props {
		j[k] = val
	}
	if v == nil {
		return j
	}
	j = selectJSON(v.sel, j)
	addExtProps(j, v.sv, withSearchKey(c.ExtendedProperties, c.SearchKey))
	return j
}

func contactFolderJSON(f *contactFolder, sel []string) map[string]any {
	return selectJSON(sel, map[string]any{"id": f.id, "displayName": f.name, "parentFolderId": f.parentID})
}

func (mb *mbox) folderContacts(fid string) []*Contact {
	return bySeq(mb.contacts, func(c *Contact) bool { return c.FolderID == fid }, func(c *Contact) int64 { return c.seq })
}

// routeContacts serves /contactFolders... and /contacts/{id}; it reports
// whether the path was one of them.
func (s *Server) routeContacts(q *req) bool {
	seg, m := q.seg, q.method()
	n := len(seg)
	switch {
	case n >= 1 && seg[0] == "contactFolders":
	case n == 2 && seg[0] == "contacts":
		s.contact(q, seg[1])
		return true
	case n == 4 && seg[0] == "contacts" && seg[2] == "photo" && seg[3] == "$value":
		s.contactPhoto(q, seg[1])
		return true
	case n == 1 && seg[0] == "contacts":
		// The contacts of the default Contacts folder
		// (learn.microsoft.com/graph/api/user-list-contacts).
		s.mu.Lock()
		root := q.mb.cfolders[q.mb.contactsRootID]
		s.mu.Unlock()
		s.contacts(q, root)
		return true
	default:
		return false
	}
	if n == 1 {
		s.contactFolders(q, q.mb.contactsRootID)
		return true
	}
	f := lookup(s, q, seg[1], func() *contactFolder { return q.mb.cfolders[seg[1]] })
	if f == nil {
		return true
	}
	switch {
	case n == 2 && m == http.MethodGet:
		s.getSelected(q, contactReadRoles, contactFolderDef, func(sel []string) map[string]any { return contactFolderJSON(f, sel) })
	case n == 2 && m == http.MethodDelete:
		// learn.microsoft.com/graph/api/contactfolder-delete: any folder
		// but the default one, with what it holds.
		if !s.need(q, contactWriteRoles) {
			return true
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if f.id == q.mb.contactsRootID {
			graphError(q.w, http.StatusBadRequest, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
			return true
		}
		s.deleteContactFolderLocked(q.mb, f)
		q.w.WriteHeader(http.StatusNoContent)
	case n == 3 && seg[2] == "childFolders":
		s.contactFolders(q, f.id)
	case n == 3 && seg[2] == "contacts":
		s.contacts(q, f)
	case n == 4 && seg[2] == "contacts" && isDelta(seg[3]) && m == http.MethodGet:
		s.contactDelta(q, f)
	default:
		graphError(q.w, http.StatusBadRequest, "BadRequest", "Unsupported segment or method.")
	}
	return true
}

// Contacts.Read(Write) are the contacts permissions
// (learn.microsoft.com/graph/permissions-reference#contactsread).
var (
	contactReadRoles  = []string{"Contacts.Read", "Contacts.ReadWrite"}
	contactWriteRoles = []string{"Contacts.ReadWrite"}
)

// contactFolders lists or creates the child folders of a contact folder;
// /contactFolders itself lists those of the default Contacts folder.
func (s *Server) contactFolders(q *req, parentID string) {
	switch q.method() {
	case http.MethodGet:
		collection[*contactFolder]{roles: contactReadRoles, opts: optSelect | optFilter | optTop | optSkip | optCount | optFormat, schema: contactFolderSchema,
			view: func(o *queryOptions) (func(*contactFolder) map[string]any, *queryError) {
				return func(f *contactFolder) map[string]any { return contactFolderJSON(f, o.sel) }, contactFolderDef.checkSelect(o.sel)
			},
			members: func(*queryOptions) []*contactFolder { return inOrder(q.mb.cfolders[parentID].children, q.mb.cfolders) },
		}.list(s, q)
	case http.MethodPost:
		if !s.need(q, contactWriteRoles) {
			return
		}
		var in struct {
			DisplayName string `json:"displayName"`
		}
		if !decodeStrict(q.w, q.body, "microsoft.graph.contactFolder", []string{"displayName", "singleValueExtendedProperties", "multiValueExtendedProperties"}, &in) {
			return
		}
		if strings.TrimSpace(in.DisplayName) == "" {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "The folder display name is missing.")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		parent := q.mb.cfolders[parentID]
		if nameInUse(q, in.DisplayName, inOrder(parent.children, q.mb.cfolders), func(f *contactFolder) string { return f.name }) {
			return
		}
		f := &contactFolder{id: s.nextID("AAMkCF"), parentID: parentID, name: in.DisplayName}
		q.mb.cfolders[f.id] = f
		parent.children = append(parent.children, f.id)
		writeJSON(q.w, http.StatusCreated, contactFolderJSON(f, nil))
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

// contacts lists or creates the contacts of a folder.
func (s *Server) contacts(q *req, f *contactFolder) {
	switch q.method() {
	case http.MethodGet:
		collection[*Contact]{roles: contactReadRoles, opts: listOpts, schema: contactSchema, ordered: true,
			view: func(o *queryOptions) (func(*Contact) map[string]any, *queryError) {
				v, qe := contactViewOf(o)
				return func(c *Contact) map[string]any { return contactJSON(c, v) }, qe
			},
			members: func(*queryOptions) []*Contact { return q.mb.folderContacts(f.id) },
		}.list(s, q)
	case http.MethodPost:
		if !s.need(q, contactWriteRoles) {
			return
		}
		props, ext, code, msg := parseContact(q.body)
		if code != "" {
			graphError(q.w, http.StatusBadRequest, code, msg)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		now := time.Now().UTC()
		c := &Contact{ID: s.nextID("AAMkC"), FolderID: f.id, Props: props, ExtendedProperties: ext, Created: now}
		s.touchContact(c)
		c.Modified = now
		q.mb.contacts[c.ID] = c
		writeJSON(q.w, http.StatusCreated, contactJSON(c, nil))
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

// contact serves GET and DELETE of /contacts/{id}.
func (s *Server) contact(q *req, id string) {
	c := lookup(s, q, id, func() *Contact { return q.mb.contacts[id] })
	if c == nil {
		return
	}
	switch q.method() {
	case http.MethodGet:
		s.getOne(q, contactReadRoles, entityOpts, func(o *queryOptions) (func() map[string]any, *queryError) {
			v, qe := contactViewOf(o)
			return func() map[string]any { return contactJSON(c, v) }, qe
		})
	case http.MethodPatch:
		// learn.microsoft.com/graph/api/contact-update
		if !s.need(q, contactWriteRoles) {
			return
		}
		props, ext, code, msg := parseContact(q.body)
		if code != "" {
			graphError(q.w, http.StatusBadRequest, code, msg)
			return
		}
		var raw map[string]json.RawMessage
		_ = json.Unmarshal(q.body, &raw)
		s.mu.Lock()
		defer s.mu.Unlock()
		for k, v := range raw {
			if string(v) == "null" {
				delete(c.Props, k) // null clears a property
			}
		}
		maps.Copy(c.Props, props)
		maps.Copy(c.ExtendedProperties, ext)
		s.touchContact(c)
		writeJSON(q.w, http.StatusOK, contactJSON(c, nil))
	case http.MethodDelete:
		if !s.need(q, contactWriteRoles) {
			return
		}
		s.mu.Lock()
		removeLocked(s, q.mb.contacts, q.mb.cremoved, c.FolderID, id)
		s.mu.Unlock()
		q.w.WriteHeader(http.StatusNoContent)
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

func (s *Server) touchContact(c *Contact) {
	ensureSearchKey(&c.SearchKey)
	s.seq++
	c.seq = s.seq
	c.changeKey++
	c.Modified = time.Now().UTC()
}

// contactDelta pages the changes of a contact folder as messageDelta does:
// every contact on the first round, then changed ones and @removed
// entries. It takes $select and $top, not $expand: delta expands only
// users' manager and groups' members
// (learn.microsoft.com/graph/api/contact-delta,
// learn.microsoft.com/graph/delta-query-overview#optional-query-parameters).
func (s *Server) contactDelta(q *req, f *contactFolder) {
	var v *contactView
	o, ok := s.readQuery(q, contactReadRoles, optSelect|optTop|optSkiptoken|optDeltatoken, func(o *queryOptions) (qe *queryError) { v, qe = contactViewOf(o); return qe })
	if !ok {
		return
	}
	tok := deltaToken{Folder: f.id, Select: strings.Join(o.sel, ",")}
	if len(o.expand) > 0 {
		vals, _ := url.ParseQuery(q.r.URL.RawQuery)
		for k, vs := range vals {
			if strings.EqualFold(strings.TrimPrefix(k, "$"), "expand") {
				tok.Expand = vs[0]
			}
		}
	}
	if o.has(optTop) {
		tok.Top = o.top
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tok.Gen = s.deltaGen
	raw, isDeltaTok := o.roundToken()
	if !s.resumeDelta(q, &tok, raw, isDeltaTok, "ErrorInvalidUrlQuery") {
		return
	}
	if raw != "" {
		// A later round renders as the token's $select and $expand say.
		vo := &queryOptions{}
		vo.sel, _ = splitSelect(tok.Select)
		if tok.Expand != "" {
			vo.expand, _ = parseExpand(tok.Expand)
		}
		var qe *queryError
		if v, qe = contactViewOf(vo); qe != nil {
			v = &contactView{}
		}
	}
	seqDelta(s, q, tok, q.mb.folderContacts(f.id), func(c *Contact) int64 { return c.seq }, q.mb.cremoved[f.id], "#microsoft.graph.contact",
		func(c *Contact) map[string]any { return contactJSON(c, v) })
}

// ContactsFolderID is the id of the mailbox's default Contacts folder.
func (f *MailboxFixture) ContactsFolderID() string { return f.mb.contactsRootID }

// Contacts are the contacts of a contact folder, oldest first, as copies.
func (f *MailboxFixture) Contacts(folderID string) []Contact {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	var out []Contact
	for _, c := range f.mb.folderContacts(folderID) {
		cc := *c
		cc.Props = maps.Clone(c.Props)
		cc.ExtendedProperties = maps.Clone(c.ExtendedProperties)
		out = append(out, cc)
	}
	return out
}

// deleteContactFolderLocked removes a contact folder, its contacts and
// its child folders.
func (s *Server) deleteContactFolderLocked(mb *mbox, f *contactFolder) {
	for _, c := range slices.Clone(f.children) {
		if cf := mb.cfolders[c]; cf != nil {
			s.deleteContactFolderLocked(mb, cf)
		}
	}
	for id, c := range mb.contacts {
		if c.FolderID == f.id {
			delete(mb.contacts, id)
		}
	}
	if p := mb.cfolders[f.parentID]; p != nil {
		p.children = slices.DeleteFunc(p.children, func(id string) bool { return id == f.id })
	}
	delete(mb.cfolders, f.id)
	delete(mb.cremoved, f.id)
}

// maxContactPhotoBytes bounds a contact photo as Exchange does (4 MB, the
// request limit, learn.microsoft.com/graph/api/profilephoto-update).
const maxContactPhotoBytes = 4 << 20

// contactPhoto serves /contacts/{id}/photo/$value: GET returns the
// picture or 404 ErrorItemNotFound when the contact has none, PUT sets
// it (an image/jpeg or image/png body).
func (s *Server) contactPhoto(q *req, id string) {
	c := lookup(s, q, id, func() *Contact { return q.mb.contacts[id] })
	if c == nil {
		return
	}
	switch q.method() {
	case http.MethodGet:
		if !s.need(q, contactReadRoles) {
			return
		}
		s.mu.Lock()
		photo, typ := slices.Clone(c.Photo), c.PhotoType
		s.mu.Unlock()
		if photo == nil {
			graphError(q.w, http.StatusNotFound, "ErrorItemNotFound", "The photo wasn't found.")
			return
		}
		q.w.Header().Set("Content-Type", typ)
		q.w.WriteHeader(http.StatusOK)
		_, _ = q.w.Write(photo)
	case http.MethodPut:
		if !s.need(q, contactWriteRoles) {
			return
		}
		typ := strings.ToLower(strings.TrimSpace(strings.Split(q.r.Header.Get("Content-Type"), ";")[0]))
		if typ != "image/jpeg" && typ != "image/png" && typ != "image/gif" && typ != "image/bmp" {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "The photo's Content-Type must be an image type.")
			return
		}
		if len(q.body) == 0 || len(q.body) > maxContactPhotoBytes {
			graphError(q.w, http.StatusBadRequest, "ErrorInvalidRequest", "The photo is empty or too large.")
			return
		}
		s.mu.Lock()
		c.Photo, c.PhotoType = slices.Clone(q.body), typ
		s.touchContact(c)
		s.mu.Unlock()
		q.w.WriteHeader(http.StatusOK)
	default:
		graphError(q.w, http.StatusMethodNotAllowed, "BadRequest", "Method not allowed.")
	}
}

// AddContact stores a contact as the user made it in a contact folder
// ("" is the default Contacts folder) and returns its id.
func (f *MailboxFixture) AddContact(folderID string, c mailbox.Contact) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if folderID == "" {
		folderID = f.mb.contactsRootID
	}
	if f.mb.cfolders[folderID] == nil {
		panic("graphtest: AddContact into unknown contact folder " + folderID)
	}
	now := time.Now().UTC()
	sc := &Contact{ID: f.s.nextID("AAMkC"), FolderID: folderID, Props: contactProps(c), ExtendedProperties: map[string]string{}, Created: now}
	if len(c.Photo) > 0 {
		sc.Photo, sc.PhotoType = slices.Clone(c.Photo), "image/jpeg"
	}
	f.s.touchContact(sc)
	f.mb.contacts[sc.ID] = sc
	return sc.ID
}

// UpdateContact changes a stored contact as its owner would: change gets
// the contact as the model holds it; false when there is none of that id.
func (f *MailboxFixture) UpdateContact(id string, change func(*mailbox.Contact)) bool {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	sc := f.mb.contacts[id]
	if sc == nil {
		return false
	}
	c := contactModel(sc)
	change(&c)
	sc.Props = contactProps(c)
	sc.Photo, sc.PhotoType = nil, ""
	if len(c.Photo) > 0 {
		sc.Photo, sc.PhotoType = slices.Clone(c.Photo), "image/jpeg"
	}
	f.s.touchContact(sc)
	return true
}

// contactProps are a model contact's properties as Graph's JSON names
// them (what parseContact stores).
func contactProps(c mailbox.Contact) map[string]any {
	c.Photo = nil
	b, _ := json.Marshal(c)
	var props map[string]any
	_ = json.Unmarshal(b, &props)
	if c.Birthday != "" {
		props["birthday"] = c.Birthday + "T00:00:00Z"
	}
	return props
}

// contactModel is the stored contact as the model holds it.
func contactModel(sc *Contact) mailbox.Contact {
	props := maps.Clone(sc.Props)
	if b, ok := props["birthday"].(string); ok && len(b) >= 10 {
		props["birthday"] = b[:10]
	}
	b, _ := json.Marshal(props)
	var c mailbox.Contact
	_ = json.Unmarshal(b, &c)
	c.Photo = slices.Clone(sc.Photo)
	return c
}
