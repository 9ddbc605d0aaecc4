package ews

import (
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
)

// itemXMLByReflection has itemXML's fields and tags and none of its
// methods: encoding/xml decodes it by reflection, the reference the
// hand-written UnmarshalXML must match.
type itemXMLByReflection itemXML

func decodeBothWays(body string) (hand itemXML, handErr error, refl itemXMLByReflection, reflErr error) {
	doc := `<t:Message xmlns:t="` + nsTypes + `" xmlns:m="` + nsMessages + `" Id="bare" ChangeKey="ck">` + body + `</t:Message>`
	handErr = xml.Unmarshal([]byte(doc), &hand)
	reflErr = xml.Unmarshal([]byte(doc), &refl)
	return
}

const sampleItemBody = `<t:ItemId Id="AAMkAGI2" ChangeKey="CQAAABYA"/><t:ParentFolderId Id="inbox" ChangeKey="AQ"/>` +
	`<t:ItemClass>IPM.Note</t:ItemClass><t:Subject>Quarterly &amp; more <![CDATA[<figures>]]></t:Subject>` +
	`<t:DateTimeReceived>2019-05-01T10:00:00Z</t:DateTimeReceived><t:Size>6634</t:Size>` +
	`<t:Categories><t:String>Finance</t:String><t:String>Red</t:String></t:Categories><t:Importance>High</t:Importance>` +
	`<t:IsDraft>false</t:IsDraft><t:HasAttachments>true</t:HasAttachments><t:DateTimeSent>2019-05-01T09:59:00Z</t:DateTimeSent>` +
	`<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x1090" PropertyType="Integer"/><t:Value>2</t:Value></t:ExtendedProperty>` +
	`<t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="9d4b5a3e" PropertyName="ExmigrateSourceId" PropertyType="String"/><t:Value>ews:AAMkQ1</t:Value></t:ExtendedProperty>` +
	`<t:InternetMessageId>&lt;q1@fabrikam.example&gt;</t:InternetMessageId><t:IsRead>1</t:IsRead>`

func TestItemXMLAsReflection(t *testing.T) {
	for _, body := range []string{
		sampleItemBody,
		"",
		`<t:Size></t:Size><t:IsRead></t:IsRead>`,
		`<t:Subject>a<t:X>hidden</t:X>b<!-- c -->d</t:Subject><t:Subject>last wins</t:Subject>`,
		`<m:Subject>other namespace</m:Subject><Subject>none</Subject>`,
		`<t:Size> 12 </t:Size><t:IsDraft> TRUE </t:IsDraft>`,
		`<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x1"/><t:ExtendedFieldURI PropertyName="n"/><t:Value>a</t:Value><t:Value>b</t:Value></t:ExtendedProperty>`,
		`<t:Categories><t:String>a</t:String><m:String>b</m:String><t:Other/></t:Categories><t:Categories><t:String>c</t:String></t:Categories>`,
	} {
		hand, handErr, refl, reflErr := decodeBothWays(body)
		if handErr != nil || reflErr != nil {
			t.Fatalf("%q: errors %v and %v", body, handErr, reflErr)
		}
		if !reflect.DeepEqual(hand, itemXML(refl)) {
			t.Errorf("%q:\nhand       %+v\nreflection %+v", body, hand, itemXML(refl))
		}
	}
	// What reflection refuses, the hand decoder refuses.
	for _, body := range []string{`<t:Size>12 MB</t:Size>`, `<t:IsRead>maybe</t:IsRead>`, `<t:Subject>unclosed`} {
		if _, handErr, _, reflErr := decodeBothWays(body); handErr == nil || reflErr == nil {
			t.Errorf("%q: errors %v and %v, want both", body, handErr, reflErr)
		}
	}
}

// FuzzItemXMLAsReflection: for any item element, the hand decoder and
// reflection agree on whether it decodes and on what.
func FuzzItemXMLAsReflection(f *testing.F) {
	f.Add(sampleItemBody)
	f.Add(`<t:Size> 7</t:Size><t:Categories><t:String/></t:Categories>`)
	f.Add(`<t:ItemId Id="a"/><t:ItemId ChangeKey="b"/><t:ParentFolderId ChangeKey="c"/>`)
	f.Add(`<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x300B"/><t:Value>AAEC</t:Value></t:ExtendedProperty>`)
	f.Fuzz(func(t *testing.T, body string) {
		hand, handErr, refl, reflErr := decodeBothWays(body)
		if (handErr == nil) != (reflErr == nil) {
			t.Fatalf("errors differ: hand %v, reflection %v", handErr, reflErr)
		}
		if handErr == nil && !reflect.DeepEqual(hand, itemXML(refl)) {
			t.Fatalf("decoded differently:\nhand       %+v\nreflection %+v", hand, itemXML(refl))
		}
	})
}

