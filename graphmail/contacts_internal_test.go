package graphmail

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
)

func TestContactToGraph(t *testing.T) {
	cases := []struct {
		name string
		in   mailbox.Contact
		src  string
		want string // the create body
	}{
		{"empty, unstamped", mailbox.Contact{}, "", `{}`},
		{"names and a stamp", mailbox.Contact{DisplayName: "Ana", GivenName: "Ana", Surname: "Lima"}, "s-1",
			`{"displayName":"Ana","givenName":"Ana","surname":"Lima","singleValueExtendedProperties":[{"id":"` + sourceIDProp + `","value":"s-1"}]}`},
		{"birthday at midnight UTC", mailbox.Contact{Birthday: "1984-02-29"}, "", `{"birthday":"1984-02-29T00:00:00Z"}`},
		{"lists and addresses keep Graph's names", mailbox.Contact{EmailAddresses: []mailbox.ContactEmail{{Address: "a@x"}}, BusinessHome: "https://x",
			HomeAddress: &mailbox.PostalAddress{City: "Berlin"}, BusinessAddr: &mailbox.PostalAddress{Street: "S"}, PersonalNotes: "n"}, "",
			`{"emailAddresses":[{"address":"a@x"}],"businessHomePage":"https://x","homeAddress":{"city":"Berlin"},"businessAddress":{"street":"S"},"personalNotes":"n"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(contactToGraph(tc.in, tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestContactFromGraph(t *testing.T) {
	cases := []struct {
		name    string
		answer  string // a Graph contact as GET returns it
		want    mailbox.Contact
		wantErr error
	}{
		{"empty members and lists are none", `{"id":"c","displayName":"Ana","homeAddress":{},"businessAddress":{"street":"","city":""},
			"otherAddress":null,"emailAddresses":[],"categories":[],"birthday":null,"mobilePhone":null}`, mailbox.Contact{DisplayName: "Ana"}, nil},
		{"birthday in UTC", `{"birthday":"1984-02-29T00:00:00Z"}`, mailbox.Contact{Birthday: "1984-02-29"}, nil},
		{"birthday with an offset keeps its date", `{"birthday":"1984-02-29T00:00:00+01:00"}`, mailbox.Contact{Birthday: "1984-02-29"}, nil},
		{"birthday not a date", `{"birthday":"soon"}`, mailbox.Contact{}, mailbox.ErrBadTyped},
		{"every field", "", mailboxtest.SampleContact(), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			answer := tc.answer
			if answer == "" {
				b, _ := json.Marshal(contactToGraph(tc.want, "s"))
				answer = string(b)
			}
			var g graphContact
			if err := json.Unmarshal([]byte(answer), &g); err != nil {
				t.Fatal(err)
			}
			got, err := contactFromGraph(g)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseBirthday(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"1984-02-29T00:00:00Z", "1984-02-29", true},
		{"1984-02-29T00:00:00.0000000Z", "1984-02-29", true},
		{"1984-02-29T11:00:00-05:00", "1984-02-29", true},
		{"1984-02-29", "1984-02-29", true},
		{"1985-02-29T00:00:00Z", "", false},
		{"", "", false},
		{"29/02/1984", "", false},
	} {
		got, err := parseBirthday(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseBirthday(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzParseBirthday: any answer gives a date the model accepts, or an
// error matching ErrBadTyped; never a panic.
func FuzzParseBirthday(f *testing.F) {
	for _, s := range []string{"1984-02-29T00:00:00Z", "1984-02-29T00:00:00+14:00", "1984-02-29", "0000-01-01T00:00:00Z", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseBirthday(s)
		if err != nil {
			if !errors.Is(err, mailbox.ErrBadTyped) {
				t.Fatalf("error %v does not match ErrBadTyped", err)
			}
			return
		}
		if verr := (mailbox.Contact{Birthday: d}).Validate(); verr != nil {
			t.Fatalf("parseBirthday(%q) = %q, which the model refuses: %v", s, d, verr)
		}
	})
}
