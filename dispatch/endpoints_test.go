package dispatch

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/mailbox"
)

// namedDispatcher has the two legacy sides and two tenants. The tenants
// fail any detection: with named endpoints --from is explicit.
func namedDispatcher() *Dispatcher {
	noDetect := errors.New("detection asked of a named endpoint")
	return &Dispatcher{
		OnPrem: &presenceSide{loc: mailbox.LocationOnPrem, known: map[string]Presence{"ann@contoso.com": {Found: true}}},
		Cloud:  &presenceSide{loc: mailbox.LocationCloud, known: map[string]Presence{"bob@contoso.com": {Found: true}}},
		Endpoints: map[string]Side{
			"fabrikam": &presenceSide{loc: mailbox.LocationCloud, err: noDetect},
			"contoso":  &presenceSide{loc: mailbox.LocationCloud, err: noDetect},
		},
	}
}

func TestLocateNamedEndpoints(t *testing.T) {
	d := namedDispatcher()
	ctx := context.Background()
	if got := d.Names(); !slices.Equal(got, []string{"onprem", "cloud", "contoso", "fabrikam"}) {
		t.Errorf("Names = %v", got)
	}
	tenants := Way{From: "contoso", To: "fabrikam"}
	tests := []struct {
		name     string
		entry    csvinput.Entry
		way      Way
		endpoint string
		loc      mailbox.Location
		seen     string
		wantErr  string
	}{
		{"--from a named endpoint is explicit", csvinput.Entry{Address: "x@contoso.com"}, tenants, "contoso", mailbox.LocationCloud, "from --from", ""},
		{"the row's Location wins", csvinput.Entry{Address: "x@contoso.com", Location: mailbox.LocationOnPrem}, tenants, "onprem", mailbox.LocationOnPrem, "from the list", ""},
		{"--from onprem still detects", csvinput.Entry{Address: "bob@contoso.com"}, Way{From: "onprem", To: "fabrikam"}, "cloud", mailbox.LocationCloud, "cloud: mailbox found; onprem: no such user", ""},
		{"a direction detects", csvinput.Entry{Address: "ann@contoso.com"}, Onboarding.Way(), "onprem", mailbox.LocationOnPrem, "cloud: no such user; onprem: mailbox found", ""},
		{"unknown --from", csvinput.Entry{Address: "x@contoso.com"}, Way{From: "northwind", To: "fabrikam"}, "", "", "",
			"x@contoso.com: --from: the endpoint northwind is not configured (the config has onprem, cloud, contoso, fabrikam); add it to the config file or use one of those"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := d.LocateFor(ctx, tt.entry, tt.way)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v\nwant %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || r.Endpoint != tt.endpoint || r.Location != tt.loc || r.Seen != tt.seen {
				t.Errorf("route = %s %s %q, %v; want %s %s %q", r.Endpoint, r.Location, r.Seen, err, tt.endpoint, tt.loc, tt.seen)
			}
		})
	}
	// Locate without a way is the old behaviour: the list, else detection.
	if r, err := d.Locate(ctx, csvinput.Entry{Address: "ann@contoso.com"}); err != nil || r.Endpoint != "onprem" {
		t.Errorf("Locate = %+v, %v", r, err)
	}
}

