package graphmail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Contacts live apart from mail in Graph: /contactFolders (the folders
// under the default Contacts folder), /contactFolders/{id}/childFolders,
// /contactFolders/{id}/contacts and its delta, /contacts/{id}
// (learn.microsoft.com/graph/api/resources/contact,
// learn.microsoft.com/graph/api/resources/contactfolder,
// learn.microsoft.com/graph/api/contact-delta). The adapter remembers which
// folder ids are contact folders (Folders and CreateFolder learn them), so
// that Items, Changes, FindBySourceID and CreateItem take the contact API
// for them and the mail API for every other id.

// graphContact is the wire shape of a Graph contact: the properties
// mailbox.Contact carries, which share Graph's names, except birthday, an
// Edm.DateTimeOffset in Graph and a date in the model.
type graphContact struct {
	ID             string                 `json:"id,omitempty"`
	ParentFolderID string                 `json:"parentFolderId,omitempty"`
	DisplayName    string                 `json:"displayName,omitempty"`
	GivenName      string                 `json:"givenName,omitempty"`
	MiddleName     string                 `json:"middleName,omitempty"`
	Surname        string                 `json:"surname,omitempty"`
	NickName       string                 `json:"nickName,omitempty"`
	Initials       string                 `json:"initials,omitempty"`
	Title          string                 `json:"title,omitempty"`
	Generation     string                 `json:"generation,omitempty"`
	FileAs         string                 `json:"fileAs,omitempty"`
	CompanyName    string                 `json:"companyName,omitempty"`
	Department     string                 `json:"department,omitempty"`
	JobTitle       string                 `json:"jobTitle,omitempty"`
	OfficeLocation string                 `json:"officeLocation,omitempty"`
	Manager        string                 `json:"manager,omitempty"`
	AssistantName  string                 `json:"assistantName,omitempty"`
	Profession     string                 `json:"profession,omitempty"`
	EmailAddresses []mailbox.ContactEmail `json:"emailAddresses,omitempty"`
	ImAddresses    []string               `json:"imAddresses,omitempty"`
	BusinessPhones []string               `json:"businessPhones,omitempty"`
	HomePhones     []string               `json:"homePhones,omitempty"`
	MobilePhone    string                 `json:"mobilePhone,omitempty"`
	BusinessHome   string                 `json:"businessHomePage,omitempty"`
	HomeAddress    *mailbox.PostalAddress `json:"homeAddress,omitempty"`
	BusinessAddr   *mailbox.PostalAddress `json:"businessAddress,omitempty"`
	OtherAddress   *mailbox.PostalAddress `json:"otherAddress,omitempty"`
	Birthday       string                 `json:"birthday,omitempty"`
	SpouseName     string                 `json:"spouseName,omitempty"`
	Children       []string               `json:"children,omitempty"`
	PersonalNotes  string                 `json:"personalNotes,omitempty"`
	Categories     []string               `json:"categories,omitempty"`
	// Only in answers.
	ChangeKey                     string             `json:"changeKey,omitempty"`
	CreatedDateTime               *time.Time         `json:"createdDateTime,omitempty"`
	LastModifiedDateTime          *time.Time         `json:"lastModifiedDateTime,omitempty"`
	Removed                       any                `json:"@removed,omitempty"`
	SingleValueExtendedProperties []extendedProperty `json:"singleValueExtendedProperties,omitempty"`
}

type extendedProperty struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// stampIn is the source id stamp among an item's extended properties, ""
// when it has none.
func stampIn(ps []extendedProperty) string {
	stamp := ""
	for _, p := range ps {
		if strings.EqualFold(p.ID, sourceIDProp) {
			stamp = p.Value
		}
	}
	return stamp
}

// contactToGraph is the create body of a contact stamped with src ("" for
// none). A birthday goes as midnight UTC: Graph keeps a date there.
func contactToGraph(c mailbox.Contact, src string) graphContact {
	g := graphContact{
		DisplayName: c.DisplayName, GivenName: c.GivenName, MiddleName: c.MiddleName, Surname: c.Surname, NickName: c.NickName,
		Initials: c.Initials, Title: c.Title, Generation: c.Generation, FileAs: c.FileAs, CompanyName: c.CompanyName,
		Department: c.Department, JobTitle: c.JobTitle, OfficeLocation: c.OfficeLocation, Manager: c.Manager,
		AssistantName: c.AssistantName, Profession: c.Profession, EmailAddresses: c.EmailAddresses, ImAddresses: c.ImAddresses,
		BusinessPhones: c.BusinessPhones, HomePhones: c.HomePhones, MobilePhone: c.MobilePhone, BusinessHome: c.BusinessHome,
		HomeAddress: c.HomeAddress, BusinessAddr: c.BusinessAddr, OtherAddress: c.OtherAddress, SpouseName: c.SpouseName,
		Children: c.Children, PersonalNotes: c.PersonalNotes, Categories: c.Categories,
	}
	if c.Birthday != "" {
		g.Birthday = c.Birthday + "T00:00:00Z"
	}
	if src != "" {
		g.SingleValueExtendedProperties = []extendedProperty{{ID: sourceIDProp, Value: src}}
	}
	return g
}

// contactFromGraph maps a Graph contact to the model. Graph answers an
// address it holds nothing of as {} or with empty members, and a list as
// []: both are "none" in the model.
func contactFromGraph(g graphContact) (mailbox.Contact, error) {
	c := mailbox.Contact{
		DisplayName: g.DisplayName, GivenName: g.GivenName, MiddleName: g.MiddleName, Surname: g.Surname, NickName: g.NickName,
		Initials: g.Initials, Title: g.Title, Generation: g.Generation, FileAs: g.FileAs, CompanyName: g.CompanyName,
		Department: g.Department, JobTitle: g.JobTitle, OfficeLocation: g.OfficeLocation, Manager: g.Manager,
		AssistantName: g.AssistantName, Profession: g.Profession, EmailAddresses: g.EmailAddresses, ImAddresses: g.ImAddresses,
		BusinessPhones: g.BusinessPhones, HomePhones: g.HomePhones, MobilePhone: g.MobilePhone, BusinessHome: g.BusinessHome,
		HomeAddress: nonEmptyAddress(g.HomeAddress), BusinessAddr: nonEmptyAddress(g.BusinessAddr), OtherAddress: nonEmptyAddress(g.OtherAddress),
		SpouseName: g.SpouseName, Children: g.Children, PersonalNotes: g.PersonalNotes, Categories: g.Categories,
	}
	if g.Birthday != "" {
		d, err := parseBirthday(g.Birthday)
		if err != nil {
			return mailbox.Contact{}, err
		}
		c.Birthday = d
	}
	for _, l := range []*[]string{&c.ImAddresses, &c.BusinessPhones, &c.HomePhones, &c.Children, &c.Categories} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(c.EmailAddresses) == 0 {
		c.EmailAddresses = nil
	}
	return c, nil
}

func nonEmptyAddress(a *mailbox.PostalAddress) *mailbox.PostalAddress {
	if a == nil || *a == (mailbox.PostalAddress{}) {
		return nil
	}
	return a
}

// parseBirthday reads Graph's birthday (an Edm.DateTimeOffset such as
// 1984-02-29T00:00:00Z; Outlook stores the date at midnight, in UTC or
// with an offset) as the date it names. A time other than midnight keeps
// its date as written: the day is what the user entered.
func parseBirthday(s string) (string, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if d, derr := time.Parse(time.DateOnly, s); derr == nil {
			return d.Format(time.DateOnly), nil
		}
		return "", fmt.Errorf("graph: contact birthday %q is not a DateTimeOffset: %w", s, mailbox.ErrBadTyped)
	}
	return t.Format(time.DateOnly), nil
}

