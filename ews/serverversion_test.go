package ews_test

import (
	"slices"
	"testing"

	"github.com/exmigrate/exmigrate/ews"
)

func TestServerVersions(t *testing.T) {
	vs := ews.ServerVersions()
	if want := []string{"Exchange2013", "Exchange2013_SP1", "Exchange2015", "Exchange2016"}; !slices.Equal(vs, want) {
		t.Fatalf("ServerVersions() = %q, want %q", vs, want)
	}
	if !slices.IsSorted(vs) {
		t.Errorf("ServerVersions() = %q, want it sorted", vs)
	}
	for _, v := range vs {
		if !ews.ValidServerVersion(v) {
			t.Errorf("ValidServerVersion(%q) = false for a listed version", v)
		}
	}
	for _, v := range []string{"", "Exchange2019", "exchange2016", "Exchange2010_SP2", "V2017_07_11"} {
		if ews.ValidServerVersion(v) {
			t.Errorf("ValidServerVersion(%q) = true", v)
		}
	}
	vs[0] = "changed"
	if ews.ServerVersions()[0] != "Exchange2013" {
		t.Error("ServerVersions returned the package's own slice")
	}
}
