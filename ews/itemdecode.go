package ews

import (
	"encoding/xml"
	"strconv"
	"strings"
)

// UnmarshalXML decodes an item element by hand, with what reflection
// decoding of itemXML's tags gives (FuzzItemXMLAsReflection holds the two
// together): encoding/xml's reflection walk was most of the cost of a
// SyncFolderItems page, whose items are most of what a copy lists.
//
// The rules it keeps: an element counts only in the types namespace;
// attributes match by local name in any namespace; a text field takes the
// character data directly inside its element (nested elements are skipped
// with their text) and a repeated one the last; numbers and booleans are
// parsed as encoding/xml parses them, and a number that does not parse
// fails the decode.
func (it *itemXML) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*it = itemXML{XMLName: start.Name}
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "Id":
			it.AttrID = a.Value
		case "ChangeKey":
			it.AttrChangeKey = a.Value
		}
	}
	return eachChild(d, func(t xml.StartElement) error { return it.field(d, t) })
}

func (it *itemXML) field(d *xml.Decoder, t xml.StartElement) error {
	if t.Name.Space != nsTypes {
		return d.Skip()
	}
	var err error
	switch t.Name.Local {
	case "ItemId":
		err = idInto(d, t, &it.ItemID)
	case "ParentFolderId":
		err = idInto(d, t, &it.ParentFolderID)
	case "ItemClass":
		it.ItemClass, err = charData(d)
	case "Subject":
		it.Subject, err = charData(d)
	case "DateTimeReceived":
		it.DateTimeReceived, err = charData(d)
	case "DateTimeSent":
		it.DateTimeSent, err = charData(d)
	case "Importance":
		it.Importance, err = charData(d)
	case "InternetMessageId":
		it.InternetMessageID, err = charData(d)
	case "Size":
		it.Size, err = intData(d)
	case "IsDraft":
		it.IsDraft, err = boolData(d)
	case "HasAttachments":
		it.HasAttachments, err = boolData(d)
	case "IsRead":
		it.IsRead, err = boolData(d)
	case "Categories":
		err = it.categories(d)
	case "ExtendedProperty":
		var p extPropXML
		if p, err = extPropOf(d); err == nil {
			it.ExtendedProperty = append(it.ExtendedProperty, p)
		}
	default:
		err = d.Skip()
	}
	return err
}

// categories appends the String children of a Categories element.
func (it *itemXML) categories(d *xml.Decoder) error {
	return eachChild(d, func(t xml.StartElement) error {
		if t.Name.Space != nsTypes || t.Name.Local != "String" {
			return d.Skip()
		}
		s, err := charData(d)
		if err == nil {
			it.Categories = append(it.Categories, s)
		}
		return err
	})
}

// eachChild calls fn for each child element of the element whose start
// was just read, and reads past its end. fn reads its element whole.
func eachChild(d *xml.Decoder, fn func(xml.StartElement) error) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		}
	}
}

// idInto reads an id element (ItemId, FolderId, ParentFolderId) into id:
// its attributes, then past its end. A repeated element is decoded into
// the same id, as reflection does: an attribute it lacks keeps the
// earlier one's value.
func idInto(d *xml.Decoder, t xml.StartElement, id *idXML) error {
	for _, a := range t.Attr {
		switch a.Name.Local {
		case "Id":
			id.ID = a.Value
		case "ChangeKey":
			id.ChangeKey = a.Value
		}
	}
	return d.Skip()
}

// extPropOf reads an ExtendedProperty: its ExtendedFieldURI's attributes
// and its Value.
func extPropOf(d *xml.Decoder) (extPropXML, error) {
	var p extPropXML
	err := eachChild(d, func(t xml.StartElement) error {
		switch {
		case t.Name.Space == nsTypes && t.Name.Local == "ExtendedFieldURI":
			// A repeated URI element is decoded into the same struct:
			// attributes it lacks keep the earlier ones' values.
			for _, a := range t.Attr {
				switch a.Name.Local {
				case "PropertyTag":
					p.URI.Tag = a.Value
				case "PropertySetId":
					p.URI.SetID = a.Value
				case "PropertyName":
					p.URI.Name = a.Value
				case "PropertyType":
					p.URI.Type = a.Value
				}
			}
			return d.Skip()
		case t.Name.Space == nsTypes && t.Name.Local == "Value":
			var err error
			p.Value, err = charData(d)
			return err
		}
		return d.Skip()
	})
	return p, err
}

// charData returns the character data directly inside the element whose
// start was just read, and reads past its end.
func charData(d *xml.Decoder) (string, error) {
	var s string
	var more []byte
	parts := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			switch parts {
			case 0:
				s = string(t) // the usual case: one piece, one copy
			case 1:
				more = append(append(more, s...), t...)
			default:
				more = append(more, t...)
			}
			parts++
		case xml.StartElement:
			if err := d.Skip(); err != nil {
				return "", err
			}
		case xml.EndElement:
			if parts > 1 {
				return string(more), nil
			}
			return s, nil
		}
	}
}

// intData parses an element's text as encoding/xml parses an int64: empty
// is 0, anything else strconv.ParseInt refuses (spaces around trimmed)
// fails the decode.
func intData(d *xml.Decoder) (int64, error) {
	s, err := charData(d)
	if err != nil || s == "" {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(s), 10, 64)
}

// UnmarshalXML decodes a folder element by hand, with reflection's
// results (FuzzFolderXMLAsReflection), by the rules of itemXML's: a
// mailbox's folders are listed three times in a copy (plan, copy,
// reconciliation), and reflection was most of each listing's cost.
func (f *folderXML) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*f = folderXML{XMLName: start.Name}
	for _, a := range start.Attr {
		if a.Name.Local == "Id" {
			f.AttrID = a.Value
		}
	}
	return eachChild(d, func(t xml.StartElement) error { return f.field(d, t) })
}

func (f *folderXML) field(d *xml.Decoder, t xml.StartElement) error {
	if t.Name.Space != nsTypes {
		return d.Skip()
	}
	var err error
	switch t.Name.Local {
	case "FolderId":
		err = idInto(d, t, &f.FolderID)
	case "ParentFolderId":
		err = idInto(d, t, &f.ParentFolderID)
	case "FolderClass":
		f.FolderClass, err = charData(d)
	case "DisplayName":
		f.DisplayName, err = charData(d)
	case "TotalCount":
		f.TotalCount, err = intData(d)
	case "ChildFolderCount":
		f.ChildFolderCount, err = intData(d)
	case "ExtendedProperty":
		var p extPropXML
		if p, err = extPropOf(d); err == nil {
			f.ExtendedProperty = append(f.ExtendedProperty, p)
		}
	default:
		err = d.Skip()
	}
	return err
}

// boolData parses an element's text as encoding/xml parses a bool: empty
// is false, anything strconv.ParseBool refuses fails the decode.
func boolData(d *xml.Decoder) (bool, error) {
	s, err := charData(d)
	if err != nil || s == "" {
		return false, err
	}
	return strconv.ParseBool(strings.TrimSpace(s))
}
