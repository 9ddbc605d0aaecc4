package ews

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Contacts travel as mailbox.Contact (FormatTyped): GetItem with the
// contact's FieldURIs to read, CreateItem with a t:Contact to write.
// Both follow ContactItemType in types.xsd; the property paths are those
// of "People and contacts in EWS in Exchange" (learn.microsoft.com).

// contactFields are the unindexed contacts: FieldURIs the model holds, in
// ContactItemType order.
var contactFields = []string{"FileAs", "DisplayName", "GivenName", "Initials", "MiddleName", "Nickname", "CompanyName",
	"AssistantName", "Birthday", "BusinessHomePage", "Children", "Department", "Generation", "JobTitle", "Manager",
	"OfficeLocation", "Profession", "SpouseName", "Surname"}

// Dictionary keys of the model's lists (EmailAddressKeyType,
// ImAddressKeyType, PhoneNumberKeyType, PhysicalAddressKeyType).
var (
	emailKeys     = []string{"EmailAddress1", "EmailAddress2", "EmailAddress3"}
	imKeys        = []string{"ImAddress1", "ImAddress2", "ImAddress3"}
	businessKeys  = []string{"BusinessPhone", "BusinessPhone2"}
	homeKeys      = []string{"HomePhone", "HomePhone2"}
	addressKeys   = []string{"Home", "Business", "Other"}
	addressFields = []string{"Street", "City", "State", "CountryOrRegion", "PostalCode"}
)

// tagDisplayNamePrefix is PR_DISPLAY_NAME_PREFIX (PidTagDisplayNamePrefix
// of [MS-OXOCNTC]), the courtesy title. EWS has it only as
// CompleteName/Title, which is read-only, so it is written and read as an
// extended property.
const tagDisplayNamePrefix = "0x3A45"

// contactShape asks GetItem for every property of mailbox.Contact, the
// body as text (the notes).
func contactShape(parent *etree.Element) {
	is := parent.CreateElement("m:ItemShape")
	elem(is, "t:BaseShape", "IdOnly")
	elem(is, "t:BodyType", "Text")
	ap := is.CreateElement("t:AdditionalProperties")
	for _, f := range []string{"item:ItemClass", "item:Body", "item:Attachments", "item:Categories"} {
		fieldURI(ap, f)
	}
	for _, f := range contactFields {
		fieldURI(ap, "contacts:"+f)
	}
	indexed := func(uri string, keys []string) {
		for _, k := range keys {
			e := ap.CreateElement("t:IndexedFieldURI")
			e.CreateAttr("FieldURI", uri)
			e.CreateAttr("FieldIndex", k)
		}
	}
	indexed("contacts:EmailAddress", emailKeys)
	indexed("contacts:ImAddress", imKeys)
	indexed("contacts:PhoneNumber", append(append(append([]string{}, businessKeys...), homeKeys...), "MobilePhone"))
	for _, f := range addressFields {
		indexed("contacts:PhysicalAddress:"+f, addressKeys)
	}
	extTag(ap, tagDisplayNamePrefix, "String")
	fieldURI(ap, "contacts:HasPicture")
}

type dictEntryXML struct {
	Key   string `xml:"Key,attr"`
	Name  string `xml:"Name,attr"`
	Value string `xml:",chardata"`
}

type addressEntryXML struct {
	Key             string `xml:"Key,attr"`
	Street          string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Street"`
	City            string `xml:"http://schemas.microsoft.com/exchange/services/2006/types City"`
	State           string `xml:"http://schemas.microsoft.com/exchange/services/2006/types State"`
	CountryOrRegion string `xml:"http://schemas.microsoft.com/exchange/services/2006/types CountryOrRegion"`
	PostalCode      string `xml:"http://schemas.microsoft.com/exchange/services/2006/types PostalCode"`
}

