package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/mailbox"
)

func TestParseStores(t *testing.T) {
	rec := func(s mailbox.Scope) map[mailbox.Scope]engine.StoreTarget {
		return map[mailbox.Scope]engine.StoreTarget{mailbox.ScopeRecoverable: {Store: s, Folder: recoverableFolder}}
	}
	for _, tt := range []struct {
		name    string
		stores  []string
		into    string
		want    []mailbox.Scope
		wantTo  map[mailbox.Scope]engine.StoreTarget
		wantErr string
	}{
		{"default", nil, "primary", []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeArchive}, nil, ""},
		{"primary only", []string{"primary"}, "primary", []mailbox.Scope{mailbox.ScopePrimary}, nil, ""},
		{"recoverable into the archive", []string{"primary", " Recoverable "}, "archive", []mailbox.Scope{mailbox.ScopePrimary, mailbox.ScopeRecoverable}, rec(mailbox.ScopeArchive), ""},
		{"recoverable into the primary, twice named", []string{"recoverable-items", "recoverable"}, "primary", []mailbox.Scope{mailbox.ScopeRecoverable}, rec(mailbox.ScopePrimary), ""},
		{"unknown store", []string{"primary", "arhcive"}, "primary", nil, nil, `unknown store "arhcive"`},
		{"public folders", []string{"publicfolders"}, "primary", nil, nil, "--public-folders"},
		{"bad place for Recoverable Items", []string{"recoverable"}, "inbox", nil, nil, `--recoverable-into: "inbox"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, into, err := parseStores(tt.stores, tt.into)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(into, tt.wantTo) {
				t.Fatalf("got %v %v %v, want %v %v", got, into, err, tt.want, tt.wantTo)
			}
		})
	}
}
