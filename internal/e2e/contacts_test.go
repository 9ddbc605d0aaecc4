package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

// TestContactsOnboarding copies contacts written through the real EWS
// client into an on-prem mailbox to Exchange Online, and compares every
// property of each contact with what the Graph fake itself stores (its own
// listing, not exmigrate's reading); the copies carry their stamps, and a
// second pass writes nothing.
func TestContactsOnboarding(t *testing.T) {
	e := startLab(t, mustScenario(t, `
domain: contoso.com
cloud_domain: contoso.onmicrosoft.com
seed: 9
mailboxes:
  - address: nina@contoso.com
    location: onprem
    folders: {Inbox: 3}
`), lab.Options{})
	const src, dst = "nina@contoso.com", "nina@contoso.onmicrosoft.com"
	entry := csvinput.Entry{Address: src, Target: dst, Location: mailbox.LocationOnPrem}
	ctx := context.Background()
	route, err := e.disp.Locate(ctx, entry)
	if err != nil {
		t.Fatal(err)
	}
	source, _, _, err := e.disp.Open(route, dispatch.Onboarding)
	if err != nil {
		t.Fatal(err)
	}
	writer, ok := source.(mailbox.Target)
	if !ok {
		t.Fatalf("the EWS source %T cannot write", source)
	}
	folders, err := source.Folders(ctx, mailbox.ScopePrimary)
	if err != nil {
		t.Fatal(err)
	}
	var contactsID string
	for _, f := range folders {
		if f.Path == "Contacts" {
			contactsID = f.ID
		}
	}
	if contactsID == "" {
		t.Fatal("the source has no Contacts folder")
	}
	want := map[string]mailbox.Contact{}
	for i := range 3 {
		c := mailboxtest.SampleContact()
		c.DisplayName = fmt.Sprintf("%s %d", c.DisplayName, i)
		if i == 2 { // a sparse one: only what Outlook's quick add writes
			c = mailbox.Contact{DisplayName: "Quick Add 2", GivenName: "Quick", EmailAddresses: []mailbox.ContactEmail{{Address: "quick@example.org"}}}
		}
		body, err := mailbox.EncodeContact(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := writer.CreateItem(ctx, contactsID, mailbox.Payload{Item: mailbox.Item{Class: mailbox.ClassContact, Subject: c.DisplayName},
			SourceID: fmt.Sprintf("seed-%d", i), Format: mailbox.FormatTyped, Body: bytes.NewReader(body), Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		want[c.DisplayName] = c
	}

	res := e.copyOnce(t, entry, dispatch.Onboarding, testOptions())
	if res.ItemsCopied != 6 || res.Skipped != 0 {
		t.Fatalf("copied %d, skipped %d (%v); want 6 (3 messages, 3 contacts)", res.ItemsCopied, res.Skipped, res.SkipReasons)
	}
	fx := e.lab.Graph.Mailbox(dst)
	got := fx.Contacts(fx.ContactsFolderID())
	if len(got) != 3 {
		t.Fatalf("the target's Contacts folder holds %d contacts, want 3", len(got))
	}
	for _, g := range got {
		name, _ := g.Props["displayName"].(string)
		w, ok := want[name]
		if !ok {
			t.Errorf("the target holds a contact %q the source does not", name)
			continue
		}
		if stamped := len(g.ExtendedProperties) > 0 && strings.HasPrefix(firstValue(g.ExtendedProperties), "exm1-"); !stamped {
			t.Errorf("%s: no exmigrate stamp among %v", name, g.ExtendedProperties)
		}
		// Every property the source holds, by its Graph name, as the
		// fake stored it; and nothing the source does not hold.
		raw, _ := json.Marshal(w)
		var props map[string]any
		_ = json.Unmarshal(raw, &props)
		for k, v := range props {
			have := g.Props[k]
			if k == "birthday" { // Graph holds a date-time: the date at midnight UTC
				if s, _ := have.(string); !strings.HasPrefix(s, v.(string)+"T00:00:00") {
					t.Errorf("%s: birthday %v, want %v at midnight", name, have, v)
				}
				continue
			}
			if !reflect.DeepEqual(normaliseJSON(have), normaliseJSON(v)) {
				t.Errorf("%s: %s = %v on the target, %v at the source", name, k, have, v)
			}
		}
		for k, v := range g.Props {
			if _, there := props[k]; !there && !emptyJSON(v) {
				t.Errorf("%s: %s = %v on the target, which the source does not hold", name, k, v)
			}
		}
	}

	writes := e.lab.Graph.Writes()
	if res := e.copyOnce(t, entry, dispatch.Onboarding, testOptions()); res.ItemsCopied != 0 || e.lab.Graph.Writes() != writes {
		t.Errorf("second pass: copied %d, %d writes; want none", res.ItemsCopied, e.lab.Graph.Writes()-writes)
	}
}

func firstValue(m map[string]string) string {
	for _, v := range m {
		return v
	}
	return ""
}

// normaliseJSON makes values decoded from different JSON comparable: an
// empty string in an object (Graph's "state": "") is the same as none.
func normaliseJSON(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return dropEmpty(out)
}

func dropEmpty(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			if emptyJSON(y) {
				delete(x, k)
			} else {
				x[k] = dropEmpty(y)
			}
		}
	case []any:
		for i := range x {
			x[i] = dropEmpty(x[i])
		}
	}
	return v
}

func emptyJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		for _, y := range x {
			if !emptyJSON(y) {
				return false
			}
		}
		return true
	}
	return false
}