func (m *Mailbox) isContactFolder(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.contactFolders[id]
}

type contactFolderJSON struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	ParentFolderID string `json:"parentFolderId"`
}

// page is one page of a Graph collection.
type page[T any] struct {
	Value []T    `json:"value"`
	Next  string `json:"@odata.nextLink"`
	Delta string `json:"@odata.deltaLink"`
}

// getPage GETs one page of a collection, up to 64 MB of it.
func getPage[T any](ctx context.Context, m *Mailbox, op, u string, h http.Header) (page[T], error) {
	var p page[T]
	resp, err := m.c.do(ctx, op, http.MethodGet, u, nil, -1, h)
	if err != nil {
		return p, err
	}
	err = decodeAnswer(resp, 64<<20, &p)
	resp.Body.Close()
	if err != nil {
		return p, wrapErr(op, err)
	}
	return p, nil
}

// preferPageSize asks Graph for pages of pageSize.
func preferPageSize() http.Header {
	return http.Header{"Prefer": {fmt.Sprintf("odata.maxpagesize=%d", pageSize)}}
}

// listPaged GETs a Graph collection and its @odata.nextLink pages, decoding
// each element into a fresh T.
// prefer are further Prefer preferences, sent with every page.
func listPaged[T any](ctx context.Context, m *Mailbox, op, rawURL string, fn func(T) error, prefer ...string) error {
	h := http.Header{"Prefer": append([]string{fmt.Sprintf("odata.maxpagesize=%d", pageSize)}, prefer...)}
	for rawURL != "" {
		page, err := getPage[T](ctx, m, op, rawURL, h)
		if err != nil {
			return err
		}
		for _, v := range page.Value {
			if err := fn(v); err != nil {
				return err
			}
		}
		rawURL = page.Next
	}
	return nil
}

