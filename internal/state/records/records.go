// Package records holds the rules every state store applies to what it is
// asked to write, so that SQLite and PostgreSQL refuse the same records
// with the same words (the conformance suite in storetest checks the
// behaviour; this package keeps the code single).
package records

import (
	"errors"
	"fmt"
	"strings"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/config"
)

// NormalizeKey trims a job key and lowers its locations; it refuses a key
// without both addresses or with a location that is not an endpoint name.
func NormalizeKey(k engine.JobKey) (engine.JobKey, error) {
	k.SourceAddress = strings.TrimSpace(k.SourceAddress)
	k.TargetAddress = strings.TrimSpace(k.TargetAddress)
	k.SourceLocation = strings.ToLower(strings.TrimSpace(k.SourceLocation))
	k.TargetLocation = strings.ToLower(strings.TrimSpace(k.TargetLocation))
	if k.SourceAddress == "" || k.TargetAddress == "" {
		return k, errors.New("source and target address are both required")
	}
	for _, l := range []string{k.SourceLocation, k.TargetLocation} {
		// auto must be resolved before a job exists: a job is one direction.
		if !config.ValidEndpointName(l) {
			return k, fmt.Errorf("location %q: use an endpoint name (onprem, cloud or one under endpoints:)", l)
		}
	}
	return k, nil
}

// AddressKey is how a job's addresses compare: case-insensitively (RFC
// 5321 domains are, Exchange local parts are too), lowered in Go so that
// non-ASCII folds the same in every store.
func AddressKey(address string) string { return strings.ToLower(address) }

// CheckStatus refuses a job status the engine does not write.
func CheckStatus(status string) error {
	switch status {
	case engine.JobNew, engine.JobRunning, engine.JobDone, engine.JobPartial, engine.JobFailed, engine.JobCompleted:
		return nil
	}
	return fmt.Errorf("unknown status %q", status)
}

// CheckItem refuses an item record the engine must never write: a copied
// item without a target id (only the target's confirmation makes an item
// copied), a skipped item without a reason.
func CheckItem(rec engine.ItemRecord) error {
	if rec.SourceID == "" {
		return errors.New("source id is required")
	}
	if rec.SourceFolderID == "" {
		// PendingItems finds a pending item by its folder: without one, an
		// item written before a crash would never be looked up again.
		return errors.New("source folder id is required")
	}
	if rec.SizeBytes < 0 {
		return fmt.Errorf("negative size %d", rec.SizeBytes)
	}
	switch rec.Outcome {
	case engine.ItemPending:
	case engine.ItemCopied:
		if rec.TargetItemID == "" {
			return errors.New("a copied item needs the target item id the target confirmed")
		}
	case engine.ItemSkipped:
		if rec.Reason == "" {
			return errors.New("a skipped item needs a reason")
		}
	default:
		return fmt.Errorf("unknown outcome %q: use pending, copied or skipped", rec.Outcome)
	}
	return nil
}

// SplitLosses splits an item's Losses into its codes.
func SplitLosses(losses string) []string {
	var out []string
	for _, code := range strings.Split(losses, ",") {
		if code != "" {
			out = append(out, code)
		}
	}
	return out
}

// NewCounts is an empty ItemCounts, its maps made (never nil).
func NewCounts() engine.ItemCounts {
	return engine.ItemCounts{SkipReasons: map[string]int64{}, Kinds: map[string]engine.KindCounts{}}
}

// AddCount adds to c one group of a job's items as both stores read it:
// n items of bytes with this outcome and kind, the reason of skipped ones
// (why) and the losses of copied ones (lost). Pending items count in the
// total only, not per kind.
func AddCount(c *engine.ItemCounts, outcome, kind, why, lost string, n, bytes int64) {
	k := c.Kinds[kind]
	switch outcome {
	case engine.ItemCopied:
		c.Copied += n
		c.CopiedBytes += bytes
		k.Copied += n
		k.CopiedBytes += bytes
		for _, code := range SplitLosses(lost) {
			if k.Losses == nil {
				k.Losses = map[string]int64{}
			}
			k.Losses[code] += n
		}
	case engine.ItemPending:
		c.Pending += n
		return
	case engine.ItemSkipped:
		c.Skipped += n
		c.SkipReasons[why] += n
		k.Skipped += n
	}
	c.Kinds[kind] = k
}

// ItemPage is how many item records one read of ItemPages takes.
const ItemPage = 1000

// ItemPages calls fn for each record fetch returns, reading page after
// page in source id order: fetch returns up to limit records whose source
// id is after after. No cursor stays open while fn runs, so fn may write.
func ItemPages(fetch func(after string, limit int) ([]engine.ItemRecord, error), fn func(engine.ItemRecord) error) error {
	after := ""
	for {
		recs, err := fetch(after, ItemPage)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(recs) < ItemPage {
			return nil
		}
		after = recs[len(recs)-1].SourceID
	}
}
