package ews

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestReplicaGUID(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	for _, c := range []struct {
		name, value, want string
	}{
		{"as the how-to shows it", "MWVjMmEyMzYtZWQ5My00Zjg4LWI5YzYtMzNlNjNmYTRhYTQ0AA==", "1ec2a236-ed93-4f88-b9c6-33e63fa4aa44"},
		{"upper case, no NUL", b64([]byte("1EC2A236-ED93-4F88-B9C6-33E63FA4AA44")), "1ec2a236-ed93-4f88-b9c6-33e63fa4aa44"},
		{"folded base64", "MWVjMmEyMzYtZWQ5My00Zjg4\n LWI5YzYtMzNlNjNmYTRhYTQ0AA==", "1ec2a236-ed93-4f88-b9c6-33e63fa4aa44"},
		{"too short", b64([]byte("1ec2a236-ed93")), ""},
		{"not a GUID", b64([]byte("zzzzzzzz-ed93-4f88-b9c6-33e63fa4aa44\x00")), ""},
		{"a GUID run on", b64([]byte("1ec2a236-ed93-4f88-b9c6-33e63fa4aa44x")), ""},
		{"not base64", "%%%", ""},
		{"empty", "", ""},
	} {
		if got := replicaGUID(c.value); got != c.want {
			t.Errorf("%s: replicaGUID(%q) = %q, want %q", c.name, c.value, got, c.want)
		}
	}
}

func TestPublicIDs(t *testing.T) {
	for _, c := range []struct {
		id, route, raw string
		ok             bool
	}{
		{pfID("1ec2a236-ed93-4f88-b9c6-33e63fa4aa44@contoso.com", "AAMkAD+/="), "1ec2a236-ed93-4f88-b9c6-33e63fa4aa44@contoso.com", "AAMkAD+/=", true},
		{"pf:pfmbx@contoso.com:AQ:B", "pfmbx@contoso.com", "AQ:B", true},
		{"AAMkADpf:x:y", "", "", false},
		{"pf:", "", "", false},
		{"pf:route-only", "", "", false},
		{"pf::AAMk", "", "", false},
		{"pf:a@b:", "", "", false},
	} {
		route, raw, ok := splitPF(c.id)
		if route != c.route || raw != c.raw || ok != c.ok {
			t.Errorf("splitPF(%q) = %q, %q, %v; want %q, %q, %v", c.id, route, raw, ok, c.route, c.raw, c.ok)
		}
	}
}

// FuzzPublicFolderIDs: whatever a caller hands back as an id and whatever
// a server answers as PR_REPLICA_LIST, the parsers never panic; an id
// built by pfID parses back to its parts, and a replica GUID is one.
func FuzzPublicFolderIDs(f *testing.F) {
	f.Add("pfmbx@contoso.com", "AAMkAD+/=", "MWVjMmEyMzYtZWQ5My00Zjg4LWI5YzYtMzNlNjNmYTRhYTQ0AA==")
	f.Add("", "", "")
	f.Add("a:b", "c", "AAAA")
	f.Fuzz(func(t *testing.T, route, raw, replica string) {
		if g := replicaGUID(replica); g != "" && !guidRE.MatchString(g) {
			t.Fatalf("replicaGUID(%q) = %q: not a GUID", replica, g)
		}
		r, id, ok := splitPF(route)
		if ok && (r == "" || id == "" || strings.Contains(r, ":")) {
			t.Fatalf("splitPF(%q) = %q, %q", route, r, id)
		}
		if route == "" || raw == "" || strings.Contains(route, ":") {
			return
		}
		if r, id, ok := splitPF(pfID(route, raw)); !ok || r != route || id != raw {
			t.Fatalf("splitPF(pfID(%q, %q)) = %q, %q, %v", route, raw, r, id, ok)
		}
	})
}