// contactXML is a t:Contact as GetItem answers it (or another item
// element, told apart by XMLName).
type contactXML struct {
	XMLName   xml.Name
	ItemClass string `xml:"http://schemas.microsoft.com/exchange/services/2006/types ItemClass"`
	Body      struct {
		Type string `xml:"BodyType,attr"`
		Text string `xml:",chardata"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types Body"`
	Attachments       attachList        `xml:"http://schemas.microsoft.com/exchange/services/2006/types Attachments"`
	Categories        []string          `xml:"http://schemas.microsoft.com/exchange/services/2006/types Categories>String"`
	ExtendedProperty  []extPropXML      `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedProperty"`
	FileAs            string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types FileAs"`
	DisplayName       string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types DisplayName"`
	GivenName         string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types GivenName"`
	Initials          string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types Initials"`
	MiddleName        string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types MiddleName"`
	Nickname          string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types Nickname"`
	CompleteNameTitle string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types CompleteName>Title"`
	CompanyName       string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types CompanyName"`
	EmailAddresses    []dictEntryXML    `xml:"http://schemas.microsoft.com/exchange/services/2006/types EmailAddresses>Entry"`
	PhysicalAddresses []addressEntryXML `xml:"http://schemas.microsoft.com/exchange/services/2006/types PhysicalAddresses>Entry"`
	PhoneNumbers      []dictEntryXML    `xml:"http://schemas.microsoft.com/exchange/services/2006/types PhoneNumbers>Entry"`
	AssistantName     string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types AssistantName"`
	Birthday          string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types Birthday"`
	BusinessHomePage  string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types BusinessHomePage"`
	Children          []string          `xml:"http://schemas.microsoft.com/exchange/services/2006/types Children>String"`
	Department        string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types Department"`
	Generation        string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types Generation"`
	ImAddresses       []dictEntryXML    `xml:"http://schemas.microsoft.com/exchange/services/2006/types ImAddresses>Entry"`
	JobTitle          string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types JobTitle"`
	Manager           string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types Manager"`
	OfficeLocation    string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types OfficeLocation"`
	Profession        string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types Profession"`
	SpouseName        string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types SpouseName"`
	Surname           string            `xml:"http://schemas.microsoft.com/exchange/services/2006/types Surname"`
}

// birthdayTime is the time of day a birthday is written at: near noon
// UTC, the same calendar date from UTC-11 to UTC+12, so a client showing
// it in its own zone shows the right day.
const birthdayTime = "T11:59:00Z"

// contactBirthday reads a Birthday dateTime as a date. Outlook stores
// local midnight in UTC (23:00 the day before for UTC+1), so a time from
// noon on counts for the next day.
func contactBirthday(s string) string {
	t := parseTime(s)
	if t.IsZero() {
		return ""
	}
	if t.Hour() >= 12 {
		t = t.AddDate(0, 0, 1)
	}
	return t.Format(time.DateOnly)
}

// contact maps an answered t:Contact to the model. Dictionary entries are
// taken by key, so the order Exchange answers them in does not matter.
func (x *contactXML) contact() mailbox.Contact {
	c := mailbox.Contact{
		DisplayName: x.DisplayName, GivenName: x.GivenName, MiddleName: x.MiddleName, Surname: x.Surname,
		NickName: x.Nickname, Initials: x.Initials, Title: x.CompleteNameTitle, Generation: x.Generation, FileAs: x.FileAs,
		CompanyName: x.CompanyName, Department: x.Department, JobTitle: x.JobTitle, OfficeLocation: x.OfficeLocation,
		Manager: x.Manager, AssistantName: x.AssistantName, Profession: x.Profession, BusinessHome: x.BusinessHomePage,
		Birthday: contactBirthday(x.Birthday), SpouseName: x.SpouseName, Children: x.Children,
		// Exchange keeps a text body with CRLF line ends, as its MIME has
		// them; the model's notes end lines with LF.
		PersonalNotes: strings.ReplaceAll(x.Body.Text, "\r\n", "\n"), Categories: x.Categories,
	}
	for _, p := range x.ExtendedProperty {
		if p.tag() == 0x3A45 {
			c.Title = p.Value
		}
	}
	byKey := func(list []dictEntryXML) map[string]dictEntryXML {
		m := map[string]dictEntryXML{}
		for _, e := range list {
			if e.Value = strings.TrimSpace(e.Value); e.Value != "" {
				m[e.Key] = e
			}
		}
		return m
	}
	values := func(m map[string]dictEntryXML, keys []string) []string {
		var out []string
		for _, k := range keys {
			if e, ok := m[k]; ok {
				out = append(out, e.Value)
			}
		}
		return out
	}
	emails := byKey(x.EmailAddresses)
	for _, k := range emailKeys {
		if e, ok := emails[k]; ok {
			c.EmailAddresses = append(c.EmailAddresses, mailbox.ContactEmail{Name: e.Name, Address: e.Value})
		}
	}
	c.ImAddresses = values(byKey(x.ImAddresses), imKeys)
	phones := byKey(x.PhoneNumbers)
	c.BusinessPhones, c.HomePhones = values(phones, businessKeys), values(phones, homeKeys)
	c.MobilePhone = phones["MobilePhone"].Value
	for _, a := range x.PhysicalAddresses {
		pa := &mailbox.PostalAddress{Street: a.Street, City: a.City, State: a.State, PostalCode: a.PostalCode, CountryOrRegion: a.CountryOrRegion}
		if *pa == (mailbox.PostalAddress{}) {
			continue
		}
		switch a.Key {
		case "Home":
			c.HomeAddress = pa
		case "Business":
			c.BusinessAddr = pa
		case "Other":
			c.OtherAddress = pa
		}
	}
	return c
}

// getContact reads one contact. Another kind of item answers as its own
// element (Message, CalendarItem, DistributionList ...): that is
// ErrUnsupported, permanent: the typed readers of the other kinds are in
// calendar.go, task.go and group.go.
func (c *Client) getContact(ctx context.Context, mbx, itemID string) (mailbox.Contact, error) {
	items, err := getItems[contactXML](ctx, c, mbx, []string{itemID}, contactShape)
	if err != nil {
		return mailbox.Contact{}, err
	}
	return c.finishContact(ctx, mbx, itemID, &items[0])
}

// finishContact makes a contact of GetItem's answer, reading its photo.
func (c *Client) finishContact(ctx context.Context, mbx, itemID string, x *contactXML) (mailbox.Contact, error) {
	if err := readAs(itemID, x.XMLName, "Contact", "contact"); err != nil {
		return mailbox.Contact{}, err
	}
	ct := x.contact()
	for _, a := range x.Attachments.Items {
		if !a.IsContactPhoto || a.XMLName.Local != "FileAttachment" {
			continue
		}
		if a.Size > mailbox.MaxTypedAttachmentBytes {
			// The model holds photos up to that size; a larger one is
			// left out (rare: Outlook scales contact pictures down).
			break
		}
		got, err := c.getAttachments(ctx, mbx, []string{a.AttachmentID.ID})
		if err != nil {
			return mailbox.Contact{}, err
		}
		data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(got[0].Content), ""))
		if err != nil {
			return mailbox.Contact{}, &MalformedError{Operation: "GetAttachment", Status: 200, Reason: "contact photo is not base64: " + err.Error(), Err: err}
		}
		if len(data) <= mailbox.MaxTypedAttachmentBytes {
			ct.Photo = data
		}
		break
	}
	return ct, nil
}