// deltaRound is one round of an item delta whose state is the whole
// nextLink or deltaLink (contacts, To Do tasks): first is the link of a
// first round, change gives each entry's Change.
func deltaRound[T any](ctx context.Context, m *Mailbox, op, state, first string, change func(T) mailbox.Change) (mailbox.ChangePage, error) {
	u := state
	if u == "" {
		u = first
	} else if err := m.ownLink(op, state); err != nil {
		return mailbox.ChangePage{}, err
	}
	page, err := getPage[T](ctx, m, op, u, preferPageSize())
	if err != nil {
		return mailbox.ChangePage{}, err
	}
	out := mailbox.ChangePage{}
	for _, v := range page.Value {
		out.Changes = append(out.Changes, change(v))
	}
	if page.Next != "" {
		out.State, out.More = page.Next, true
	} else {
		out.State = page.Delta
	}
	if out.State == "" {
		return out, fmt.Errorf("graph: %s: the answer has neither a nextLink nor a deltaLink", op)
	}
	return out, nil
}

// ownLink refuses a sync state that is not a link of the configured Graph
// host, so that a stored state never sends the token elsewhere.
func (m *Mailbox) ownLink(op, state string) error {
	if !strings.HasPrefix(state, m.c.base.Scheme+"://"+m.c.base.Host+"/") {
		return fmt.Errorf("graph: %s: the sync state is not a link of the configured Graph host: %w", op, mailbox.ErrSyncStateInvalid)
	}
	return nil
}

// changeKind is how a delta entry that is not a removal changed: on a later
// round (state given), one modified more than 2 s after it was created is
// an update; Graph's delta does not say.
func changeKind(state string, created, modified *time.Time) mailbox.ChangeKind {
	if state != "" && created != nil && modified != nil && modified.Sub(*created) > 2*time.Second {
		return mailbox.ChangeUpdated
	}
	return mailbox.ChangeCreated
}

// findStamped looks an item up in the collection at path by its stamp
// (the source id extended property): its id, or false when there is none.
func (m *Mailbox) findStamped(ctx context.Context, op, path, sourceID string) (string, bool, error) {
	filter := fmt.Sprintf("singleValueExtendedProperties/Any(ep: ep/id eq '%s' and ep/value eq '%s')", odataQuote(sourceIDProp), odataQuote(sourceID))
	q := url.Values{"$filter": {filter}, "$select": {"id"}, "$top": {"1"}}
	resp, err := m.c.do(ctx, op, http.MethodGet, m.c.graphURL(path, q), nil, -1, nil)
	if err != nil {
		return "", false, err
	}
	var page struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	err = decodeAnswer(resp, 1<<20, &page)
	resp.Body.Close()
	if err != nil {
		return "", false, wrapErr(op, err)
	}
	if len(page.Value) > 0 {
		return page.Value[0].ID, true, nil
	}
	return "", false, nil
}

