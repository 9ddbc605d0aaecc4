package fakestream

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

func TestRoundTrip(t *testing.T) {
	it := Item{Dialect: DialectEWS, Class: mailbox.ClassTask, Subject: "x", IsRead: true, Received: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Task: &mailbox.Task{Subject: "x", Status: "InProgress", PercentComplete: 40}, Ext: map[string]string{"0x8102": "0.4"}}
	b, err := Encode(it)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil || !reflect.DeepEqual(got, it) {
		t.Fatalf("round trip: %v\n%+v\n%+v", err, got, it)
	}
	for name, data := range map[string][]byte{"no magic": []byte(`{"dialect":"ews","class":"IPM.Note"}`),
		"bad dialect": append([]byte("EXMFF1\n"), `{"dialect":"imap","class":"IPM.Note"}`...),
		"no class":    append([]byte("EXMFF1\n"), `{"dialect":"ews"}`...),
		"unknown key": append([]byte("EXMFF1\n"), `{"dialect":"ews","class":"IPM.Note","x":1}`...)} {
		if _, err := Decode(data); !errors.Is(err, ErrNotAStream) {
			t.Errorf("%s: %v, want ErrNotAStream", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := Encode(Item{Dialect: DialectGraph, Class: "IPM.Note", MIME: []byte("Subject: x\r\n\r\nx")})
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		it, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrNotAStream) {
				t.Fatalf("error %v does not wrap ErrNotAStream", err)
			}
			return
		}
		again, err := Encode(it)
		if err != nil {
			t.Fatal(err)
		}
		if it2, err := Decode(again); err != nil || !reflect.DeepEqual(it, it2) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
