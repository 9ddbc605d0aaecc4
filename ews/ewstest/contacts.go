package ewstest

import (
	"slices"
)

// contactData is what the fake holds of a t:Contact written with
// CreateItem from its properties, as Exchange stores them: every
// ContactItemType property a migration carries, dictionaries by key.
// Exported fields: snapshots keep it as JSON.
type contactData struct {
	Fields    map[string]string            `json:",omitempty"` // unindexed xs:string and xs:dateTime elements by name
	Emails    map[string]contactEmail      `json:",omitempty"` // EmailAddress1-3
	IMs       map[string]string            `json:",omitempty"` // ImAddress1-3
	Phones    map[string]string            `json:",omitempty"` // PhoneNumberKeyType
	Addresses map[string]map[string]string `json:",omitempty"` // Home, Business, Other -> Street, City ...
	Children  []string                     `json:",omitempty"`
	Photo     []byte                       `json:",omitempty"` // a FileAttachment with IsContactPhoto
	Notes     *string                      `json:",omitempty"` // the body once UpdateItem or a fixture set it (else the MIME's)
}

type contactEmail struct{ Name, Address string }

// contactStrings are the unindexed ContactItemType elements the fake
// keeps, in schema order; contactDates are those of type xs:dateTime.
var (
	contactStrings = []string{"FileAs", "DisplayName", "GivenName", "Initials", "MiddleName", "Nickname", "CompanyName",
		"AssistantName", "Birthday", "BusinessHomePage", "Department", "Generation", "JobTitle", "Manager", "Mileage",
		"OfficeLocation", "Profession", "SpouseName", "Surname", "WeddingAnniversary"}
	contactDates = []string{"Birthday", "WeddingAnniversary"}
)

// The dictionary keys of types.xsd: EmailAddressKeyType, ImAddressKeyType,
// PhoneNumberKeyType and PhysicalAddressKeyType, and the fields of
// PhysicalAddressDictionaryEntryType in order.
var (
	emailKeys = []string{"EmailAddress1", "EmailAddress2", "EmailAddress3"}
	imKeys    = []string{"ImAddress1", "ImAddress2", "ImAddress3"}
	phoneKeys = []string{"AssistantPhone", "BusinessFax", "BusinessPhone", "BusinessPhone2", "Callback", "CarPhone",
		"CompanyMainPhone", "HomeFax", "HomePhone", "HomePhone2", "Isdn", "MobilePhone", "OtherFax", "OtherTelephone",
		"Pager", "PrimaryPhone", "RadioPhone", "Telex", "TtyTddPhone", "BusinessMobile", "IPPhone"}
	addressKeys   = []string{"Home", "Business", "Other"}
	addressFields = []string{"Street", "City", "State", "CountryOrRegion", "PostalCode"}
)

// parseContact reads the properties of a t:Contact in a CreateItem.
// A key outside its enumeration fails schema validation on Exchange; so
// does, in the fake, a key given twice (inferred: the dictionaries hold
// one value per key, so there is at most 3 e-mail and IM entries).
func parseContact(in *node) (*contactData, error) {
	cd := &contactData{Fields: map[string]string{}}
	for _, name := range contactStrings {
		n := in.child(nsTypes, name)
		if n == nil {
			continue
		}
		v := n.value()
		if slices.Contains(contactDates, name) {
			t, ok := requestTime(n)
			if !ok {
				return nil, &ewsError{code: "ErrorSchemaValidation", text: "The request failed schema validation: " + name + " is not an xs:dateTime.", path: n}
			}
			v = xsTime(t)
		}
		if v != "" {
			cd.Fields[name] = v
		}
	}
	entries := func(name string, keys []string, fn func(key string, e *node)) error {
		seen := map[string]bool{}
		for _, e := range in.child(nsTypes, name).all(nsTypes, "Entry") {
			k := e.attr("Key")
			if !slices.Contains(keys, k) {
				return &ewsError{code: "ErrorSchemaValidation", text: "The request failed schema validation: " + name + " has no key '" + k + "'.", path: e}
			}
			if seen[k] {
				return &ewsError{code: "ErrorSchemaValidation", text: "The request failed schema validation: " + name + " has key '" + k + "' twice.", path: e}
			}
			seen[k] = true
			fn(k, e)
		}
		return nil
	}
	set := func(m *map[string]string, k, v string) {
		if v == "" {
			return
		}
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[k] = v
	}
	if err := entries("EmailAddresses", emailKeys, func(k string, e *node) {
		if v := e.value(); v != "" {
			if cd.Emails == nil {
				cd.Emails = map[string]contactEmail{}
			}
			cd.Emails[k] = contactEmail{Name: e.attr("Name"), Address: v}
		}
	}); err != nil {
		return nil, err
	}
	if err := entries("ImAddresses", imKeys, func(k string, e *node) { set(&cd.IMs, k, e.value()) }); err != nil {
		return nil, err
	}
	if err := entries("PhoneNumbers", phoneKeys, func(k string, e *node) { set(&cd.Phones, k, e.value()) }); err != nil {
		return nil, err
	}
	if err := entries("PhysicalAddresses", addressKeys, func(k string, e *node) {
		a := map[string]string{}
		for _, f := range addressFields {
			set(&a, f, e.child(nsTypes, f).value())
		}
		if len(a) > 0 {
			if cd.Addresses == nil {
				cd.Addresses = map[string]map[string]string{}
			}
			cd.Addresses[k] = a
		}
	}); err != nil {
		return nil, err
	}
	for _, s := range in.child(nsTypes, "Children").all(nsTypes, "String") {
		cd.Children = append(cd.Children, s.value())
	}
	return cd, nil
}

