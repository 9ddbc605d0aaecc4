package ewstest

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// StoredEvent is the fake's own view of a calendar item it holds as
// properties: for tests that compare a copy item by item with the store
// rather than with what a client reads back.
type StoredEvent struct {
	ID       string
	SourceID string // the exmigrate stamp, "" when none
	Event    mailbox.Event
}

// StoredTask is the fake's own view of a task it holds as properties.
type StoredTask struct {
	ID       string
	SourceID string
	Task     mailbox.Task
}

// StoredContactGroup is the fake's own view of a contact group.
type StoredContactGroup struct {
	ID       string
	SourceID string
	Group    mailbox.ContactGroup
}

// addTyped stores a typed item as a CreateItem from its properties would,
// without sending anything.
func (f *FolderFixture) addTyped(class, subject string, set func(*item)) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	now := f.s.now()
	it := f.s.addItem(f.f, Item{Class: class, Subject: subject, Received: now})
	set(it)
	it.syncTyped()
	// The item's size, as the folder's and the assessment's totals count
	// it: about what its properties take.
	if b, err := json.Marshal([]any{it.event, it.task, it.group}); err == nil {
		it.size = int64(len(b))
		if f.f.mb != nil {
			f.f.mb.used += it.size
		}
	}
	it.ext["0x3007"], it.ext["0x3008"] = xsTime(now), xsTime(now)
	return it.id
}

// AddEvent stores a calendar item as if the mailbox's user made it: its
// organizer, attendees and their responses as given, no mail sent. A
// meeting without an organizer gets the mailbox as organizer.
func (f *FolderFixture) AddEvent(ev mailbox.Event) string {
	e := cloneEvent(&ev)
	if e.UID == "" {
		_ = finishEvent(e, nil)
	}
	if len(e.Attendees) > 0 {
		e.IsMeeting = true
		if e.Organizer == nil && f.f.mb != nil {
			e.Organizer = &mailbox.Attendee{Name: f.f.mb.display, Address: f.f.mb.address}
			if e.MyResponse == "" {
				e.MyResponse = "Organizer"
			}
		}
	}
	return f.addTyped(mailbox.ClassAppointment, e.Subject, func(it *item) { it.event = e })
}

// AddTask stores a task as if the mailbox's user made it.
func (f *FolderFixture) AddTask(t mailbox.Task) string {
	return f.addTyped(mailbox.ClassTask, t.Subject, func(it *item) { it.task = cloneTask(&t) })
}

// AddContactGroup stores a contact group as if the mailbox's user made it.
func (f *FolderFixture) AddContactGroup(g mailbox.ContactGroup) string {
	return f.addTyped(mailbox.ClassContactGroup, g.DisplayName, func(it *item) { it.group = cloneGroup(&g) })
}

// storedOf lists, in order, what of gives for the folder's items it
// takes (ok), under the lock.
func storedOf[T any](f *FolderFixture, of func(x *item) (v T, ok bool)) []T {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	var out []T
	for _, x := range f.f.items {
		if v, ok := of(x); ok {
			out = append(out, v)
		}
	}
	return out
}

// Events lists the folder's calendar items held as properties, in order.
func (f *FolderFixture) Events() []StoredEvent {
	return storedOf(f, func(x *item) (StoredEvent, bool) {
		if x.event == nil {
			return StoredEvent{}, false
		}
		return StoredEvent{ID: x.id, SourceID: x.ext[sourceKey], Event: *cloneEvent(x.event)}, true
	})
}

// Tasks lists the folder's tasks held as properties, in order.
func (f *FolderFixture) Tasks() []StoredTask {
	return storedOf(f, func(x *item) (StoredTask, bool) {
		if x.task == nil {
			return StoredTask{}, false
		}
		return StoredTask{ID: x.id, SourceID: x.ext[sourceKey], Task: *cloneTask(x.task)}, true
	})
}

// ContactGroups lists the folder's contact groups held as properties.
func (f *FolderFixture) ContactGroups() []StoredContactGroup {
	return storedOf(f, func(x *item) (StoredContactGroup, bool) {
		if x.group == nil {
			return StoredContactGroup{}, false
		}
		return StoredContactGroup{ID: x.id, SourceID: x.ext[sourceKey], Group: *cloneGroup(x.group)}, true
	})
}

