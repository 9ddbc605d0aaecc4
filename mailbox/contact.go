package mailbox

import (
	"fmt"
	"io"
	"time"
)

// Contact is what FormatTyped carries for an item of KindContacts: the
// properties an EWS t:Contact and a Graph contact both hold, so that a
// contact survives either way. A side that holds less says what it loses in
// its Path.Loses.
type Contact struct {
	DisplayName    string         `json:"displayName,omitempty"`
	GivenName      string         `json:"givenName,omitempty"`
	MiddleName     string         `json:"middleName,omitempty"`
	Surname        string         `json:"surname,omitempty"`
	NickName       string         `json:"nickName,omitempty"`
	Initials       string         `json:"initials,omitempty"`
	Title          string         `json:"title,omitempty"` // courtesy title: Dr., Ms.
	Generation     string         `json:"generation,omitempty"`
	FileAs         string         `json:"fileAs,omitempty"`
	CompanyName    string         `json:"companyName,omitempty"`
	Department     string         `json:"department,omitempty"`
	JobTitle       string         `json:"jobTitle,omitempty"`
	OfficeLocation string         `json:"officeLocation,omitempty"`
	Manager        string         `json:"manager,omitempty"`
	AssistantName  string         `json:"assistantName,omitempty"`
	Profession     string         `json:"profession,omitempty"`
	EmailAddresses []ContactEmail `json:"emailAddresses,omitempty"` // at most 3, as both services hold
	ImAddresses    []string       `json:"imAddresses,omitempty"`    // at most 3
	BusinessPhones []string       `json:"businessPhones,omitempty"` // at most 2
	HomePhones     []string       `json:"homePhones,omitempty"`     // at most 2
	MobilePhone    string         `json:"mobilePhone,omitempty"`
	BusinessHome   string         `json:"businessHomePage,omitempty"`
	HomeAddress    *PostalAddress `json:"homeAddress,omitempty"`
	BusinessAddr   *PostalAddress `json:"businessAddress,omitempty"`
	OtherAddress   *PostalAddress `json:"otherAddress,omitempty"`
	// Birthday is a date (no time of day, no zone).
	Birthday      string   `json:"birthday,omitempty"` // 2006-01-02
	SpouseName    string   `json:"spouseName,omitempty"`
	Children      []string `json:"children,omitempty"`
	PersonalNotes string   `json:"personalNotes,omitempty"` // the contact's notes (its body), text
	Categories    []string `json:"categories,omitempty"`
	// Photo is the contact's picture (JPEG or PNG), at most
	// MaxTypedAttachmentBytes.
	Photo []byte `json:"photo,omitempty"`
}

// ContactEmail is one of a contact's e-mail addresses.
type ContactEmail struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

// PostalAddress is a contact's postal address.
type PostalAddress struct {
	Street          string `json:"street,omitempty"`
	City            string `json:"city,omitempty"`
	State           string `json:"state,omitempty"`
	PostalCode      string `json:"postalCode,omitempty"`
	CountryOrRegion string `json:"countryOrRegion,omitempty"`
}

const contactVersion = 1

// Limits both services share: a contact has at most 3 e-mail and IM
// addresses and 2 business and 2 home phones.
const (
	maxContactEmails = 3
	maxContactIMs    = 3
	maxContactPhones = 2
)

// EncodeContact is the typed body of a contact, for a Payload with
// FormatTyped.
func EncodeContact(c Contact) ([]byte, error) {
	return encodeTyped(typedContact, contactVersion, c)
}

// DecodeContact reads a typed body written by EncodeContact.
func DecodeContact(r io.Reader) (Contact, error) {
	c, err := decodeTyped[Contact](r, typedContact, contactVersion)
	if err != nil {
		return Contact{}, err
	}
	c.normalize()
	return c, nil
}

// normalize makes an empty list nil, as EncodeContact leaves it out:
// equal contacts compare equal whichever way they came.
func (c *Contact) normalize() {
	for _, l := range []*[]string{&c.ImAddresses, &c.BusinessPhones, &c.HomePhones, &c.Children, &c.Categories} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	if len(c.EmailAddresses) == 0 {
		c.EmailAddresses = nil
	}
	if len(c.Photo) == 0 {
		c.Photo = nil
	}
}

// Validate checks what both services refuse.
func (c Contact) Validate() error {
	switch {
	case len(c.EmailAddresses) > maxContactEmails:
		return fmt.Errorf("%w: %d e-mail addresses, at most %d", ErrBadTyped, len(c.EmailAddresses), maxContactEmails)
	case len(c.ImAddresses) > maxContactIMs:
		return fmt.Errorf("%w: %d IM addresses, at most %d", ErrBadTyped, len(c.ImAddresses), maxContactIMs)
	case len(c.BusinessPhones) > maxContactPhones || len(c.HomePhones) > maxContactPhones:
		return fmt.Errorf("%w: more than %d business or home phones", ErrBadTyped, maxContactPhones)
	}
	for _, e := range c.EmailAddresses {
		if e.Address == "" {
			return fmt.Errorf("%w: an e-mail entry without an address", ErrBadTyped)
		}
	}
	if len(c.Photo) > MaxTypedAttachmentBytes {
		return fmt.Errorf("%w: a photo of %d bytes, at most %d", ErrBadTyped, len(c.Photo), MaxTypedAttachmentBytes)
	}
	if c.Birthday != "" {
		if _, err := time.Parse(time.DateOnly, c.Birthday); err != nil {
			return fmt.Errorf("%w: birthday %q is not a date (2006-01-02)", ErrBadTyped, c.Birthday)
		}
	}
	return nil
}