// contactFolderTree lists the contact folders, parents before children:
// the default Contacts folder (well-known contacts) under msgfolderroot,
// and the folders below it.
func (m *Mailbox) contactFolderTree(ctx context.Context, rootID string) ([]mailbox.Folder, error) {
	var tops []contactFolderJSON
	base := userPath(m.address) + "/contactFolders"
	err := listPaged(ctx, m, "list contact folders of "+m.address, m.c.graphURL(base, nil), func(f contactFolderJSON) error {
		tops = append(tops, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	hint := ""
	if len(tops) > 0 {
		hint = tops[0].ParentFolderID
	}
	def, err := m.defaultContacts(ctx, rootID, hint, true)
	if err != nil {
		return nil, err
	}
	out := []mailbox.Folder{def}
	parent := def
	for _, f := range tops {
		out = append(out, mailbox.Folder{ID: f.ID, ParentID: parent.ID, DisplayName: f.DisplayName, Path: mailbox.JoinPath(parent.Path, f.DisplayName), Class: mailbox.ClassContactsFolder})
	}
	for i := len(out) - len(tops); i < len(out); i++ {
		parent := out[i]
		err := listPaged(ctx, m, "list child folders of contact folder "+parent.ID+" in "+m.address,
			m.c.graphURL(base+"/"+urlPathEscape(parent.ID)+"/childFolders", nil), func(f contactFolderJSON) error {
				out = append(out, mailbox.Folder{ID: f.ID, ParentID: parent.ID, DisplayName: f.DisplayName, Path: mailbox.JoinPath(parent.Path, f.DisplayName), Class: mailbox.ClassContactsFolder})
				return nil
			})
		if err != nil {
			return nil, err
		}
		out[i].ChildCount = int64(len(out) - i - 1) // an upper bound; only zero matters
	}
	out[0].ChildCount = int64(len(tops))
	for i := range out {
		if out[i].ID == defaultContactsID {
			continue // no contact names it: it holds none
		}
		if out[i].ItemCount, err = m.contactCount(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	for _, f := range out {
		m.contactFolders[f.ID] = true
	}
	m.mu.Unlock()
	return out, nil
}

// contactCount is the number of contacts in a contact folder: a
// contactFolder has no totalItemCount, so the listing is asked for its
// @odata.count. Graph's count includes contact groups, which the listing
// leaves out (microsoft-graph-docs-contrib#4041): a folder holding groups
// counts more than Items gives, as the groups are not carried.
func (m *Mailbox) contactCount(ctx context.Context, folderID string) (int64, error) {
	return m.listingCount(ctx, "count contacts of folder "+folderID+" in "+m.address, m.contactsPath(folderID))
}

// defaultContacts finds the default Contacts folder. Graph v1.0 has no
// well-known name for it: its id is the parentFolderId of the folders
// /contactFolders lists (hint, or asked unless foldersListed) or of a
// contact /contacts lists
// (learn.microsoft.com/graph/api/user-list-contactfolders,
// user-list-contacts). In a mailbox with neither, it is the folder
// defaultContactsID stands for, named as in English.
func (m *Mailbox) defaultContacts(ctx context.Context, rootID, hint string, foldersListed bool) (mailbox.Folder, error) {
	m.mu.Lock()
	def := m.defContacts
	m.mu.Unlock()
	if def.ID != "" {
		return def, nil
	}
	id := hint
	for _, coll := range []string{"/contactFolders", "/contacts"} {
		if id != "" || (foldersListed && coll == "/contactFolders") {
			continue
		}
		u := m.c.graphURL(userPath(m.address)+coll, url.Values{"$select": {"parentFolderId"}, "$top": {"1"}})
		op := "find the default Contacts folder of " + m.address
		resp, err := m.c.do(ctx, op, http.MethodGet, u, nil, -1, nil)
		if err != nil {
			return mailbox.Folder{}, err
		}
		var page struct {
			Value []contactFolderJSON `json:"value"`
		}
		err = decodeAnswer(resp, 1<<20, &page)
		resp.Body.Close()
		if err != nil {
			return mailbox.Folder{}, wrapErr(op, err)
		}
		if len(page.Value) > 0 {
			id = page.Value[0].ParentFolderID
		}
	}
	if id == "" {
		def = mailbox.Folder{ID: defaultContactsID, ParentID: rootID, DisplayName: "Contacts", Path: mailbox.JoinPath("", "Contacts"),
			WellKnown: mailbox.ContactsFolder, Class: mailbox.ClassContactsFolder}
		m.mu.Lock()
		m.contactFolders[def.ID] = true
		m.paths[def.ID] = def.Path
		m.mu.Unlock()
		return def, nil
	}
	op := "read the default Contacts folder of " + m.address
	resp, err := m.c.do(ctx, op, http.MethodGet, m.c.graphURL(userPath(m.address)+"/contactFolders/"+urlPathEscape(id), nil), nil, -1, nil)
	if err != nil {
		return mailbox.Folder{}, err
	}
	var f contactFolderJSON
	err = decodeAnswer(resp, 1<<20, &f)
	resp.Body.Close()
	if err != nil {
		return mailbox.Folder{}, wrapErr(op, err)
	}
	def = mailbox.Folder{ID: id, ParentID: rootID, DisplayName: f.DisplayName, Path: mailbox.JoinPath("", f.DisplayName),
		WellKnown: mailbox.ContactsFolder, Class: mailbox.ClassContactsFolder}
	m.mu.Lock()
	m.defContacts = def
	m.contactFolders[id] = true
	m.paths[id] = def.Path
	m.mu.Unlock()
	return def, nil
}

// createContactFolder creates a contact folder under parentID (a contact
// folder, or "" or msgfolderroot for one under the default Contacts
// folder: Graph makes contact folders nowhere else), or returns the
// existing one of that name. The default Contacts folder's own name at the
// top is that folder.
func (m *Mailbox) createContactFolder(ctx context.Context, parentID, displayName string) (mailbox.Folder, error) {
	base := userPath(m.address) + "/contactFolders"
	parentPath := ""
	top := false
	switch {
	case parentID == "" || parentID == string(mailbox.RootFolder) || parentID == m.knownRoot() || parentID == defaultContactsID:
		top = true
		rootID, err := m.rootID(ctx)
		if err != nil {
			return mailbox.Folder{}, err
		}
		def, err := m.defaultContacts(ctx, rootID, "", false)
		if err != nil {
			return mailbox.Folder{}, err
		}
		if parentID != defaultContactsID && strings.EqualFold(def.DisplayName, displayName) {
			return def, nil
		}
		parentID, parentPath = def.ID, def.Path
	case m.isContactFolder(parentID):
		base += "/" + urlPathEscape(parentID) + "/childFolders"
		m.mu.Lock()
		parentPath = m.paths[parentID]
		m.mu.Unlock()
	default:
		return mailbox.Folder{}, mailbox.Permanent(fmt.Errorf("graph: create contact folder %q under mail folder %s in %s: %w (Graph nests contact folders only in contact folders)", displayName, parentID, m.address, mailbox.ErrUnsupported))
	}
	op := fmt.Sprintf("create contact folder %q under %s in %s", displayName, parentID, m.address)
	body, _ := json.Marshal(map[string]string{"displayName": displayName})
	resp, err := m.c.do(ctx, op, http.MethodPost, m.c.graphURL(base, nil), bytes.NewReader(body), int64(len(body)), http.Header{"Content-Type": {"application/json"}})
	var created contactFolderJSON
	if err == nil {
		err = decodeAnswer(resp, 1<<20, &created)
		resp.Body.Close()
		if err != nil {
			return mailbox.Folder{}, wrapErr(op, err)
		}
	} else {
		var ge *Error
		if !errors.As(err, &ge) || (ge.Code != "ErrorFolderExists" && ge.Status != http.StatusConflict) {
			return mailbox.Folder{}, err
		}
		// Idempotent: reuse the folder of that name.
		filter := url.Values{"$filter": {"displayName eq '" + odataQuote(displayName) + "'"}}
		found := false
		ferr := listPaged(ctx, m, op+": find the existing folder", m.c.graphURL(base, filter), func(f contactFolderJSON) error {
			if !found && strings.EqualFold(f.DisplayName, displayName) {
				created, found = f, true
			}
			return nil
		})
		if ferr != nil {
			return mailbox.Folder{}, ferr
		}
		if !found {
			return mailbox.Folder{}, fmt.Errorf("%w (and no folder of that name is listed)", err)
		}
	}
	if top && parentID == defaultContactsID && created.ParentFolderID != "" {
		// The first contact folder of a mailbox names the default one.
		rootID, _ := m.rootID(ctx)
		def, err := m.defaultContacts(ctx, rootID, created.ParentFolderID, true)
		if err != nil {
			return mailbox.Folder{}, fmt.Errorf("graph: %s: the folder exists, its parent is unknown: %w", op, err)
		}
		parentID, parentPath = def.ID, def.Path
		if strings.EqualFold(def.DisplayName, displayName) {
			// A mailbox without contact folders or contacts does not name
			// its default folder until a folder is made in it: the folder
			// just made is a second one of the default's name, which the
			// caller did not ask for. It is empty; remove it.
			m.c.log.Info("removing the contact folder made to learn the default one", "mailbox", m.address, "id", created.ID)
			u := m.c.graphURL(base+"/"+urlPathEscape(created.ID), nil)
			resp, err := m.c.do(ctx, op+": remove the extra folder", http.MethodDelete, u, nil, -1, nil)
			if err != nil {
				return mailbox.Folder{}, err
			}
			resp.Body.Close()
			return def, nil
		}
	}
	f := mailbox.Folder{ID: created.ID, ParentID: parentID, DisplayName: created.DisplayName, Class: mailbox.ClassContactsFolder,
		Path: mailbox.JoinPath(parentPath, created.DisplayName)}
	m.mu.Lock()
	m.contactFolders[f.ID] = true
	m.paths[f.ID] = f.Path
	m.mu.Unlock()
	return f, nil
}

// defaultContactsID stands for the default Contacts folder of a mailbox
// that names it nowhere yet (no contact folder, no contact): its contacts
// are /contacts, which Graph keeps in that folder
// (learn.microsoft.com/graph/api/user-post-contacts). Graph ids are base64
// of 40 bytes or more, so it is never one.
const defaultContactsID = "contacts"

// contactsPath is the contacts collection of a contact folder.
func (m *Mailbox) contactsPath(folderID string) string {
	if folderID == defaultContactsID {
		return userPath(m.address) + "/contacts"
	}
	return userPath(m.address) + "/contactFolders/" + urlPathEscape(folderID) + "/contacts"
}

func (m *Mailbox) knownRoot() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.root
}

// contactSelect is what a listing or delta asks of each contact.
var contactSelect = "id,changeKey,displayName,categories,parentFolderId,createdDateTime,lastModifiedDateTime"

func contactItem(g graphContact, folderID string) mailbox.Item {
	it := mailbox.Item{ID: g.ID, ChangeKey: g.ChangeKey, FolderID: g.ParentFolderID, Class: mailbox.ClassContact, Subject: g.DisplayName, Categories: g.Categories,
		Flag: mailbox.NotFlagged, Importance: mailbox.ImportanceNormal, IsRead: true}
	if it.FolderID == "" {
		it.FolderID = folderID
	}
	if g.CreatedDateTime != nil {
		it.Received = g.CreatedDateTime.UTC()
	}
	it.SourceID = stampIn(g.SingleValueExtendedProperties)
	return it
}

// contactItems pages through the contacts of a contact folder with their
// stamps.
func (m *Mailbox) contactItems(ctx context.Context, folderID string, fn func(mailbox.Item) error) error {
	q := url.Values{"$select": {contactSelect}, "$expand": {"singleValueExtendedProperties($filter=id eq '" + sourceIDProp + "')"}, "$top": {fmt.Sprint(pageSize)}}
	u := m.c.graphURL(m.contactsPath(folderID), q)
	return listPaged(ctx, m, "list contacts of folder "+folderID+" in "+m.address, u, func(g graphContact) error {
		m.remember(g.ID, mailbox.KindContacts, folderID)
		return fn(contactItem(g, folderID))
	})
}

// findContact looks a contact up in a contact folder by its stamp.
func (m *Mailbox) findContact(ctx context.Context, folderID, sourceID string) (string, bool, error) {
	return m.findStamped(ctx, "find source id in contact folder "+folderID+" of "+m.address, m.contactsPath(folderID), sourceID)
}

// contactChanges is one round of a contact folder's delta. Graph's delta
// takes $select but no $expand, so changes carry no stamp (Stamps lists
// them); the state is the whole nextLink or deltaLink, as for messages.
func (m *Mailbox) contactChanges(ctx context.Context, folderID, state string) (mailbox.ChangePage, error) {
	op := "contact delta of folder " + folderID + " in " + m.address
	if folderID == defaultContactsID && state == "" {
		// The default folder held nothing when listed; if it holds
		// contacts now, they name it, and its delta is read.
		def, err := m.defaultContacts(ctx, m.knownRoot(), "", false)
		if err != nil {
			return mailbox.ChangePage{}, err
		}
		if def.ID == defaultContactsID {
			return mailbox.ChangePage{}, nil
		}
		folderID = def.ID
	}
	first := m.c.graphURL(userPath(m.address)+"/contactFolders/"+urlPathEscape(folderID)+"/contacts/delta", url.Values{"$select": {contactSelect}})
	return deltaRound(ctx, m, op, state, first, func(g graphContact) mailbox.Change {
		if g.Removed != nil {
			return mailbox.Change{Kind: mailbox.ChangeDeleted, Item: mailbox.Item{ID: g.ID, FolderID: folderID, Class: mailbox.ClassContact}}
		}
		return mailbox.Change{Kind: changeKind(state, g.CreatedDateTime, g.LastModifiedDateTime), Item: contactItem(g, folderID)}
	})
}

// openContact reads a contact as the typed body.
func (m *Mailbox) openContact(ctx context.Context, itemID string) (io.ReadCloser, error) {
	op := "read contact " + itemID + " in " + m.address
	resp, err := m.c.do(ctx, op, http.MethodGet, m.c.graphURL(userPath(m.address)+"/contacts/"+urlPathEscape(itemID), nil), nil, -1, nil)
	if err != nil {
		return nil, err
	}
	var g graphContact
	err = decodeAnswer(resp, 8<<20, &g)
	resp.Body.Close()
	if err != nil {
		return nil, wrapErr(op, err)
	}
	c, err := contactFromGraph(g)
	if err == nil {
		if c.Photo, err = m.contactPhoto(ctx, itemID); err != nil {
			return nil, err
		}
		var body []byte
		if body, err = mailbox.EncodeContact(c); err == nil {
			return io.NopCloser(bytes.NewReader(body)), nil
		}
	}
	return nil, mailbox.Permanent(fmt.Errorf("graph: %s: %w", op, err))
}

// createContact writes a typed contact into a contact folder, stamped as
// messages are.
func (m *Mailbox) createContact(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	if p.Body == nil {
		return "", mailbox.Permanent(fmt.Errorf("graph: create contact in %s: %w: the payload has no body", m.address, mailbox.ErrItemRejected))
	}
	c, err := mailbox.DecodeContact(p.Body)
	if err != nil {
		return "", mailbox.Permanent(fmt.Errorf("graph: create contact %s in %s: %w", p.SourceID, m.address, err))
	}
	src := p.SourceID
	if src == "" {
		src = p.Item.SourceID
	}
	op := fmt.Sprintf("create contact %s in folder %s of %s", src, folderID, m.address)
	var created struct {
		ID string `json:"id"`
	}
	if err := m.sendJSON(ctx, op, http.MethodPost, m.c.graphURL(m.contactsPath(folderID), nil), contactToGraph(c, src), &created); err != nil {
		return "", err
	}
	if created.ID == "" {
		return "", mailbox.Permanent(fmt.Errorf("graph: %s: the answer has no contact id", op))
	}
	m.remember(created.ID, mailbox.KindContacts, folderID)
	if len(c.Photo) > 0 {
		if err := m.putContactPhoto(ctx, created.ID, c); err != nil {
			// A contact without the photo it was written with is not a
			// copy: remove it (a contact's removal sends nothing).
			u := m.c.graphURL(userPath(m.address)+"/contacts/"+urlPathEscape(created.ID), nil)
			mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: created.ID, SourceID: src, Started: true})
			derr := m.deleteReq(ctx, "delete incomplete contact "+created.ID, u)
			mailbox.ReportSideWrite(ctx, mailbox.SideWrite{Action: mailbox.SideWriteDeleteIncomplete, ItemID: created.ID, SourceID: src, Err: derr})
			return "", err
		}
	}
	return created.ID, nil
}

// photoType is the image type of a photo, "" for one Graph does not take.
func photoType(b []byte) string {
	switch t := http.DetectContentType(b); t {
	case "image/jpeg", "image/png", "image/gif", "image/bmp":
		return t
	}
	return ""
}

// putContactPhoto sets a contact's photo (PUT /contacts/{id}/photo/$value,
// learn.microsoft.com/graph/api/profilephoto-update); a picture that is
// not an image Graph takes is reported as lost, not sent.
func (m *Mailbox) putContactPhoto(ctx context.Context, id string, c mailbox.Contact) error {
	typ := photoType(c.Photo)
	if typ == "" {
		mailbox.ReportLoss(ctx, mailbox.Loss{Code: mailbox.LossContactPhoto, What: fmt.Sprintf("the photo of contact %q is not a JPEG, PNG, GIF or BMP image", c.DisplayName)})
		return nil
	}
	op := "set the photo of contact " + id + " in " + m.address
	u := m.c.graphURL(userPath(m.address)+"/contacts/"+urlPathEscape(id)+"/photo/$value", nil)
	resp, err := m.c.do(ctx, op, http.MethodPut, u, bytes.NewReader(c.Photo), int64(len(c.Photo)), http.Header{"Content-Type": {typ}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// contactPhoto reads a contact's photo; none (404) is nil. A photo larger
// than a typed body carries is left out.
func (m *Mailbox) contactPhoto(ctx context.Context, id string) ([]byte, error) {
	op := "read the photo of contact " + id + " in " + m.address
	u := m.c.graphURL(userPath(m.address)+"/contacts/"+urlPathEscape(id)+"/photo/$value", nil)
	resp, err := m.c.do(ctx, op, http.MethodGet, u, nil, -1, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, mailbox.MaxTypedAttachmentBytes+1))
	if err != nil {
		return nil, wrapErr(op, err)
	}
	if len(b) > mailbox.MaxTypedAttachmentBytes || len(b) == 0 {
		return nil, nil
	}
	return b, nil
}

// updateContact rewrites a contact in place (PATCH, contact-update) and
// its photo. Properties the new content leaves empty are cleared.
func (m *Mailbox) updateContact(ctx context.Context, itemID string, p mailbox.Payload) error {
	if p.Body == nil {
		return mailbox.Permanent(fmt.Errorf("graph: update contact %s in %s: %w: the payload has no body", itemID, m.address, mailbox.ErrItemRejected))
	}
	c, err := mailbox.DecodeContact(p.Body)
	if err != nil {
		return mailbox.Permanent(fmt.Errorf("graph: update contact %s in %s: %w", itemID, m.address, err))
	}
	g := contactToGraph(c, payloadStamp(p))
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	var patch map[string]any
	if err := json.Unmarshal(b, &patch); err != nil {
		return err
	}
	// Clear what the new content no longer holds: omitempty left it out.
	for _, k := range contactPatchable {
		if _, ok := patch[k]; !ok {
			switch k {
			case "emailAddresses", "imAddresses", "businessPhones", "homePhones", "children", "categories":
				patch[k] = []any{}
			default:
				patch[k] = nil
			}
		}
	}
	op := "update contact " + itemID + " in " + m.address
	if err := m.sendJSON(ctx, op, http.MethodPatch, m.c.graphURL(userPath(m.address)+"/contacts/"+urlPathEscape(itemID), nil), patch, nil); err != nil {
		return err
	}
	if len(c.Photo) > 0 {
		return m.putContactPhoto(ctx, itemID, c)
	}
	return nil
}

// contactPatchable are the contact properties graphmail writes.
var contactPatchable = []string{"displayName", "givenName", "middleName", "surname", "nickName", "initials", "title", "generation", "fileAs",
	"companyName", "department", "jobTitle", "officeLocation", "manager", "assistantName", "profession", "emailAddresses", "imAddresses",
	"businessPhones", "homePhones", "mobilePhone", "businessHomePage", "homeAddress", "businessAddress", "otherAddress", "birthday",
	"spouseName", "children", "personalNotes", "categories"}

// eventCount is the number of events (single instances and series
// masters) of a calendar, from the listing's @odata.count.
func (m *Mailbox) eventCount(ctx context.Context, calendarID string) (int64, error) {
	return m.listingCount(ctx, "count events of calendar "+calendarID+" in "+m.address, m.eventsPath(calendarID))
}

// listingCount is the @odata.count of the listing at path.
func (m *Mailbox) listingCount(ctx context.Context, op, path string) (int64, error) {
	var page struct {
		Count *int64 `json:"@odata.count"`
	}
	if err := m.getJSON(ctx, op, m.c.graphURL(path, url.Values{"$count": {"true"}, "$top": {"1"}, "$select": {"id"}}), &page); err != nil {
		return 0, err
	}
	if page.Count == nil {
		return 0, mailbox.Permanent(fmt.Errorf("graph: %s: the answer has no @odata.count", op))
	}
	return *page.Count, nil
}
