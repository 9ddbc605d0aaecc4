package mapping

import (
	"reflect"
	"slices"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// LostParts compares a rule as it was sent to a target with the rule read
// back, and names every part of sent that did not survive: a predicate or
// action missing or different, the display name or the enabled state. Graph
// replaces whole condition objects on PATCH and empties the conditions of
// rules it cannot represent, so a created rule must be checked this way.
//
// Comparison is lenient where the services are: strings compare without
// regard to case, and lists as sets. Priority is not compared, because the
// target may renumber sequences.
func LostParts(sent, got mailbox.Rule) []string {
	var lost []string
	if !strings.EqualFold(sent.Name, got.Name) {
		lost = append(lost, "rule.Name")
	}
	if sent.Enabled != got.Enabled {
		lost = append(lost, "rule.Enabled")
	}
	for _, sec := range []struct {
		name      string
		sent, got *mailbox.Predicates
	}{{"conditions", &sent.Conditions, &got.Conditions}, {"exceptions", &sent.Exceptions, &got.Exceptions}} {
		sv, gv := reflect.ValueOf(sec.sent).Elem(), reflect.ValueOf(sec.got).Elem()
		for _, p := range predicateTable {
			if p.isSet(sec.sent) && !sameValue(sv.FieldByName(p.Name), gv.FieldByName(p.Name)) {
				lost = append(lost, sec.name+"."+p.Name)
			}
		}
	}
	sv, gv := reflect.ValueOf(&sent.Actions).Elem(), reflect.ValueOf(&got.Actions).Elem()
	for _, a := range actionTable {
		if !a.isSet(&sent.Actions) {
			continue
		}
		s, g := sv.FieldByName(a.Name), gv.FieldByName(a.Name)
		// Folder ids are opaque and case-sensitive.
		folderID := a.Name == "CopyToFolder" || a.Name == "MoveToFolder"
		if (folderID && s.String() != g.String()) || (!folderID && !sameValue(s, g)) {
			lost = append(lost, "actions."+a.Name)
		}
	}
	return lost
}

// sameValue compares two fields of the rule shapes: strings without case,
// string lists as case-insensitive sets, pointers by what they point at.
func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.String:
		return strings.EqualFold(a.String(), b.String())
	case reflect.Slice:
		as, bs := a.Interface().([]string), b.Interface().([]string)
		return sameSet(as, bs)
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return reflect.DeepEqual(a.Elem().Interface(), b.Elem().Interface())
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

func sameSet(a, b []string) bool {
	norm := func(s []string) []string {
		out := make([]string, 0, len(s))
		for _, x := range s {
			out = append(out, strings.ToLower(x))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}
