package ews

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"testing"
)

const (
	seedFindItem    = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="2" Version="V2017_07_11" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header><s:Body><m:FindItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:FindItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:RootFolder IndexedPagingOffset="1" TotalItemsInView="1" IncludesLastItemInRange="true"><t:Items><t:Message><t:ItemId Id="AAMk" ChangeKey="CQ"/><t:ItemClass>IPM.Note</t:ItemClass><t:Subject>Hi &#x1; there</t:Subject><t:Size>1234</t:Size><t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="9d4b5a3e-6f0c-4c51-9a57-6b8e2f1d7c42" PropertyName="ExmigrateSourceId" PropertyType="String"/><t:Value>src</t:Value></t:ExtendedProperty><t:IsRead>true</t:IsRead></t:Message></t:Items></m:RootFolder></m:FindItemResponseMessage></m:ResponseMessages></m:FindItemResponse></s:Body></s:Envelope>`
	seedDefaultNS   = `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><FindItemResponse xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><ResponseMessages><FindItemResponseMessage ResponseClass="Error"><MessageText>nope</MessageText><ResponseCode>ErrorAccessDenied</ResponseCode><MessageXml><Value xmlns="http://schemas.microsoft.com/exchange/services/2006/types" Name="BackOffMilliseconds">5</Value></MessageXml></FindItemResponseMessage></ResponseMessages></FindItemResponse></Body></Envelope>`
	seedFault       = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode><faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">297749</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>`
	seedSchemaFault = `<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body><env:Fault><faultcode>a:ErrorSchemaValidation</faultcode><faultstring>The request failed schema validation</faultstring><detail><x3:ResponseCode xmlns:x3="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorSchemaValidation</x3:ResponseCode><x3:Violation xmlns:x3="http://schemas.microsoft.com/exchange/services/2006/errors">bad &#x0; thing</x3:Violation></detail></env:Fault></env:Body></env:Envelope>`
	seedGetItem     = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:Message><t:MimeContent CharacterSet="UTF-8">U3ViamVjdDogaGkNCg0K
Ym9keQ==</t:MimeContent><t:ItemId Id="x"/></t:Message></m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>`
	seedRules = `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><GetInboxRulesResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><ResponseCode>NoError</ResponseCode><OutlookRuleBlobExists>false</OutlookRuleBlobExists><InboxRules><Rule xmlns="http://schemas.microsoft.com/exchange/services/2006/types"><RuleId>r</RuleId><DisplayName>d</DisplayName><Priority>1</Priority><IsEnabled>true</IsEnabled><Conditions><FromAddresses><Address><EmailAddress>a@b</EmailAddress></Address></FromAddresses></Conditions><Actions><MoveToFolder><FolderId Id="f"/></MoveToFolder></Actions></Rule></InboxRules></GetInboxRulesResponse></Body></Envelope>`
)

func FuzzParseFault(f *testing.F) {
	for _, s := range []string{seedFault, seedSchemaFault, seedFindItem, "", "<x/>", "<s:Envelope"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fe, err := ParseFault(bytes.NewReader(data), "Op")
		if fe != nil {
			if err != nil {
				t.Fatalf("both a fault and an error: %v, %v", fe, err)
			}
			if fe.Error() == "" || fe.Class != "Fault" {
				t.Fatalf("bad fault %#v", fe)
			}
			if fe.BackOff < 0 {
				t.Fatalf("negative back-off %v", fe.BackOff)
			}
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{seedFindItem, seedDefaultNS, seedFault, seedRules, seedGetItem} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fi findItemResponse
		if err := decodeResponse(bytes.NewReader(data), "FindItem", 200, &fi); err == nil {
			for i := range fi.Messages {
				fi.Messages[i].err("FindItem", i)
				for _, it := range fi.Messages[i].RootFolder.Items.Items {
					_ = it.item()
				}
			}
		}
		var sy syncItemsResponse
		decodeResponse(bytes.NewReader(data), "SyncFolderItems", 200, &sy)
		var ru getInboxRulesResponse
		if err := decodeResponse(bytes.NewReader(data), "GetInboxRules", 200, &ru); err == nil {
			for _, r := range ru.InboxRules.Rules {
				_ = r.rule()
			}
		}
		// The streamed MIME path must never panic either.
		c, _ := NewClient(Config{URL: "https://x/", Username: "u", Password: "p"})
		sess := c.newSession()
		c.pool.inUse++
		resp := &response{Response: &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(data))}, sess: sess, c: c}
		if rc, err := mimeStream(resp); err == nil {
			io.Copy(io.Discard, io.LimitReader(rc, 1<<20))
			rc.Close()
		}
	})
}

var charRef = regexp.MustCompile(`&#[^;&]{1,10};`)

// hasIllegalRef reports whether b holds a reference the sanitizer drops.
func hasIllegalRef(b []byte) bool {
	for _, r := range charRef.FindAll(b, -1) {
		if illegalCharRef(r) {
			return true
		}
	}
	return false
}

func FuzzSanitizer(f *testing.F) {
	for _, s := range []string{seedFindItem, "a&#x0;b&#1;c&#x1F;d&#65;", "\x00\x01\x1f&#", "&#x110000;", "&amp;&#xD;"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := io.ReadAll(newSanitizer(iotestHalf(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range out {
			if b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
				t.Fatalf("control byte %#x survived in %q", b, out)
			}
		}
		// Removing a reference can join its neighbours into a new one
		// ("&#&#x0;x1;"), so check idempotence only on the references kept.
		again, _ := io.ReadAll(newSanitizer(bytes.NewReader(out)))
		if !hasIllegalRef(out) && !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q", out, again)
		}
	})
}

// iotestHalf feeds the reader in small pieces, to cross buffer boundaries.
func iotestHalf(b []byte) io.Reader { return &smallReader{b: b} }

type smallReader struct{ b []byte }

func (s *smallReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 3)], s.b)
	s.b = s.b[n:]
	return n, nil
}