// setContactPhoto attaches a contact's picture with CreateAttachment
// (IsContactPhoto true), as the EWS Managed API's SetContactPicture does
// after the contact exists.
func (c *Client) setContactPhoto(ctx context.Context, mbx, itemID string, photo []byte) error {
	r := c.newRequest(mbx)
	ca := r.body.CreateElement("m:CreateAttachment")
	ca.CreateElement("m:ParentItemId").CreateAttr("Id", itemID)
	fa := ca.CreateElement("m:Attachments").CreateElement("t:FileAttachment")
	elem(fa, "t:Name", "ContactPicture.jpg")
	elem(fa, "t:ContentType", photoType(photo))
	elem(fa, "t:IsContactPhoto", "true")
	elem(fa, "t:Content", base64.StdEncoding.EncodeToString(photo))
	_, err := callOp[idOnlyXML](ctx, c, mbx, "CreateAttachment", r, false, 1)
	return err
}

// photoType is a picture's content type by its first bytes.
func photoType(b []byte) string {
	if bytes.HasPrefix(b, []byte("\x89PNG")) {
		return "image/png"
	}
	return "image/jpeg"
}

// contactItem writes c as a t:Contact under parent in ContactItemType
// order: the ItemType elements first (ItemClass, Subject, Body,
// Categories, Importance, ExtendedProperty), then the contact's own.
// Contacts have no MessageDisposition, delivery or submit time and no
// read state worth keeping, so of the mail path's MAPI properties only
// the follow-up flag (PR_FLAG_STATUS) and the stamp are written.
func contactItem(parent *etree.Element, c mailbox.Contact, it mailbox.Item, sourceID string) {
	ct := parent.CreateElement("t:Contact")
	if mailbox.KindOf(it.Class) == mailbox.KindContacts && it.Class != "" {
		elem(ct, "t:ItemClass", it.Class)
	}
	subject := it.Subject
	if subject == "" {
		subject = c.DisplayName
	}
	if subject != "" {
		elem(ct, "t:Subject", subject)
	}
	if c.PersonalNotes != "" {
		elem(ct, "t:Body", c.PersonalNotes).CreateAttr("BodyType", "Text")
	}
	cats := c.Categories
	if len(cats) == 0 {
		cats = it.Categories
	}
	if len(cats) > 0 {
		e := ct.CreateElement("t:Categories")
		for _, s := range cats {
			elem(e, "t:String", s)
		}
	}
	switch it.Importance {
	case mailbox.ImportanceLow, mailbox.ImportanceNormal, mailbox.ImportanceHigh:
		elem(ct, "t:Importance", string(it.Importance))
	}
	ext := func(uri func(*etree.Element) *etree.Element, val string) {
		ep := ct.CreateElement("t:ExtendedProperty")
		uri(ep)
		elem(ep, "t:Value", val)
	}
	tag := func(t, typ string) func(*etree.Element) *etree.Element {
		return func(p *etree.Element) *etree.Element { return extTag(p, t, typ) }
	}
	switch it.Flag {
	case mailbox.Flagged:
		ext(tag("0x1090", "Integer"), "2")
	case mailbox.Complete:
		ext(tag("0x1090", "Integer"), "1")
	}
	if c.Title != "" {
		ext(tag(tagDisplayNamePrefix, "String"), c.Title)
	}
	if sourceID != "" {
		ext(sourceIDURI, sourceID)
	}
	leaf := func(name, v string) {
		if v != "" {
			elem(ct, "t:"+name, v)
		}
	}
	leaf("FileAs", c.FileAs)
	leaf("DisplayName", c.DisplayName)
	leaf("GivenName", c.GivenName)
	leaf("Initials", c.Initials)
	leaf("MiddleName", c.MiddleName)
	leaf("Nickname", c.NickName)
	leaf("CompanyName", c.CompanyName)
	if len(c.EmailAddresses) > 0 {
		d := ct.CreateElement("t:EmailAddresses")
		for i, e := range c.EmailAddresses {
			en := elem(d, "t:Entry", e.Address)
			en.CreateAttr("Key", emailKeys[i])
			if e.Name != "" {
				en.CreateAttr("Name", e.Name)
			}
		}
	}
	var addrs []*etree.Element
	for i, a := range []*mailbox.PostalAddress{c.HomeAddress, c.BusinessAddr, c.OtherAddress} {
		if a == nil || *a == (mailbox.PostalAddress{}) {
			continue
		}
		en := etree.NewElement("t:Entry")
		en.CreateAttr("Key", addressKeys[i])
		for j, v := range []string{a.Street, a.City, a.State, a.CountryOrRegion, a.PostalCode} {
			if v != "" {
				elem(en, "t:"+addressFields[j], v)
			}
		}
		addrs = append(addrs, en)
	}
	if len(addrs) > 0 {
		d := ct.CreateElement("t:PhysicalAddresses")
		for _, en := range addrs {
			d.AddChild(en)
		}
	}
	type phone struct{ key, number string }
	var phones []phone
	for i, p := range c.BusinessPhones {
		phones = append(phones, phone{businessKeys[i], p})
	}
	for i, p := range c.HomePhones {
		phones = append(phones, phone{homeKeys[i], p})
	}
	if c.MobilePhone != "" {
		phones = append(phones, phone{"MobilePhone", c.MobilePhone})
	}
	if len(phones) > 0 {
		d := ct.CreateElement("t:PhoneNumbers")
		for _, p := range phones {
			elem(d, "t:Entry", p.number).CreateAttr("Key", p.key)
		}
	}
	leaf("AssistantName", c.AssistantName)
	if c.Birthday != "" {
		leaf("Birthday", c.Birthday+birthdayTime)
	}
	leaf("BusinessHomePage", c.BusinessHome)
	if len(c.Children) > 0 {
		d := ct.CreateElement("t:Children")
		for _, s := range c.Children {
			elem(d, "t:String", s)
		}
	}
	leaf("Department", c.Department)
	leaf("Generation", c.Generation)
	if len(c.ImAddresses) > 0 {
		d := ct.CreateElement("t:ImAddresses")
		for i, s := range c.ImAddresses {
			elem(d, "t:Entry", s).CreateAttr("Key", imKeys[i])
		}
	}
	leaf("JobTitle", c.JobTitle)
	leaf("Manager", c.Manager)
	leaf("OfficeLocation", c.OfficeLocation)
	leaf("Profession", c.Profession)
	leaf("SpouseName", c.SpouseName)
	leaf("Surname", c.Surname)
}