// contactOf is an item's contact: what CreateItem stored, or what the
// vCard of a seeded or MIME-written contact says.
func contactOf(it *item, props func() *mimeProps) *contactData {
	if it.contact != nil {
		return it.contact
	}
	v := props().contact
	if v == nil {
		return nil
	}
	cd := &contactData{Fields: map[string]string{}}
	for k, s := range map[string]string{"DisplayName": v.displayName, "GivenName": v.given, "Surname": v.surname,
		"CompanyName": v.company, "JobTitle": v.title} {
		if s != "" {
			cd.Fields[k] = s
		}
	}
	for i, e := range v.emails {
		if cd.Emails == nil {
			cd.Emails = map[string]contactEmail{}
		}
		cd.Emails[emailKeys[i]] = contactEmail{Address: e}
	}
	return cd
}

// dictAll: the shape asks for the whole dictionary (by its FieldURI or
// base shape), not only the entries its IndexedFieldURIs name.
func dictAll(sh shape, typ, e string) bool {
	return sh.names[e] != nil || (sh.base == "AllProperties" && firstClass[e]) || (sh.base == "Default" && defaultShape[typ][e])
}

// writeContactProp answers one ContactItemType property the contact holds.
func (rc *reqCtx) writeContactProp(x *xw, cd *contactData, sh shape, typ, e string) {
	switch e {
	case "EmailAddresses":
		only := sh.indexed["contacts:EmailAddress"]
		all := dictAll(sh, typ, e)
		started := false
		for _, k := range emailKeys {
			v, ok := cd.Emails[k]
			if !ok || (!all && !slices.Contains(only, k)) {
				continue
			}
			if !started {
				x.start(nsTypes, e)
				started = true
			}
			attrs := []string{"Key", k}
			if v.Name != "" {
				attrs = append(attrs, "Name", v.Name)
			}
			x.leaf(nsTypes, "Entry", v.Address, attrs...)
		}
		if started {
			x.end()
		}
	case "ImAddresses", "PhoneNumbers":
		uri, keys, m := "contacts:ImAddress", imKeys, cd.IMs
		if e == "PhoneNumbers" {
			uri, keys, m = "contacts:PhoneNumber", phoneKeys, cd.Phones
		}
		only := sh.indexed[uri]
		all := dictAll(sh, typ, e)
		started := false
		for _, k := range keys {
			v, ok := m[k]
			if !ok || (!all && !slices.Contains(only, k)) {
				continue
			}
			if !started {
				x.start(nsTypes, e)
				started = true
			}
			x.leaf(nsTypes, "Entry", v, "Key", k)
		}
		if started {
			x.end()
		}
	case "PhysicalAddresses":
		all := dictAll(sh, typ, e)
		started := false
		for _, k := range addressKeys {
			a, ok := cd.Addresses[k]
			if !ok {
				continue
			}
			var fields []string
			for _, f := range addressFields {
				if a[f] != "" && (all || slices.Contains(sh.indexed["contacts:PhysicalAddress:"+f], k)) {
					fields = append(fields, f)
				}
			}
			if len(fields) == 0 {
				continue
			}
			if !started {
				x.start(nsTypes, e)
				started = true
			}
			x.start(nsTypes, "Entry", "Key", k)
			for _, f := range fields {
				x.leaf(nsTypes, f, a[f])
			}
			x.end()
		}
		if started {
			x.end()
		}
	case "Children":
		if len(cd.Children) > 0 {
			x.start(nsTypes, e)
			for _, c := range cd.Children {
				x.leaf(nsTypes, "String", c)
			}
			x.end()
		}
	default:
		if v := cd.Fields[e]; v != "" {
			x.leaf(nsTypes, e, v)
		}
	}
}

// contactElements are the ContactItemType elements writeContactProp answers.
var contactElements = append(slices.Clone(contactStrings), "EmailAddresses", "ImAddresses", "PhoneNumbers", "PhysicalAddresses", "Children")

// indexedWants: the shape names entries of a contact dictionary with
// IndexedFieldURIs.
func indexedWants(sh shape, e string) bool {
	switch e {
	case "EmailAddresses":
		return len(sh.indexed["contacts:EmailAddress"]) > 0
	case "ImAddresses":
		return len(sh.indexed["contacts:ImAddress"]) > 0
	case "PhoneNumbers":
		return len(sh.indexed["contacts:PhoneNumber"]) > 0
	case "PhysicalAddresses":
		for _, f := range addressFields {
			if len(sh.indexed["contacts:PhysicalAddress:"+f]) > 0 {
				return true
			}
		}
	}
	return false
}
