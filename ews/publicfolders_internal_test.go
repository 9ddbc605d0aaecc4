package ews

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
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
	const guid = "1ec2a236-ed93-4f88-b9c6-33e63fa4aa44"
	for _, c := range []struct {
		id, route, raw string
		ok             bool
	}{
		{pfID(guid, "AAMkAD+/="), guid, "AAMkAD+/=", true},
		{pfID("", "AAMkAD+/="), "", "AAMkAD+/=", true}, // the hierarchy mailbox
		{"pf:" + guid + ":AQ:B", guid, "AQ:B", true},
		{"pf:pfmbx@contoso.com:AQ", "", "", false}, // an address is not a route
		{"AAMkADpf:x:y", "", "", false},
		{"pf:", "", "", false},
		{"pf:" + guid, "", "", false},
		{"pf:" + guid + ":", "", "", false},
	} {
		route, raw, ok := splitPF(c.id)
		if route != c.route || raw != c.raw || ok != c.ok {
			t.Errorf("splitPF(%q) = %q, %q, %v; want %q, %q, %v", c.id, route, raw, ok, c.route, c.raw, c.ok)
		}
	}
}

// TestPublicRoute: a content mailbox GUID is sent as GUID@ the domain of
// the hierarchy mailbox; the hierarchy route as the hierarchy mailbox;
// a request about a mailbox gets no public route.
func TestPublicRoute(t *testing.T) {
	c, err := NewClient(Config{URL: "https://mail.contoso.com/EWS/Exchange.asmx", Username: "u", Password: "p", PublicFolderMailbox: "pfmbx@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, r := range []struct {
		ctx  context.Context
		want string
	}{
		{withPublicRoute(ctx, "1ec2a236-ed93-4f88-b9c6-33e63fa4aa44"), "1ec2a236-ed93-4f88-b9c6-33e63fa4aa44@contoso.com"},
		{withPublicRoute(ctx, ""), "pfmbx@contoso.com"},
		{ctx, ""},
	} {
		if got := c.publicRouteOf(r.ctx); got != r.want {
			t.Errorf("publicRouteOf = %q, want %q", got, r.want)
		}
	}
}

// FuzzPublicFolderIDs: whatever a caller hands back as an id and whatever
// a server answers as PR_REPLICA_LIST, the parsers never panic; an id
// built by pfID from a replica GUID parses back to its parts.
func FuzzPublicFolderIDs(f *testing.F) {
	f.Add("pf:1ec2a236-ed93-4f88-b9c6-33e63fa4aa44:AAMk", "AAMkAD+/=", "MWVjMmEyMzYtZWQ5My00Zjg4LWI5YzYtMzNlNjNmYTRhYTQ0AA==")
	f.Add("", "", "")
	f.Add("pf::c", "c", "AAAA")
	f.Fuzz(func(t *testing.T, id, raw, replica string) {
		guid := replicaGUID(replica)
		if guid != "" && !guidRE.MatchString(guid) {
			t.Fatalf("replicaGUID(%q) = %q: not a GUID", replica, guid)
		}
		if r, x, ok := splitPF(id); ok && (x == "" || (r != "" && !guidRE.MatchString(r))) {
			t.Fatalf("splitPF(%q) = %q, %q", id, r, x)
		}
		if raw == "" {
			return
		}
		if r, x, ok := splitPF(pfID(guid, raw)); !ok || r != guid || x != raw {
			t.Fatalf("splitPF(pfID(%q, %q)) = %q, %q, %v", guid, raw, r, x, ok)
		}
	})
}

// FuzzListingOffset: any state resumes at an offset of 0 or more, or is
// ErrSyncStateInvalid; a state a listing hands out resumes where it said.
func FuzzListingOffset(f *testing.F) {
	for _, s := range []string{"", pfListingDone, pfListingAt + "1000", pfListingAt + "-1", pfListingAt, "H4sIAAAA", pfListingAt + "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, state string) {
		n, err := listingOffset(state)
		if err != nil {
			if !errors.Is(err, mailbox.ErrSyncStateInvalid) || n != 0 {
				t.Fatalf("listingOffset(%q) = %d, %v", state, n, err)
			}
			return
		}
		if n < 0 {
			t.Fatalf("listingOffset(%q) = %d", state, n)
		}
		if m, err := listingOffset(pfListingAt + strconv.Itoa(n)); err != nil || m != n {
			t.Fatalf("listingOffset of the state for %d = %d, %v", n, m, err)
		}
	})
}
