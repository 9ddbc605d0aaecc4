package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/csvinput"
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
	return "", fmt.Errorf("--direction %q: use onboarding, offboarding, onprem-to-onprem or cloud-to-cloud (or --from and --to to name the endpoints)", s)
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

// Way is which endpoints a copy goes between, by name. A --direction is
// the way between the two legacy endpoints, onprem and cloud.
type Way struct {
	From, To string
	// Direction is set when the way came from --direction, for messages.
	Direction Direction
}

// Way returns the endpoints a direction copies between.
func (d Direction) Way() Way {
	src, dst := d.Sides()
	return Way{From: string(src), To: string(dst), Direction: d}
}

// String says the way as the command line does.
func (w Way) String() string {
	if w.Direction != "" {
		return "--direction " + string(w.Direction)
	}
	return "--from " + w.From + " --to " + w.To
}

// legacy says whether name is one of the two sides Location auto detects
// between.
func legacy(name string) bool {
	return name == string(mailbox.LocationOnPrem) || name == string(mailbox.LocationCloud)
}

// Dispatcher routes each mailbox of the list to the endpoint it lives on.
type Dispatcher struct {
	OnPrem Side // the endpoint named onprem; nil when it is not configured
	Cloud  Side // the endpoint named cloud; nil when it is not configured
	// Endpoints are the other endpoints of the config, by name.
	Endpoints map[string]Side
	Log       *slog.Logger
}

// Route is one mailbox of the list with where it was found.
type Route struct {
	Entry csvinput.Entry
	// Endpoint is the name of the endpoint the source mailbox is on: onprem
	// or cloud in a two-sided configuration.
	Endpoint string
	Location mailbox.Location // the endpoint's kind: onprem (EWS) or cloud (Graph)
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

// Endpoint returns the side of the endpoint with that name, or nil.
func (d *Dispatcher) Endpoint(name string) Side {
	switch name {
	case string(mailbox.LocationOnPrem):
		return d.OnPrem
	case string(mailbox.LocationCloud):
		return d.Cloud
	}
	return d.Endpoints[name]
}

// Names lists the configured endpoints: onprem and cloud first, then the
// others in alphabetical order.
func (d *Dispatcher) Names() []string {
	var names []string
	if d.OnPrem != nil {
		names = append(names, string(mailbox.LocationOnPrem))
	}
	if d.Cloud != nil {
		names = append(names, string(mailbox.LocationCloud))
	}
	var other []string
	for n, s := range d.Endpoints {
		if s != nil && !legacy(n) {
			other = append(other, n)
		}
	}
	slices.Sort(other)
	return append(names, other...)
}

func (d *Dispatcher) notConfigured(name string) string {
	return fmt.Sprintf("the endpoint %s is not configured (the config has %s); add it to the config file or use one of those", name, strings.Join(d.Names(), ", "))
}

// Locate finds where a mailbox lives: the list's Location (onprem or cloud)
// when given, else asks both legacy sides (Graph's probe, then EWS
// ResolveNames).
func (d *Dispatcher) Locate(ctx context.Context, e csvinput.Entry) (Route, error) {
	return d.locate(ctx, e, "")
}

// LocateFor is Locate for a copy that goes the way w: a mailbox the list
// does not place is on w.From when that is a named endpoint (no detection:
// --from is explicit), and is detected between onprem and cloud otherwise.
func (d *Dispatcher) LocateFor(ctx context.Context, e csvinput.Entry, w Way) (Route, error) {
	return d.locate(ctx, e, w.From)
}

func (d *Dispatcher) locate(ctx context.Context, e csvinput.Entry, from string) (Route, error) {
	route := Route{Entry: e, Location: e.Location}
	at := func(name, seen, missing string) (Route, error) {
		s := d.Endpoint(name)
		if s == nil {
			return route, &LocationError{Address: e.Address, Problem: missing}
		}
		route.Endpoint, route.Location, route.Seen = name, s.Location(), seen
		return route, nil
	}
	switch {
	case e.Location != mailbox.LocationAuto && e.Location != "":
		return at(string(e.Location), "from the list", fmt.Sprintf("the list says %s, but the %s side is not configured; add it to the config file", e.Location, e.Location))
	case from != "" && !legacy(from):
		return at(from, "from --from", "--from: "+d.notConfigured(from))
	}
	var found []Route
	var seen []string
	for _, name := range []string{string(mailbox.LocationCloud), string(mailbox.LocationOnPrem)} {
		s := d.Endpoint(name)
		if s == nil {
			continue
		}
		p, err := s.Detect(ctx, e.Address)
		if err != nil {
			return route, fmt.Errorf("%s: detecting the %s mailbox: %w", e.Address, name, err)
		}
		detail := p.Detail
		if detail == "" {
			detail = map[bool]string{true: "mailbox found", false: "no mailbox"}[p.Found]
		}
		seen = append(seen, fmt.Sprintf("%s: %s", name, detail))
		if p.Found {
			found = append(found, Route{Entry: e, Endpoint: name, Location: s.Location(), Type: p.Type})
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
	return d.OpenWay(route, dir.Way())
}

// OpenWay returns the source and target mailboxes of a route for a copy
// that goes the way w, after checking that the route agrees with it. The
// job is keyed by the endpoints' names, so a two-sided configuration keys
// it by onprem and cloud as before named endpoints.
func (d *Dispatcher) OpenWay(route Route, w Way) (src, dst Mailbox, key engine.JobKey, err error) {
	e := route.Entry
	fail := func(format string, args ...any) (Mailbox, Mailbox, engine.JobKey, error) {
		return nil, nil, key, &LocationError{Address: e.Address, Problem: fmt.Sprintf(format, args...)}
	}
	at := route.Endpoint
	if at == "" && legacy(string(route.Location)) {
		at = string(route.Location) // a route written before named endpoints
	}
	if at != w.From {
		return fail("the mailbox is %s but %s copies from %s; use another %s or leave it out of this list",
			at, w, w.From, map[bool]string{true: "direction", false: "--from"}[w.Direction != ""])
	}
	if w.From == w.To && strings.EqualFold(e.Address, e.Target) {
		return fail("source and target are the same mailbox; set TargetAddress in the list")
	}
	ss, ds := d.Endpoint(w.From), d.Endpoint(w.To)
	switch {
	case (ss == nil || ds == nil) && w.Direction != "" && len(d.Endpoints) == 0:
		return fail("%s needs both the %s and the %s side configured", w, w.From, w.To)
	case ss == nil:
		return fail("%s: %s", w, d.notConfigured(w.From))
	case ds == nil:
		return fail("%s: %s", w, d.notConfigured(w.To))
	}
	key = engine.JobKey{SourceAddress: e.Address, SourceLocation: w.From, TargetAddress: e.Target, TargetLocation: w.To}
	return ss.Open(e.Address), ds.Open(e.Target), key, nil
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
