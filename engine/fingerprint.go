package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/exmigrate/exmigrate/mailbox"
)

// A target that cannot stamp its full-fidelity writes (Graph's import API,
// mailbox.Fingerprinter) is searched by fingerprint instead: the source
// item's MAPI search key, which a full-fidelity copy keeps. The engine
// records the fingerprint with the pending record before the write, so
// that after a crash between the import and the copied record the item is
// found there and not imported twice; a copy without state adopts what the
// folder holds under the fingerprints of its source items. A fingerprint is
// not unique (copies of one message share it), so a candidate that another
// item's record already holds is never taken.

// targetIndex is what one listing of a target folder found: its stamps,
// and for a Fingerprinter the unstamped items by fingerprint. Workers of
// one folder read it at once; adopting by fingerprint takes the id out.
type targetIndex struct {
	// healing: listed because an interrupted run wrote items of the
	// folder with no record (FolderRecord.WritesOpen); what it finds is
	// healed, not adopted from a copy the state does not know.
	healing bool
	stamps  map[string]mailbox.Item
	mu      sync.Mutex
	prints  map[string][]string
}

func (ix *targetIndex) stamped(sid string) (mailbox.Item, bool) {
	if ix == nil {
		return mailbox.Item{}, false
	}
	it, ok := ix.stamps[sid]
	return it, ok
}

// takePrint hands out one unstamped item of the fingerprint, once.
func (ix *targetIndex) takePrint(fp string) (string, bool) {
	if ix == nil || fp == "" {
		return "", false
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ids := ix.prints[fp]
	if len(ids) == 0 {
		return "", false
	}
	ix.prints[fp] = ids[1:]
	return ids[0], true
}

// fingerprinter is the target as a Fingerprinter, when a full-fidelity
// write of the store can reach it unstamped.
func (r *mailboxRun) fingerprinter(store mailbox.Scope) mailbox.Fingerprinter {
	fp := r.unstamped()
	if fp == nil {
		return nil
	}
	for _, k := range mailbox.Kinds() {
		if route, gap := r.route(store, k); gap == nil && route.Format == mailbox.FormatFullFidelity {
			return fp
		}
	}
	return nil
}

// unstamped is the target as a Fingerprinter when its full-fidelity
// writes carry no stamp.
func (r *mailboxRun) unstamped() mailbox.Fingerprinter {
	if !r.dstCaps.UnstampedImports {
		return nil
	}
	fp, _ := r.dst.(mailbox.Fingerprinter)
	return fp
}

// listPrints adds the target folder's unstamped items to ix.
func (r *mailboxRun) listPrints(ctx context.Context, fp mailbox.Fingerprinter, ix *targetIndex, folderID, path string) error {
	err := r.retry(ctx, "list fingerprints of "+path, func() error {
		ix.prints = map[string][]string{}
		return fp.Fingerprints(ctx, folderID, func(id, print string) error {
			ix.prints[print] = append(ix.prints[print], id)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("list the unstamped items of %s on %s: %w", path, r.key.TargetAddress, err)
	}
	return nil
}

// fingerprintOf is the fingerprint to record before a full-fidelity write
// of it to a Fingerprinter target: from the listing, or read from the
// source. Empty when neither has one.
func (r *mailboxRun) fingerprintOf(ctx context.Context, it mailbox.Item) (string, error) {
	if it.Fingerprint != "" {
		return it.Fingerprint, nil
	}
	fr, ok := r.src.(mailbox.FingerprintReader)
	if !ok {
		return "", nil
	}
	var fp string
	err := r.retry(ctx, "read the fingerprint of "+it.Subject, func() (err error) {
		fp, err = fr.Fingerprint(ctx, it.ID)
		return err
	})
	if mailbox.IsPermanent(err) {
		return "", nil // a kind the source cannot say it for: the caller falls back
	}
	return fp, err
}

// findWritten looks for the copy of an item that may have been written
// before: by its stamp, then (on a Fingerprinter) by its fingerprint among
// the unstamped items no other record holds. Transient failures are
// retried.
func (r *mailboxRun) findWritten(ctx context.Context, folderID, sid, print string) (id string, found bool, err error) {
	err = r.retry(ctx, "find a copy written before", func() (err error) {
		id, found, err = r.findWrittenOnce(ctx, folderID, sid, print)
		return err
	})
	return id, found, err
}

// findWrittenOnce is findWritten without retries, for a caller that
// retries itself.
func (r *mailboxRun) findWrittenOnce(ctx context.Context, folderID, sid, print string) (string, bool, error) {
	id, found, err := r.dst.FindBySourceID(ctx, folderID, sid)
	if err != nil || found || print == "" {
		return id, found, err
	}
	fp := r.unstamped()
	if fp == nil {
		return "", false, nil
	}
	var candidates []string
	err = fp.Fingerprints(ctx, folderID, func(itemID, p string) error {
		if p == print {
			candidates = append(candidates, itemID)
		}
		return nil
	})
	if err != nil {
		return "", false, err
	}
	for _, c := range candidates {
		held, err := r.c.Store.TargetRecorded(ctx, r.job.ID, c)
		if err != nil {
			return "", false, mailbox.Permanent(err)
		}
		if !held {
			return c, true, nil
		}
	}
	return "", false, nil
}
