package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/exmigrate/exmigrate/internal/forecast"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mapping"
	"github.com/exmigrate/exmigrate/reports"
)

// ClientRulesReporter is implemented by a side that can tell whether
// client-only (Outlook) rules exist, which no API can read.
type ClientRulesReporter interface {
	ClientOnlyRules(ctx context.Context) (bool, error)
}

// Assessor reads the inventory of mailboxes and turns it into findings.
type Assessor struct {
	Limits   mapping.Limits
	Parallel int // mailboxes read at once
	// FolderWorkers is how many folders of one mailbox are listed at once.
	FolderWorkers int
	Log           *slog.Logger
	Tool          string // version string written into the assessment
	// Exports add what only Exchange PowerShell shows (litigation hold,
	// permissions); nil when none were given.
	Exports *mapping.Exports
	// Target returns the side a located mailbox would be copied to, so
	// that the findings say what its declared capabilities cannot carry;
	// nil (or a nil result) when there is none.
	Target func(Route) mailbox.Capable
	// Services names the services a located mailbox's copy would read and
	// write, for its forecast; to is empty (and why says why) when the
	// target is not known before the copy. nil: no forecasts.
	Services func(Route) (from, to forecast.Service, why string)
}

// Located is a mailbox to assess: where it lives and how to open it.
type Located struct {
	Route   Route
	Mailbox Mailbox // nil when Err is set
	Err     error   // why it could not be located or opened
}

