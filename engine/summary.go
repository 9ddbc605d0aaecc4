package engine

import (
	"context"
	"errors"
	"strings"

	"github.com/exmigrate/exmigrate/reports"
)

// CopySummaries reads the copy results of every job in the store, keyed by
// the lower-cased source address, for the reports.
func CopySummaries(ctx context.Context, store Store) (map[string]*reports.CopySummary, error) {
	jobs, err := store.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*reports.CopySummary, len(jobs))
	for _, j := range jobs {
		counts, err := store.Counts(ctx, j.ID)
		if err != nil {
			return nil, err
		}
		folders, err := store.Folders(ctx, j.ID)
		if err != nil {
			return nil, err
		}
		s := &reports.CopySummary{
			Status: j.Status, ItemsCopied: counts.Copied, BytesCopied: counts.CopiedBytes,
			ItemsSkipped: counts.Skipped, SkipReasons: counts.SkipReasons, LastPass: j.LastEnd,
		}
		if j.Paths != "" {
			s.Paths = ParsePaths(j.Paths)
		}
		if j.Status == JobNew {
			s.Status = "not-started"
		}
		if !j.LastEnd.IsZero() && j.LastEnd.After(j.LastStart) {
			s.DurationMillis = j.LastEnd.Sub(j.LastStart).Milliseconds()
		}
		for _, f := range folders {
			s.SourceItems += f.SourceCount
			s.TargetItems += f.TargetCount
		}
		for k, kc := range counts.Kinds {
			if k == "" {
				continue // recorded before kinds were kept
			}
			if s.Kinds == nil {
				s.Kinds = map[string]reports.KindCopy{}
			}
			s.Kinds[k] = reports.KindCopy{Copied: kc.Copied, Skipped: kc.Skipped, Losses: kc.Losses}
		}
		err = store.LossItems(ctx, j.ID, func(rec ItemRecord) error {
			for _, code := range strings.Split(rec.Losses, ",") {
				if len(s.Losses) >= reports.MaxCopyLosses {
					return errEnough
				}
				s.Losses = append(s.Losses, reports.CopyLoss{Kind: rec.Kind, Code: code, Subject: rec.Subject})
			}
			return nil
		})
		if err != nil && !errors.Is(err, errEnough) {
			return nil, err
		}
		out[strings.ToLower(j.Key.SourceAddress)] = s
	}
	return out, nil
}

// errEnough stops a listing that has given all it needs to.
var errEnough = errors.New("enough")

// ProbeReports are the recorded fidelity probe verdicts, for the report.
func ProbeReports(ctx context.Context, store Store) ([]reports.FidelityProbe, error) {
	recs, err := store.Probes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]reports.FidelityProbe, 0, len(recs))
	for _, r := range recs {
		p := reports.FidelityProbe{Endpoints: r.Pair, Mailbox: r.Source, Target: r.Target, At: r.At.UTC(), Dialect: r.Result.Dialect}
		for _, k := range r.Result.Kinds {
			p.Kinds = append(p.Kinds, reports.FidelityKind{Kind: string(k.Kind), Path: k.Path, Accepted: k.Accepted, Why: k.Why})
		}
		out = append(out, p)
	}
	return out, nil
}

// MergeCopyResults attaches copy summaries to the mailboxes of an
// assessment. It returns how many mailboxes had results.
func MergeCopyResults(a *reports.Assessment, summaries map[string]*reports.CopySummary) int {
	n := 0
	for i := range a.Mailboxes {
		if s, ok := summaries[strings.ToLower(a.Mailboxes[i].Address)]; ok {
			a.Mailboxes[i].Copy = s
			n++
		}
	}
	return n
}
