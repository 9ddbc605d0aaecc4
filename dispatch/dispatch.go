package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Mailbox is one mailbox opened on one side: everything the copy engine
// reads and writes. Optional abilities (rules, delegates, holds, item
// listing) are found by type assertion on the mailbox interfaces.
type Mailbox interface {
	mailbox.Source
	mailbox.Target
}

// Presence is what one side says about an address.
type Presence struct {
	Found  bool
	Type   mailbox.MailboxType
	Detail string // what the side said, for the engineer: "MailboxNotEnabledForRESTAPI", "no such user" ...
}

// Side is one side of the hybrid organisation as the dispatcher uses it.
// cmd/exmigrate adapts the ews and graphmail clients to it.
type Side interface {
	Location() mailbox.Location
	// Detect says whether the address has a mailbox on this side.
	Detect(ctx context.Context, address string) (Presence, error)
	// Open returns the mailbox at address on this side; it does no I/O.
	Open(address string) Mailbox
}

// Direction is which way a copy job goes.
type Direction string

// Directions.
const (
	Onboarding     Direction = "onboarding"  // on-prem to cloud (the default)
	Offboarding    Direction = "offboarding" // cloud to on-prem
	OnPremToOnPrem Direction = "onprem-to-onprem"
	CloudToCloud   Direction = "cloud-to-cloud"
)

// ParseDirection reads a --direction value.
func ParseDirection(s string) (Direction, error) {
	switch d := Direction(strings.ToLower(strings.TrimSpace(s))); d {
	case "":
		return Onboarding, nil
	case Onboarding, Offboarding, OnPremToOnPrem, CloudToCloud:
		return d, nil
	}
	return "", fmt.Errorf("--direction %q: use onboarding, offboarding, onprem-to-onprem or cloud-to-cloud", s)
}

// Sides returns the source and target locations of a direction.
func (d Direction) Sides() (source, target mailbox.Location) {
	switch d {
	case Offboarding:
		return mailbox.LocationCloud, mailbox.LocationOnPrem
	case OnPremToOnPrem:
		return mailbox.LocationOnPrem, mailbox.LocationOnPrem
	case CloudToCloud:
		return mailbox.LocationCloud, mailbox.LocationCloud
	}
	return mailbox.LocationOnPrem, mailbox.LocationCloud
}

// Dispatcher routes each mailbox of the list to the side it lives on.
type Dispatcher struct {
	OnPrem Side // nil when the on-prem side is not configured
	Cloud  Side // nil when the cloud side is not configured
	Log    *slog.Logger
}

// Route is one mailbox of the list with where it was found.
type Route struct {
	Entry    Entry
	Location mailbox.Location // where the source mailbox lives
	Type     mailbox.MailboxType
	Seen     string // what detection saw, for reports
}

// LocationError says why a mailbox could not be placed. It is reported for
// the mailbox, never guessed past.
type LocationError struct {
	Address string
	Problem string
}

func (e *LocationError) Error() string { return e.Address + ": " + e.Problem }

func (d *Dispatcher) side(loc mailbox.Location) Side {
	if loc == mailbox.LocationOnPrem {
		return d.OnPrem
	}
	return d.Cloud
}

// Locate finds where a mailbox lives: the list's Location when given,
// else asks both sides (Graph's probe, then EWS ResolveNames).
func (d *Dispatcher) Locate(ctx context.Context, e Entry) (Route, error) {
	route := Route{Entry: e, Location: e.Location}
	if e.Location != mailbox.LocationAuto && e.Location != "" {
		if d.side(e.Location) == nil {
			return route, &LocationError{Address: e.Address, Problem: fmt.Sprintf("the list says %s, but the %s side is not configured; add it to the config file", e.Location, e.Location)}
		}
		route.Seen = "from the list"
		return route, nil
	}
	var found []Route
	var seen []string
	for _, s := range []Side{d.Cloud, d.OnPrem} {
		if s == nil {
			continue
		}
		p, err := s.Detect(ctx, e.Address)
		if err != nil {
			return route, fmt.Errorf("%s: detecting the %s mailbox: %w", e.Address, s.Location(), err)
		}
		detail := p.Detail
		if detail == "" {
			detail = map[bool]string{true: "mailbox found", false: "no mailbox"}[p.Found]
		}
		seen = append(seen, fmt.Sprintf("%s: %s", s.Location(), detail))
		if p.Found {
			found = append(found, Route{Entry: e, Location: s.Location(), Type: p.Type})
		}
	}
	route.Seen = strings.Join(seen, "; ")
	if d.Log != nil {
		d.Log.Debug("location detected", "mailbox", e.Address, "seen", route.Seen, "found", len(found))
	}
	switch len(found) {
	case 1:
		found[0].Seen = route.Seen
		return found[0], nil
	case 0:
		return route, &LocationError{Address: e.Address, Problem: "found on neither side (" + route.Seen + "); check the address, or set Location in the list"}
	}
	return route, &LocationError{Address: e.Address, Problem: "found on both sides (" + route.Seen + "); set Location in the list to say which is the source"}
}

// Open returns the source and target mailboxes of a route for a direction,
// after checking that the route agrees with the direction.
func (d *Dispatcher) Open(route Route, dir Direction) (src, dst Mailbox, key engine.JobKey, err error) {
	wantSrc, wantDst := dir.Sides()
	if route.Location != wantSrc {
		return nil, nil, key, &LocationError{Address: route.Entry.Address, Problem: fmt.Sprintf(
			"the mailbox is %s but --direction %s copies from %s; use another direction or leave it out of this list", route.Location, dir, wantSrc)}
	}
	if route.Location == wantDst && strings.EqualFold(route.Entry.Address, route.Entry.Target) {
		return nil, nil, key, &LocationError{Address: route.Entry.Address, Problem: "source and target are the same mailbox; set TargetAddress in the list"}
	}
	ss, ds := d.side(wantSrc), d.side(wantDst)
	if ss == nil || ds == nil {
		return nil, nil, key, &LocationError{Address: route.Entry.Address, Problem: fmt.Sprintf("--direction %s needs both the %s and the %s side configured", dir, wantSrc, wantDst)}
	}
	key = engine.JobKey{SourceAddress: route.Entry.Address, SourceLocation: string(wantSrc), TargetAddress: route.Entry.Target, TargetLocation: string(wantDst)}
	return ss.Open(route.Entry.Address), ds.Open(route.Entry.Target), key, nil
}

// ForEach runs fn for each item with at most parallel at once. When ctx is
// cancelled it starts nothing new and waits for the running ones.
func ForEach[T any](ctx context.Context, items []T, parallel int, fn func(ctx context.Context, item T)) {
	if parallel < 1 {
		parallel = 1
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, it := range items {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case sem <- struct{}{}:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(ctx, it)
		}()
	}
	wg.Wait()
}