func TestSanitizerDropsIllegalCharacters(t *testing.T) {
	for in, want := range map[string]string{
		"a&#x0;b":           "ab",
		"a&#x1F;&#31;b":     "ab",
		"a\x00\x0bb":        "ab",
		"keep &#xA; &#65;":  "keep &#xA; &#65;",
		"&amp; &lt;":        "&amp; &lt;",
		"&#xFFFE;x":         "x",
		"tail &#x":          "tail &#x",
		"&#55296;surrogate": "surrogate",
	} {
		got, err := io.ReadAll(newSanitizer(iotestHalf([]byte(in))))
		if err != nil || string(got) != want {
			t.Errorf("sanitize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// seedPermissions is a GetFolder answer with a mail folder's and a
// calendar's permission sets and a folder that failed.
const seedPermissions = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetFolderResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages>` +
	`<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:Folder><t:FolderId Id="f1" ChangeKey="A"/><t:PermissionSet><t:Permissions><t:Permission><t:UserId><t:DistinguishedUser>Default</t:DistinguishedUser></t:UserId><t:CanCreateItems>false</t:CanCreateItems><t:ReadItems>FullDetails</t:ReadItems><t:PermissionLevel>Reviewer</t:PermissionLevel></t:Permission><t:Permission><t:UserId><t:SID>S-1-5-21-1</t:SID><t:PrimarySmtpAddress>bob@contoso.com</t:PrimarySmtpAddress><t:DisplayName>Bob</t:DisplayName></t:UserId><t:PermissionLevel>Editor</t:PermissionLevel></t:Permission></t:Permissions></t:PermissionSet></t:Folder></m:Folders></m:GetFolderResponseMessage>` +
	`<m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Folders><t:CalendarFolder><t:FolderId Id="f2"/><t:PermissionSet><t:CalendarPermissions><t:CalendarPermission><t:UserId><t:SID>S-1-5-21-9</t:SID><t:DisplayName>NT User:S-1-5-21-9</t:DisplayName></t:UserId><t:ReadItems>TimeOnly</t:ReadItems><t:CalendarPermissionLevel>FreeBusyTimeOnly</t:CalendarPermissionLevel></t:CalendarPermission></t:CalendarPermissions></t:PermissionSet></t:CalendarFolder></m:Folders></m:GetFolderResponseMessage>` +
	`<m:GetFolderResponseMessage ResponseClass="Error"><m:MessageText>Access is denied.</m:MessageText><m:ResponseCode>ErrorAccessDenied</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:GetFolderResponseMessage>` +
	`</m:ResponseMessages></m:GetFolderResponse></s:Body></s:Envelope>`

func TestPermissionsSeedParses(t *testing.T) {
	var resp getFolderPermsResponse
	if err := decodeResponse(bytes.NewReader([]byte(seedPermissions)), "GetFolder", 200, &resp); err != nil {
		t.Fatal(err)
	}
	res, err := resp.results(3)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(res[0].perms, res[1].perms, res[2].err != nil)
	if want := "[{Default Reviewer} {bob@contoso.com Editor}] [{NT User:S-1-5-21-9 FreeBusyTimeOnly}] true"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func FuzzDecodePermissions(f *testing.F) {
	for _, s := range []string{seedPermissions, seedDefaultNS, seedFault, ""} {
		f.Add([]byte(s), 3)
	}
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		if n < 0 || n > 1000 {
			return
		}
		var resp getFolderPermsResponse
		if err := decodeResponse(bytes.NewReader(data), "GetFolder", 200, &resp); err != nil {
			return
		}
		res, err := resp.results(n)
		if err != nil {
			return
		}
		if len(res) != n {
			t.Fatalf("%d results for %d folders", len(res), n)
		}
		for _, r := range res {
			if r.err != nil && r.perms != nil {
				t.Fatalf("a failed folder with entries: %+v", r)
			}
		}
	})
}

// FuzzOrdinaryRun: the word-at-a-time scan stops where the byte-by-byte
// one does.
func FuzzOrdinaryRun(f *testing.F) {
	for _, s := range []string{"", "abcdefgh&ijk", "abcdefghijklmnop\x01", "\t\r\nabcdefgh", "AAAAAAAAAAAAAAAAAAAAAAAA&#x0;", "\xff\xfe\x80\x9f&&&&&&&&"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := 0
		for want < len(b) && !special[b[want]] {
			want++
		}
		if got := ordinaryRun(b); got != want {
			t.Fatalf("ordinaryRun(%q) = %d, want %d", b, got, want)
		}
	})
}