// BenchmarkItemXML decodes a page of 512 items as SyncFolderItems lists them.
func BenchmarkItemXML(b *testing.B) {
	doc := `<m:Changes xmlns:t="` + nsTypes + `" xmlns:m="` + nsMessages + `">` +
		strings.Repeat(`<t:Create><t:Message>`+sampleItemBody+`</t:Message></t:Create>`, 512) + `</m:Changes>`
	for _, tc := range []struct {
		name string
		v    func() any
	}{
		{"hand", func() any {
			return &struct {
				Entries []struct {
					Items []itemXML `xml:",any"`
				} `xml:",any"`
			}{}
		}},
		{"reflection", func() any {
			return &struct {
				Entries []struct {
					Items []itemXMLByReflection `xml:",any"`
				} `xml:",any"`
			}{}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if err := xml.Unmarshal([]byte(doc), tc.v()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/512, "us/item")
		})
	}
}

// folderXMLByReflection is folderXML decoded by reflection: the reference.
type folderXMLByReflection folderXML

const sampleFolderBody = `<t:FolderId Id="AAMkF1" ChangeKey="AQ"/><t:ParentFolderId Id="root" ChangeKey="AQ"/>` +
	`<t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>Inbox &amp; more</t:DisplayName><t:TotalCount>70</t:TotalCount>` +
	`<t:ChildFolderCount>2</t:ChildFolderCount><t:UnreadCount>3</t:UnreadCount>` +
	`<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x0E08" PropertyType="Long"/><t:Value>462848</t:Value></t:ExtendedProperty>` +
	`<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x10F4" PropertyType="Boolean"/><t:Value>false</t:Value></t:ExtendedProperty>`

func decodeFolderBothWays(body string) (hand folderXML, handErr error, refl folderXMLByReflection, reflErr error) {
	doc := `<t:Folder xmlns:t="` + nsTypes + `" xmlns:m="` + nsMessages + `" Id="bare">` + body + `</t:Folder>`
	handErr = xml.Unmarshal([]byte(doc), &hand)
	reflErr = xml.Unmarshal([]byte(doc), &refl)
	return
}

func TestFolderXMLAsReflection(t *testing.T) {
	for _, body := range []string{sampleFolderBody, "", `<t:TotalCount></t:TotalCount><m:DisplayName>x</m:DisplayName>`,
		`<t:DisplayName>a<t:X>b</t:X>c</t:DisplayName><t:TotalCount> 5 </t:TotalCount>`} {
		hand, handErr, refl, reflErr := decodeFolderBothWays(body)
		if handErr != nil || reflErr != nil {
			t.Fatalf("%q: errors %v and %v", body, handErr, reflErr)
		}
		if !reflect.DeepEqual(hand, folderXML(refl)) {
			t.Errorf("%q:\nhand       %+v\nreflection %+v", body, hand, folderXML(refl))
		}
	}
	if _, handErr, _, reflErr := decodeFolderBothWays(`<t:TotalCount>many</t:TotalCount>`); handErr == nil || reflErr == nil {
		t.Errorf("a count that is not a number: errors %v and %v, want both", handErr, reflErr)
	}
}

// FuzzFolderXMLAsReflection: for any folder element, the hand decoder and
// reflection agree on whether it decodes and on what.
func FuzzFolderXMLAsReflection(f *testing.F) {
	f.Add(sampleFolderBody)
	f.Add(`<t:ChildFolderCount>-1</t:ChildFolderCount><t:FolderId Id="a"/><t:FolderId ChangeKey="b"/>`)
	f.Fuzz(func(t *testing.T, body string) {
		hand, handErr, refl, reflErr := decodeFolderBothWays(body)
		if (handErr == nil) != (reflErr == nil) {
			t.Fatalf("errors differ: hand %v, reflection %v", handErr, reflErr)
		}
		if handErr == nil && !reflect.DeepEqual(hand, folderXML(refl)) {
			t.Fatalf("decoded differently:\nhand       %+v\nreflection %+v", hand, folderXML(refl))
		}
	})
}