// createContact writes one contact with CreateItem. MessageDisposition is
// left out: responsecode.md requires it (ErrorMessageDispositionRequired)
// only "when the item being created or updated is a Message", and a
// contact is never sent.
func (c *Client) createContact(ctx context.Context, mbx, folderID string, ct mailbox.Contact, it mailbox.Item, sourceID string) (string, error) {
	if err := ct.Validate(); err != nil {
		return "", mailbox.Permanent(err)
	}
	return c.createTyped(ctx, mbx, folderID, false, func(items *etree.Element) { contactItem(items, ct, it, sourceID) })
}

// OpenContact reads a contact's typed properties as EncodeContact's JSON.
func (m *Mailbox) OpenContact(ctx context.Context, itemID string) (io.ReadCloser, error) {
	return openEncoded(ctx, m, itemID, "contact", m.c.getContact, mailbox.EncodeContact)
}

// CreateContact writes a typed contact payload.
func (m *Mailbox) CreateContact(ctx context.Context, folderID string, p mailbox.Payload) (string, error) {
	ct, err := mailbox.DecodeContact(p.Body)
	if err != nil {
		return "", mailbox.Permanent(fmt.Errorf("create contact %s in %s: %w", p.SourceID, m.address, err))
	}
	id, err := m.c.createContact(ctx, m.address, folderID, ct, p.Item, p.SourceID)
	if err != nil {
		return "", fmt.Errorf("create contact %s in %s: %w", p.SourceID, m.address, err)
	}
	if len(ct.Photo) > 0 {
		// The contact is complete without its picture: a picture that
		// cannot be attached is a loss, not a failed copy.
		if err := m.c.setContactPhoto(ctx, m.address, id, ct.Photo); err != nil {
			mailbox.ReportLoss(ctx, mailbox.Loss{Code: mailbox.LossContactPhoto, What: fmt.Sprintf("the photo of contact %q: %v", ct.DisplayName, err)})
		}
	}
	return id, nil
}
