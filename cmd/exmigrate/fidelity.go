package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Before a copy, the fidelity probe decides once per pair of endpoints
// whether the target takes the source's full-fidelity data: when the
// streams are of different services (Exchange Server's ExportItems data
// into Graph's import, which Microsoft does not document), or when the
// target stamps no import (Graph), so that the fingerprint that finds an
// import again after a crash must be seen to survive. The verdict is kept
// in the state and reused by later passes; --reprobe asks again.

// fidelityPlan is what the decision gives the copy.
type fidelityPlan struct {
	refused map[mailbox.Kind]string
}

// needsProbe says why the pair must be probed before full fidelity is
// planned between them, or "" when it need not (or cannot be used).
func needsProbe(src, dst mailbox.Capabilities) string {
	dialect := ""
	for _, p := range src.Reads {
		if p.Format == mailbox.FormatFullFidelity && p.Store == mailbox.ScopePrimary {
			dialect = p.Dialect
			break
		}
	}
	if dialect == "" {
		return ""
	}
	writes, same := false, false
	for _, p := range dst.Writes {
		if p.Format == mailbox.FormatFullFidelity {
			writes = true
			same = same || p.Dialect == dialect
		}
	}
	switch {
	case !writes:
		return ""
	case dst.UnstampedImports:
		return "the target stamps no import: the probe checks that an import keeps the fingerprint that finds it after a crash"
	case !same:
		return fmt.Sprintf("the target (%s) is not documented to take the source's %s data", dst.Backend, dialect)
	}
	return ""
}

// decideFidelity runs or reuses the probe for the way's pair of endpoints,
// with the first mailbox of the list that opens on it, and says what it
// found on out.
func decideFidelity(ctx context.Context, out io.Writer, log *slog.Logger, d *dispatch.Dispatcher, store engine.Store, way dispatch.Way,
	entries []csvinput.Entry, dryRun, reprobe bool) fidelityPlan {
	pair := way.From + " -> " + way.To
	var src, dst dispatch.Mailbox
	var entry csvinput.Entry
	for _, e := range entries {
		route, err := d.LocateFor(ctx, e, way)
		if err != nil {
			continue
		}
		if src, dst, _, err = d.OpenWay(route, way); err == nil {
			entry = e
			break
		}
	}
	if src == nil {
		return fidelityPlan{} // every mailbox fails on its own, with its reason
	}
	why := needsProbe(src.Capabilities(), dst.Capabilities())
	if why == "" {
		return fidelityPlan{}
	}
	refuseAll := func(reason string) fidelityPlan {
		p := fidelityPlan{refused: map[mailbox.Kind]string{}}
		for _, k := range mailbox.Kinds() {
			p.refused[k] = reason
		}
		return p
	}
	rec, found, err := store.Probe(ctx, pair)
	if err != nil {
		log.Warn("the recorded fidelity verdict could not be read; probing again", "pair", pair, "err", err)
		found = false
	}
	switch {
	case found && !reprobe:
		fmt.Fprintf(out, "Fidelity probe %s: as probed on %s with %s\n", pair, rec.At.UTC().Format("2006-01-02 15:04 MST"), rec.Source)
	case dryRun:
		fmt.Fprintf(out, "Fidelity probe %s: not run in a dry run (it writes a scratch item to the target); the plan shows the paths without full fidelity, because %s\n", pair, why)
		return refuseAll("not probed yet: " + why)
	default:
		fmt.Fprintf(out, "Fidelity probe %s: probing with %s (%s)\n", pair, entry.Address, why)
		res, err := engine.Probe(ctx, src, dst, time.Now())
		if err != nil {
			log.Warn("fidelity probe failed; copying without full fidelity", "pair", pair, "mailbox", entry.Address, "err", err)
			fmt.Fprintf(out, "Fidelity probe %s: failed (%v): copying without full fidelity; the next copy probes again\n", pair, err)
			return refuseAll("the fidelity probe failed: " + err.Error())
		}
		rec = engine.ProbeRecord{Pair: pair, Source: entry.Address, Target: entry.Target, At: time.Now().UTC(), Result: *res}
		if err := store.PutProbe(ctx, rec); err != nil {
			log.Warn("the fidelity verdict could not be recorded; the next copy probes again", "pair", pair, "err", err)
		}
	}
	return applyVerdict(out, pair, rec.Result, dst)
}

// applyVerdict turns a probe's result into the copy's plan, kind by kind:
// a kind whose sample the target took and gave back equal moves in full
// fidelity; one whose sample it did not, or that had no sample to probe
// with (unverified), takes its other path. The target is told to accept
// the source's data when any kind passed.
func applyVerdict(out io.Writer, pair string, res engine.ProbeResult, dst dispatch.Mailbox) fidelityPlan {
	p := fidelityPlan{refused: map[mailbox.Kind]string{}}
	byKind := map[mailbox.Kind]engine.ProbeKind{}
	for _, k := range res.Kinds {
		byKind[k.Kind] = k
	}
	var took, refused []string
	for _, kind := range mailbox.Kinds() {
		k, probed := byKind[kind]
		switch {
		case probed && k.Subject != "" && k.Accepted:
			took = append(took, string(kind))
		case probed && k.Subject != "":
			p.refused[kind] = "the fidelity probe: " + k.Why
			refused = append(refused, string(kind))
		default:
			p.refused[kind] = "the fidelity probe had no " + string(kind) + " item to try, so full fidelity for it is unverified"
		}
	}
	if len(took) == 0 {
		fmt.Fprintf(out, "Fidelity probe %s: full fidelity not used (no kind's sample came back equal); every kind takes its other path\n", pair)
		return p
	}
	if a, ok := dst.(mailbox.DialectAccepter); ok {
		a.AcceptDialect(res.Dialect)
	}
	line := fmt.Sprintf("Fidelity probe %s: the target takes the source's %s data: full fidelity for %s", pair, res.Dialect, strings.Join(took, ", "))
	if len(refused) > 0 {
		line += "; not for " + strings.Join(refused, ", ") + " (their samples did not come back equal)"
	}
	fmt.Fprintln(out, line)
	return p
}