func TestOpenWayKeysByEndpoint(t *testing.T) {
	d := namedDispatcher()
	ctx := context.Background()
	open := func(e csvinput.Entry, w Way) (engine.JobKey, error) {
		r, err := d.LocateFor(ctx, e, w)
		if err != nil {
			return engine.JobKey{}, err
		}
		_, _, key, err := d.OpenWay(r, w)
		return key, err
	}
	tenants := Way{From: "contoso", To: "fabrikam"}

	key, err := open(csvinput.Entry{Address: "ann@contoso.com", Target: "ann@fabrikam.com"}, tenants)
	if want := (engine.JobKey{SourceAddress: "ann@contoso.com", SourceLocation: "contoso", TargetAddress: "ann@fabrikam.com", TargetLocation: "fabrikam"}); err != nil || key != want {
		t.Errorf("tenant to tenant: key = %+v, %v; want %+v", key, err, want)
	}
	// The same address in another tenant is another mailbox.
	if _, err := open(csvinput.Entry{Address: "ann@contoso.com", Target: "ann@contoso.com"}, tenants); err != nil {
		t.Errorf("same address, other tenant: %v", err)
	}
	if _, err := open(csvinput.Entry{Address: "ann@contoso.com", Target: "ann@contoso.com"}, Way{From: "contoso", To: "contoso"}); err == nil ||
		!strings.Contains(err.Error(), "source and target are the same mailbox") {
		t.Errorf("same address, same tenant: %v", err)
	}
	// Any endpoint to any other, whatever their types.
	key, err = open(csvinput.Entry{Address: "ann@contoso.com", Target: "ann@contoso.com"}, Way{From: "contoso", To: "onprem"})
	if err != nil || key.SourceLocation != "contoso" || key.TargetLocation != "onprem" {
		t.Errorf("contoso to onprem: key = %+v, %v", key, err)
	}
	// A row's Location that disagrees with --from is reported, not guessed past.
	_, err = open(csvinput.Entry{Address: "ann@contoso.com", Target: "a@fabrikam.com", Location: mailbox.LocationCloud}, tenants)
	if err == nil || err.Error() != "ann@contoso.com: the mailbox is cloud but --from contoso --to fabrikam copies from contoso; use another --from or leave it out of this list" {
		t.Errorf("Location against --from: %v", err)
	}
	_, err = open(csvinput.Entry{Address: "ann@contoso.com", Target: "a@fabrikam.com"}, Way{From: "contoso", To: "northwind"})
	if err == nil || err.Error() != "ann@contoso.com: --from contoso --to northwind: the endpoint northwind is not configured (the config has onprem, cloud, contoso, fabrikam); add it to the config file or use one of those" {
		t.Errorf("unknown --to: %v", err)
	}
}

// A two-sided configuration keys its jobs, and so stamps its items, exactly
// as before named endpoints: existing state files and stamped targets stay
// valid.
func TestLegacyKeysAndStampsUnchanged(t *testing.T) {
	d := &Dispatcher{OnPrem: &presenceSide{loc: mailbox.LocationOnPrem, known: map[string]Presence{"ann@contoso.com": {Found: true}}},
		Cloud: &presenceSide{loc: mailbox.LocationCloud}}
	e := csvinput.Entry{Address: "ann@contoso.com", Target: "ann@contoso.onmicrosoft.com"}
	for _, w := range []Way{Onboarding.Way(), {From: "onprem", To: "cloud"}} {
		r, err := d.LocateFor(context.Background(), e, w)
		if err != nil {
			t.Fatal(err)
		}
		_, _, key, err := d.OpenWay(r, w)
		want := engine.JobKey{SourceAddress: "ann@contoso.com", SourceLocation: "onprem", TargetAddress: "ann@contoso.onmicrosoft.com", TargetLocation: "cloud"}
		if err != nil || key != want {
			t.Fatalf("%s: key = %+v, %v; want %+v", w, key, err, want)
		}
		// sha256("onprem|ann@contoso.com|AAMkAGI2TG93AAA="), as stamped before.
		if got := engine.SourceID(key, "AAMkAGI2TG93AAA="); got != "exm1-b34b094caf6dcdefa397944b0c4bbebdd0a9a1e4" {
			t.Errorf("%s: stamp = %s", w, got)
		}
	}
	if _, _, _, err := (&Dispatcher{Cloud: &presenceSide{loc: mailbox.LocationCloud}}).Open(Route{Entry: e, Endpoint: "onprem", Location: mailbox.LocationOnPrem}, Onboarding); err == nil ||
		err.Error() != "ann@contoso.com: --direction onboarding needs both the onprem and the cloud side configured" {
		t.Errorf("missing side: %v", err)
	}
}