// updateModel changes a copy of the model field names on the item id,
// under the lock, and touches the item; false when the folder holds no
// such item of that kind.
func updateModel[T any](f *FolderFixture, id string, field func(*item) **T, clone func(*T) *T, change func(*T)) bool {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	for _, x := range f.f.items {
		if p := field(x); x.id == id && *p != nil {
			c := clone(*p)
			change(c)
			*p = c
			f.touch(x)
			return true
		}
	}
	return false
}

// UpdateEvent changes a calendar item as its user would (a new version
// for sync, nothing sent); false when the folder holds no such item.
func (f *FolderFixture) UpdateEvent(id string, change func(*mailbox.Event)) bool {
	return updateModel(f, id, func(x *item) **mailbox.Event { return &x.event }, cloneEvent, change)
}

// UpdateTask changes a task as its user would.
func (f *FolderFixture) UpdateTask(id string, change func(*mailbox.Task)) bool {
	return updateModel(f, id, func(x *item) **mailbox.Task { return &x.task }, cloneTask, change)
}

func (f *FolderFixture) touch(x *item) {
	x.syncTyped()
	x.updated = f.s.nextSeq()
	x.ext = maps.Clone(x.ext)
	x.ext["0x3008"] = xsTime(f.s.now())
}

// contactDataOf is what a CreateItem t:Contact written from c holds, as
// the EWS client writes it.
func contactDataOf(c mailbox.Contact) *contactData {
	cd := &contactData{Fields: map[string]string{}, Children: slices.Clone(c.Children), Photo: slices.Clone(c.Photo)}
	for k, v := range map[string]string{"FileAs": c.FileAs, "DisplayName": c.DisplayName, "GivenName": c.GivenName, "Initials": c.Initials,
		"MiddleName": c.MiddleName, "Nickname": c.NickName, "CompanyName": c.CompanyName, "AssistantName": c.AssistantName,
		"BusinessHomePage": c.BusinessHome, "Department": c.Department, "Generation": c.Generation, "JobTitle": c.JobTitle,
		"Manager": c.Manager, "OfficeLocation": c.OfficeLocation, "Profession": c.Profession, "SpouseName": c.SpouseName, "Surname": c.Surname} {
		if v != "" {
			cd.Fields[k] = v
		}
	}
	if c.Birthday != "" {
		cd.Fields["Birthday"] = c.Birthday + "T11:59:00Z"
	}
	for i, e := range c.EmailAddresses {
		if i < len(emailKeys) {
			if cd.Emails == nil {
				cd.Emails = map[string]contactEmail{}
			}
			cd.Emails[emailKeys[i]] = contactEmail{Name: e.Name, Address: e.Address}
		}
	}
	for i, v := range c.ImAddresses {
		if i < len(imKeys) {
			setKey(&cd.IMs, imKeys[i], v)
		}
	}
	for i, v := range c.BusinessPhones {
		setKey(&cd.Phones, []string{"BusinessPhone", "BusinessPhone2"}[min(i, 1)], v)
	}
	for i, v := range c.HomePhones {
		setKey(&cd.Phones, []string{"HomePhone", "HomePhone2"}[min(i, 1)], v)
	}
	setKey(&cd.Phones, "MobilePhone", c.MobilePhone)
	for k, a := range map[string]*mailbox.PostalAddress{"Home": c.HomeAddress, "Business": c.BusinessAddr, "Other": c.OtherAddress} {
		if a == nil {
			continue
		}
		m := map[string]string{}
		setKey(&m, "Street", a.Street)
		setKey(&m, "City", a.City)
		setKey(&m, "State", a.State)
		setKey(&m, "CountryOrRegion", a.CountryOrRegion)
		setKey(&m, "PostalCode", a.PostalCode)
		if len(m) > 0 {
			if cd.Addresses == nil {
				cd.Addresses = map[string]map[string]string{}
			}
			cd.Addresses[k] = m
		}
	}
	notes := c.PersonalNotes
	cd.Notes = &notes
	return cd
}