// Assess inventories each mailbox (in parallel) and returns the
// assessment. A mailbox that cannot be read is reported as unreadable with
// the reason; it never stops the others.
func (a *Assessor) Assess(ctx context.Context, mailboxes []Located, publicFolders []mailbox.Folder, publicFoldersErr error) (*reports.Assessment, error) {
	out := &reports.Assessment{SchemaVersion: reports.AssessmentSchemaVersion, GeneratedAt: time.Now().UTC(), Tool: a.Tool}
	results := make([]struct {
		a reports.MailboxAssessment
		f []reports.Finding
	}, len(mailboxes))
	idx := make([]int, len(mailboxes))
	for i := range idx {
		idx[i] = i
	}
	ForEach(ctx, idx, max(a.Parallel, 1), func(ctx context.Context, i int) {
		inv := a.Inventory(ctx, mailboxes[i])
		results[i].a, results[i].f = mapping.Assess(inv, a.Limits)
		if a.Services != nil {
			from, to, why := a.Services(mailboxes[i].Route)
			results[i].a.Forecast = reports.ForecastMailbox(&results[i].a, from, to, why, a.Limits.WithDefaults().TenantMessageBytes)
		}
		if a.Log != nil {
			a.Log.Info("mailbox assessed", "mailbox", inv.Address, "readiness", results[i].a.Readiness,
				"items", results[i].a.Items, "findings", len(results[i].f))
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, r := range results {
		out.Mailboxes = append(out.Mailboxes, r.a)
		out.Findings = append(out.Findings, r.f...)
	}
	if publicFolders != nil || publicFoldersErr != nil {
		if publicFoldersErr != nil {
			out.Findings = append(out.Findings, mapping.PublicFoldersUnreadable(publicFoldersErr))
		} else {
			stats, findings := mapping.AssessPublicFolders(publicFolders, a.Limits)
			out.PublicFolders = &stats
			out.Findings = append(out.Findings, findings...)
		}
	}
	if a.Services != nil {
		// The wave is copied as it was read: Parallel mailboxes at once.
		w := reports.WaveOf(out, max(a.Parallel, 1))
		out.Wave = &w
	}
	return out, nil
}

// Inventory reads one mailbox with the fewest round trips the protocols
// allow: folder counts and sizes come from folder listings, item sizes from
// item pages, never one request per item.
func (a *Assessor) Inventory(ctx context.Context, l Located) mapping.MailboxInventory {
	inv := mapping.MailboxInventory{Address: l.Route.Entry.Address, Location: l.Route.Location, Type: l.Route.Type,
		Batch: l.Route.Entry.Batch, PartErrors: map[mapping.Section]error{}}
	if l.Err != nil {
		inv.Err = l.Err
		a.Exports.Apply(&inv)
		return inv
	}
	mb := l.Mailbox
	folders, err := mb.Folders(ctx, mailbox.ScopePrimary)
	if err != nil {
		inv.Err = err
		return inv
	}
	inv.Folders = folders
	if tr, ok := mb.(mapping.TypeReader); ok && inv.Type == mailbox.TypeUnknown {
		// EWS tells rooms (room lists) from other mailboxes; what it cannot
		// tell is said, never left blank.
		if t, why, err := tr.MailboxType(ctx); err != nil {
			inv.TypeDetail = "the type could not be read: " + err.Error()
		} else {
			inv.Type, inv.TypeDetail = t, why
		}
	}
	if a.Target != nil {
		if dst := a.Target(l.Route); dst != nil {
			inv.NotCarried, inv.CarriedWithLoss = PlanKinds(mb.Capabilities(), dst.Capabilities())
		}
	}
	if lister, ok := mb.(mailbox.ItemLister); ok {
		st, err := a.tally(ctx, lister, folders)
		inv.Items = st
		if err != nil {
			inv.PartErrors[mapping.SectionItems] = err
		}
	}

	archive, err := mb.Folders(ctx, mailbox.ScopeArchive)
	switch {
	case errors.Is(err, mailbox.ErrNotFound) || errors.Is(err, mailbox.ErrMailboxNotFound):
		// no archive
	case err != nil:
		inv.PartErrors[mapping.SectionArchive] = err
	default:
		inv.HasArchive, inv.ArchiveFolders = true, archive
		if lister, ok := mb.(mailbox.ItemLister); ok {
			st, err := a.tally(ctx, lister, archive)
			inv.ArchiveItems = st
			if err != nil {
				inv.PartErrors[mapping.SectionArchive] = err
			}
		}
	}
	if rec, err := mb.Folders(ctx, mailbox.ScopeRecoverable); err == nil {
		inv.RecoverableFolders = rec
	} else if !errors.Is(err, mailbox.ErrNotFound) {
		inv.PartErrors[mapping.SectionRecoverable] = err
	}
	if rr, ok := mb.(mailbox.RuleReader); ok {
		if inv.Rules, err = rr.Rules(ctx); err != nil {
			inv.PartErrors[mapping.SectionRules] = err
		}
	}
	if cr, ok := mb.(ClientRulesReporter); ok {
		if inv.ClientOnlyRules, err = cr.ClientOnlyRules(ctx); err != nil {
			inv.PartErrors[mapping.SectionRules] = errors.Join(inv.PartErrors[mapping.SectionRules], err)
		}
	}
	if dr, ok := mb.(mailbox.DelegateReader); ok {
		if inv.Delegates, err = dr.Delegates(ctx); err != nil {
			inv.PartErrors[mapping.SectionDelegates] = err
		}
	}
	if pr, ok := mb.(mailbox.FolderPermissionReader); ok {
		if inv.FolderPermissions, err = pr.FolderPermissions(ctx); err != nil {
			inv.PartErrors[mapping.SectionPermissions] = err
		}
	}
	if hr, ok := mb.(mailbox.HoldReader); ok {
		if inv.Holds, err = hr.Holds(ctx); err != nil {
			inv.PartErrors[mapping.SectionHolds] = err
		}
	}
	a.Exports.Apply(&inv)
	if len(inv.PartErrors) == 0 {
		inv.PartErrors = nil
	}
	return inv
}

// tally lists the items of every non-empty folder, a few folders at once.
func (a *Assessor) tally(ctx context.Context, lister mailbox.ItemLister, folders []mailbox.Folder) (mapping.ItemStats, error) {
	workers := a.FolderWorkers
	if workers <= 0 {
		workers = 4
	}
	var (
		mu   sync.Mutex
		errs []error
	)
	tally := mapping.NewItemTally(a.Limits, 0)
	todo := slices.DeleteFunc(slices.Clone(folders), func(f mailbox.Folder) bool { return f.ItemCount == 0 })
	ForEach(ctx, todo, workers, func(ctx context.Context, f mailbox.Folder) {
		// Collect a folder's items locally and merge once, so the tally's
		// lock is not taken per item.
		var items []mailbox.Item
		err := lister.Items(ctx, f.ID, func(it mailbox.Item) error {
			it.Categories = nil
			items = append(items, it)
			if len(items) >= 1000 {
				mu.Lock()
				for _, x := range items {
					tally.Add(f.Path, x)
				}
				mu.Unlock()
				items = items[:0]
			}
			return nil
		})
		mu.Lock()
		defer mu.Unlock()
		for _, x := range items {
			tally.Add(f.Path, x)
		}
		if err != nil {
			errs = append(errs, err)
		}
	})
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return tally.Stats(), errors.Join(errs...)
}

// PlanKinds plans every kind of the primary mailbox from the two sides'
// declared capabilities: why each kind no route carries is left behind,
// with the gap's code, and what the route of each carried kind drops
// (kinds whose route drops nothing are left out).
func PlanKinds(src, dst mailbox.Capabilities) (notCarried, loses map[mailbox.Kind]string) {
	notCarried, loses = map[mailbox.Kind]string{}, map[mailbox.Kind]string{}
	for _, k := range mailbox.Kinds() {
		route, gap := mailbox.PlanRoute(src, dst, mailbox.ScopePrimary, mailbox.ScopePrimary, k)
		switch {
		case gap != nil:
			notCarried[k] = gap.Reason + " (" + gap.Code + ")"
		case route.Loses != "":
			loses[k] = route.Loses
		}
	}
	return notCarried, loses
}

// Counterpart is where a mailbox located on one side of the hybrid would be
// copied to: the cloud endpoint for an on-prem mailbox and the other way
// round, opened at the route's target address (no I/O). It is nil for a
// mailbox on a named endpoint, whose target only --to names, or when the
// other side is not configured.
func (d *Dispatcher) Counterpart(r Route) mailbox.Capable {
	var other string
	switch r.Endpoint {
	case string(mailbox.LocationOnPrem):
		other = string(mailbox.LocationCloud)
	case string(mailbox.LocationCloud):
		other = string(mailbox.LocationOnPrem)
	default:
		return nil
	}
	side := d.Endpoint(other)
	if side == nil {
		return nil
	}
	return side.Open(r.Entry.Target)
}

// Services says which services a located mailbox's copy reads and writes,
// for its forecast: a mailbox on one side of the hybrid moves to the other
// (as the findings assume, Counterpart); one on another endpoint moves to
// the endpoint copy --to names, known here only when every other endpoint
// is the same service. Why says why to is empty.
func (d *Dispatcher) Services(r Route) (from, to forecast.Service, why string) {
	service := func(loc mailbox.Location) forecast.Service {
		if loc == mailbox.LocationCloud {
			return forecast.Online
		}
		return forecast.ExchangeServer
	}
	src := d.Endpoint(r.Endpoint)
	if r.Endpoint == "" || src == nil {
		return "", "", "the mailbox was not located on a configured endpoint"
	}
	from = service(src.Location())
	other := map[string]string{string(mailbox.LocationOnPrem): string(mailbox.LocationCloud), string(mailbox.LocationCloud): string(mailbox.LocationOnPrem)}[r.Endpoint]
	if dst := d.Endpoint(other); other != "" && dst != nil {
		return from, service(dst.Location()), ""
	}
	seen := map[forecast.Service]bool{}
	for _, name := range d.Names() {
		if name != r.Endpoint {
			to = service(d.Endpoint(name).Location())
			seen[to] = true
		}
	}
	switch len(seen) {
	case 0:
		return from, "", "no other endpoint is configured to copy to"
	case 1:
		return from, to, ""
	}
	return from, "", "the target is the endpoint copy --to names: into Exchange Online at its published limits, into Exchange Server " + reports.NoPublishedCeiling
}
