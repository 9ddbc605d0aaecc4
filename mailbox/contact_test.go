package mailbox

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func sampleContact() Contact {
	return Contact{DisplayName: "Dr. Ana Lima", GivenName: "Ana", Surname: "Lima", Title: "Dr.", CompanyName: "Fabrikam",
		JobTitle: "Engineer", EmailAddresses: []ContactEmail{{Name: "Ana Lima", Address: "ana@fabrikam.com"}, {Address: "ana@example.org"}},
		BusinessPhones: []string{"+49 30 1234"}, MobilePhone: "+49 170 5678", Birthday: "1984-02-29",
		BusinessAddr: &PostalAddress{Street: "Hauptstr. 1", City: "Berlin", PostalCode: "10115", CountryOrRegion: "Germany"},
		Children:     []string{"Leo"}, PersonalNotes: "Met at the summit.", Categories: []string{"Customers"}}
}

func TestContactRoundTrip(t *testing.T) {
	c := sampleContact()
	data, err := EncodeContact(c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeContact(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, c)
	}
}

func TestContactRefused(t *testing.T) {
	four := []ContactEmail{{Address: "a@x"}, {Address: "b@x"}, {Address: "c@x"}, {Address: "d@x"}}
	tests := map[string][]byte{
		"not JSON":      []byte("BEGIN:VCARD"),
		"another kind":  []byte(`{"kind":"calendar","v":1,"item":{}}`),
		"newer version": []byte(`{"kind":"contacts","v":2,"item":{}}`),
		"unknown field": []byte(`{"kind":"contacts","v":1,"item":{"shoeSize":44}}`),
		"bad birthday":  []byte(`{"kind":"contacts","v":1,"item":{"birthday":"29.02.1984"}}`),
		"empty address": []byte(`{"kind":"contacts","v":1,"item":{"emailAddresses":[{"name":"x"}]}}`),
		"too big":       append([]byte(`{"kind":"contacts","v":1,"item":{"personalNotes":"`), append(bytes.Repeat([]byte("x"), maxTypedBytes), '"', '}', '}')...),
	}
	for name, data := range tests {
		if _, err := DecodeContact(bytes.NewReader(data)); !errors.Is(err, ErrBadTyped) {
			t.Errorf("%s: err = %v, want ErrBadTyped", name, err)
		}
	}
	if _, err := EncodeContact(Contact{EmailAddresses: four}); !errors.Is(err, ErrBadTyped) {
		t.Errorf("4 e-mail addresses: %v, want ErrBadTyped", err)
	}
}

// FuzzDecodeContact: any input is decoded or refused with ErrBadTyped, and
// what decodes encodes to something that decodes to the same contact.
func FuzzDecodeContact(f *testing.F) {
	seed, _ := EncodeContact(sampleContact())
	f.Add(seed)
	f.Add([]byte(`{"kind":"contacts","v":1,"item":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeContact(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBadTyped) {
				t.Fatalf("error %v is not ErrBadTyped", err)
			}
			return
		}
		again, err := EncodeContact(c)
		if err != nil {
			t.Fatalf("a decoded contact does not encode: %v", err)
		}
		c2, err := DecodeContact(bytes.NewReader(again))
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("re-encoded contact differs: %v\n%+v\n%+v", err, c, c2)
		}
	})
}