// contactOfData is the model of a contact the fake holds.
func contactOfData(cd *contactData, it *item) mailbox.Contact {
	f := cd.Fields
	c := mailbox.Contact{FileAs: f["FileAs"], DisplayName: f["DisplayName"], GivenName: f["GivenName"], Initials: f["Initials"],
		MiddleName: f["MiddleName"], NickName: f["Nickname"], CompanyName: f["CompanyName"], AssistantName: f["AssistantName"],
		BusinessHome: f["BusinessHomePage"], Department: f["Department"], Generation: f["Generation"], JobTitle: f["JobTitle"],
		Manager: f["Manager"], OfficeLocation: f["OfficeLocation"], Profession: f["Profession"], SpouseName: f["SpouseName"],
		Surname: f["Surname"], Children: slices.Clone(cd.Children), Photo: slices.Clone(cd.Photo), Categories: slices.Clone(it.categories),
		Title: it.ext["0x3a45"], MobilePhone: cd.Phones["MobilePhone"]}
	if b := f["Birthday"]; len(b) >= 10 {
		c.Birthday = b[:10]
	}
	if cd.Notes != nil {
		c.PersonalNotes = *cd.Notes
	}
	for _, k := range emailKeys {
		if e, ok := cd.Emails[k]; ok {
			c.EmailAddresses = append(c.EmailAddresses, mailbox.ContactEmail{Name: e.Name, Address: e.Address})
		}
	}
	for _, k := range imKeys {
		if v := cd.IMs[k]; v != "" {
			c.ImAddresses = append(c.ImAddresses, v)
		}
	}
	for _, k := range []string{"BusinessPhone", "BusinessPhone2"} {
		if v := cd.Phones[k]; v != "" {
			c.BusinessPhones = append(c.BusinessPhones, v)
		}
	}
	for _, k := range []string{"HomePhone", "HomePhone2"} {
		if v := cd.Phones[k]; v != "" {
			c.HomePhones = append(c.HomePhones, v)
		}
	}
	addr := func(k string) *mailbox.PostalAddress {
		a := cd.Addresses[k]
		if len(a) == 0 {
			return nil
		}
		return &mailbox.PostalAddress{Street: a["Street"], City: a["City"], State: a["State"], CountryOrRegion: a["CountryOrRegion"], PostalCode: a["PostalCode"]}
	}
	c.HomeAddress, c.BusinessAddr, c.OtherAddress = addr("Home"), addr("Business"), addr("Other")
	return c
}

// AddContact stores a contact as if the mailbox's user made it, held as
// a CreateItem t:Contact from its properties would be (the photo as its
// contact picture).
func (f *FolderFixture) AddContact(c mailbox.Contact) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	now := f.s.now()
	subject := c.DisplayName
	it := f.s.addItem(f.f, Item{Class: mailbox.ClassContact, Subject: subject, Received: now, Categories: slices.Clone(c.Categories)})
	it.contact = contactDataOf(c)
	if c.Title != "" {
		it.ext["0x3a45"] = c.Title
	}
	it.ext["0x3007"], it.ext["0x3008"] = xsTime(now), xsTime(now)
	return it.id
}

// UpdateContact changes a contact the fake holds as properties, as its
// user would; false when the folder holds no such contact.
func (f *FolderFixture) UpdateContact(id string, change func(*mailbox.Contact)) bool {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	for _, x := range f.f.items {
		if x.id != id || x.contact == nil {
			continue
		}
		c := contactOfData(x.contact, x)
		if x.contact.Notes == nil {
			if p := f.s.propsOf(x); p.hasBody {
				c.PersonalNotes = strings.ReplaceAll(p.body, "\r\n", "\n")
			}
		}
		change(&c)
		x.contact = contactDataOf(c)
		x.categories = slices.Clone(c.Categories)
		x.subject = c.DisplayName
		if c.Title != "" {
			x.ext["0x3a45"] = c.Title
		} else {
			delete(x.ext, "0x3a45")
		}
		x.updated = f.s.nextSeq()
		x.ext["0x3008"] = xsTime(f.s.now())
		return true
	}
	return false
}
