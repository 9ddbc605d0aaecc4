package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/mailbox"
)

// maxUpdateBody bounds the typed body read for an update: typed bodies
// are small (mailbox bounds them), so the read is whole, to hash it before
// anything is written.
const maxUpdateBody = 32 << 20

// maybeUpdate brings a copied typed or full-fidelity item (contact,
// event, task, note ...) up to its source's new version: in place, through
// the target's Updater, which sends nothing, in the format of its route. Mail is not rewritten (its content does not change; its
// read state is carried by updateRead). A new version whose typed content
// is the same as the one written (a change the typed form does not carry)
// is recorded without a write.
func (r *mailboxRun) maybeUpdate(ctx context.Context, ch mailbox.Change, rec ItemRecord, it mailbox.Item, tgtPath string, fr *FolderResult) error {
	if ch.Kind == mailbox.ChangeReadFlag || it.ChangeKey == "" || it.ChangeKey == rec.Version {
		return nil
	}
	route, gap := r.route(fr.Store, it.Kind())
	if gap != nil || (route.Format != mailbox.FormatTyped && route.Format != mailbox.FormatFullFidelity) {
		return nil
	}
	if rec.Version == "" {
		// Copied by a build that kept no versions: this version is the
		// baseline from now on.
		if r.opts.DryRun {
			return nil
		}
		rec.Version, rec.Kind = it.ChangeKey, string(it.Kind())
		return r.c.Store.PutItem(ctx, rec)
	}
	if it.Subject == "" {
		it.Subject = rec.Subject
	}
	up, ok := r.dst.(mailbox.Updater)
	if !ok {
		r.log().Warn("the source item changed after its copy and the target cannot update it", "folder", tgtPath, "subject", it.Subject, "target", r.dstCaps.Backend)
		r.count(func() { r.res.NotUpdated++ })
		if r.opts.DryRun {
			return nil
		}
		rec.Version = it.ChangeKey
		return r.c.Store.PutItem(ctx, rec)
	}
	var body []byte
	if err := r.retry(ctx, "read changed item", func() error {
		rc, err := r.src.OpenItem(ctx, it.ID, route.Format)
		if err != nil {
			return err
		}
		defer rc.Close()
		body, err = io.ReadAll(io.LimitReader(rc, maxUpdateBody+1))
		if err == nil && len(body) > maxUpdateBody {
			err = mailbox.Permanent(fmt.Errorf("a typed item of more than %d bytes", maxUpdateBody))
		}
		return err
	}); err != nil {
		if mailbox.IsPermanent(err) || errors.Is(err, mailbox.ErrNotFound) {
			// Gone or unreadable since the listing: the copy stays as it is.
			r.log().Warn("a changed item could not be read again; its copy stays as it was", "folder", tgtPath, "subject", it.Subject, "err", err)
			return nil
		}
		return fmt.Errorf("read the changed item %q: %w", it.Subject, err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	if hash == rec.ContentHash {
		if r.opts.DryRun {
			return nil
		}
		rec.Version = it.ChangeKey
		return r.c.Store.PutItem(ctx, rec)
	}
	if r.opts.DryRun {
		r.count(func() { r.res.Updated++; r.kind(it.Kind()).Updated++ })
		return nil
	}
	e := AuditEvent{Action: audit.ActionItemUpdate, Object: tgtPath + ": " + it.Subject, TargetID: rec.TargetItemID, SourceID: rec.SourceID, Size: int64(len(body))}
	if err := r.begin(ctx, e); err != nil {
		return err
	}
	var losses lossCollector
	err := r.retry(ctx, "update item", func() error {
		losses.take()
		return up.UpdateItem(losses.watch(ctx), rec.TargetItemID, mailbox.Payload{Item: it, SourceID: rec.SourceID,
			Format: route.Format, Dialect: route.Dialect, Body: bytes.NewReader(body), Size: int64(len(body))})
	})
	r.audit(ctx, e, err)
	if err != nil {
		if mailbox.IsPermanent(err) {
			// The copy stays as first written; the version is not
			// recorded, so the next pass tries again.
			r.log().Warn("the target refused the update of a changed item; its copy stays as it was", "folder", tgtPath, "subject", it.Subject, "err", err)
			r.count(func() { r.res.NotUpdated++ })
			return nil
		}
		return fmt.Errorf("update %q in %s: %w", it.Subject, tgtPath, err)
	}
	rec.Version, rec.ContentHash, rec.Kind, rec.Updated = it.ChangeKey, hash, string(it.Kind()), time.Now()
	rec.Subject = it.Subject
	rec.Losses = r.noteLosses(it, tgtPath, losses.take())
	if err := r.c.Store.PutItem(ctx, rec); err != nil {
		return err
	}
	r.count(func() { r.res.Updated++; r.kind(it.Kind()).Updated++ })
	return nil
}
