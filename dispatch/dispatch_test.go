package dispatch

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/mailbox"
)

// presenceSide answers Detect from a table; Open is not used by these tests.
type presenceSide struct {
	loc   mailbox.Location
	known map[string]Presence
	err   error
}

func (s *presenceSide) Location() mailbox.Location { return s.loc }
func (s *presenceSide) Detect(_ context.Context, addr string) (Presence, error) {
	if s.err != nil {
		return Presence{}, s.err
	}
	if p, ok := s.known[addr]; ok {
		return p, nil
	}
	return Presence{Detail: "no such user"}, nil
}
func (s *presenceSide) Open(string) Mailbox { return nil }

func TestLocate(t *testing.T) {
	cloud := &presenceSide{loc: mailbox.LocationCloud, known: map[string]Presence{
		"cloud@contoso.com":  {Found: true, Type: mailbox.TypeUser, Detail: "Exchange Online user mailbox"},
		"both@contoso.com":   {Found: true, Detail: "Exchange Online user mailbox"},
		"onprem@contoso.com": {Detail: "MailboxNotEnabledForRESTAPI"},
	}}
	onprem := &presenceSide{loc: mailbox.LocationOnPrem, known: map[string]Presence{
		"onprem@contoso.com": {Found: true, Type: mailbox.TypeShared, Detail: "on-prem mailbox"},
		"both@contoso.com":   {Found: true, Detail: "on-prem mailbox"},
	}}
	d := &Dispatcher{OnPrem: onprem, Cloud: cloud}
	tests := []struct {
		addr    string
		loc     mailbox.Location
		want    mailbox.Location
		wantErr string
	}{
		{"cloud@contoso.com", mailbox.LocationAuto, mailbox.LocationCloud, ""},
		{"onprem@contoso.com", mailbox.LocationAuto, mailbox.LocationOnPrem, ""},
		{"listed@contoso.com", mailbox.LocationOnPrem, mailbox.LocationOnPrem, ""},
		{"both@contoso.com", mailbox.LocationAuto, "", "both@contoso.com: found on both sides (cloud: Exchange Online user mailbox; onprem: on-prem mailbox); set Location in the list to say which is the source"},
		{"ghost@contoso.com", mailbox.LocationAuto, "", "ghost@contoso.com: found on neither side (cloud: no such user; onprem: no such user); check the address, or set Location in the list"},
	}
	for _, tt := range tests {
		r, err := d.Locate(context.Background(), csvinput.Entry{Address: tt.addr, Target: tt.addr, Location: tt.loc})
		if tt.wantErr != "" {
			var le *LocationError
			if !errors.As(err, &le) || err.Error() != tt.wantErr {
				t.Errorf("%s: err = %v, want %q", tt.addr, err, tt.wantErr)
			}
			continue
		}
		if err != nil || r.Location != tt.want {
			t.Errorf("%s: Locate = %v, %v; want %v", tt.addr, r.Location, err, tt.want)
		}
	}
	if r, _ := d.Locate(context.Background(), csvinput.Entry{Address: "onprem@contoso.com", Location: mailbox.LocationAuto}); r.Type != mailbox.TypeShared {
		t.Errorf("type not carried: %+v", r)
	}

	// A side that fails is an error for the mailbox, not a guess.
	broken := &Dispatcher{Cloud: &presenceSide{loc: mailbox.LocationCloud, err: mailbox.ErrAuthentication}, OnPrem: onprem}
	if _, err := broken.Locate(context.Background(), csvinput.Entry{Address: "x@contoso.com"}); !errors.Is(err, mailbox.ErrAuthentication) {
		t.Errorf("err = %v, want the side's error", err)
	}
	onlyCloud := &Dispatcher{Cloud: cloud}
	if _, err := onlyCloud.Locate(context.Background(), csvinput.Entry{Address: "a@contoso.com", Location: mailbox.LocationOnPrem}); err == nil ||
		!strings.Contains(err.Error(), "the onprem side is not configured") {
		t.Errorf("err = %v", err)
	}
}

func TestOpenChecksDirection(t *testing.T) {
	d := &Dispatcher{OnPrem: &presenceSide{loc: mailbox.LocationOnPrem}, Cloud: &presenceSide{loc: mailbox.LocationCloud}}
	route := Route{Entry: csvinput.Entry{Address: "a@contoso.com", Target: "a@contoso.com"}, Location: mailbox.LocationCloud}
	if _, _, _, err := d.Open(route, Onboarding); err == nil || err.Error() != "a@contoso.com: the mailbox is cloud but --direction onboarding copies from onprem; use another direction or leave it out of this list" {
		t.Errorf("err = %v", err)
	}
	if _, _, _, err := d.Open(route, CloudToCloud); err == nil || !strings.Contains(err.Error(), "same mailbox") {
		t.Errorf("cloud-to-cloud into itself: err = %v", err)
	}
	_, _, key, err := d.Open(route, Offboarding)
	if err != nil || key.SourceLocation != "cloud" || key.TargetLocation != "onprem" {
		t.Errorf("offboarding: key = %+v, err = %v", key, err)
	}
}

func TestParseDirection(t *testing.T) {
	for in, want := range map[string]Direction{"": Onboarding, "Offboarding": Offboarding, "cloud-to-cloud": CloudToCloud, "onprem-to-onprem": OnPremToOnPrem} {
		if got, err := ParseDirection(in); err != nil || got != want {
			t.Errorf("ParseDirection(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseDirection("sideways"); err == nil {
		t.Error("ParseDirection(sideways) succeeded")
	}
}

func TestForEachBoundsAndStops(t *testing.T) {
	var inFlight, maxSeen, done atomic.Int64
	items := make([]int, 50)
	ForEach(context.Background(), items, 3, func(ctx context.Context, _ int) {
		n := inFlight.Add(1)
		for {
			m := maxSeen.Load()
			if n <= m || maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		inFlight.Add(-1)
		done.Add(1)
	})
	if maxSeen.Load() > 3 || done.Load() != 50 {
		t.Errorf("max in flight %d (want <= 3), done %d (want 50)", maxSeen.Load(), done.Load())
	}

	ctx, cancel := context.WithCancel(context.Background())
	done.Store(0)
	ForEach(ctx, items, 2, func(ctx context.Context, i int) {
		if done.Add(1) == 4 {
			cancel()
		}
	})
	if n := done.Load(); n >= 50 || n < 4 {
		t.Errorf("after cancel, %d items ran; want it to stop taking new work", n)
	}
}

func TestSourceIDIsStableAndOpaque(t *testing.T) {
	k := engine.JobKey{SourceAddress: "Ann@Contoso.com", SourceLocation: "onprem"}
	a, b := engine.SourceID(k, "AAMkAD=="), engine.SourceID(engine.JobKey{SourceAddress: "ann@contoso.com", SourceLocation: "onprem"}, "AAMkAD==")
	if a != b || !strings.HasPrefix(a, "exm1-") || strings.Contains(a, "contoso") {
		t.Errorf("SourceID = %q / %q", a, b)
	}
	if engine.SourceID(k, "other") == a {
		t.Error("different items share a stamp")
	}
}
