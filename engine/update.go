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
	if route.Format == mailbox.FormatFullFidelity {
		// A stream can be as large as a mail item: it is not held to be
		// hashed first, but streamed into the update, hashed on the way.
		return r.updateStreamed(ctx, up, route, rec, it, tgtPath)
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
		return r.unreadable(it, tgtPath, err)
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
	return r.writeUpdate(ctx, up, rec, it, tgtPath, int64(len(body)), func() (mailbox.Payload, func() string, error) {
		return mailbox.Payload{Item: it, SourceID: rec.SourceID, Format: route.Format, Dialect: route.Dialect,
			Body: bytes.NewReader(body), Size: int64(len(body))}, func() string { return hash }, nil
	})
}

// unreadable handles a changed item that could not be read again.
func (r *mailboxRun) unreadable(it mailbox.Item, tgtPath string, err error) error {
	if mailbox.IsPermanent(err) || errors.Is(err, mailbox.ErrNotFound) {
		// Gone or unreadable since the listing: the copy stays as it is.
		r.log().Warn("a changed item could not be read again; its copy stays as it was", "folder", tgtPath, "subject", it.Subject, "err", err)
		return nil
	}
	return fmt.Errorf("read the changed item %q: %w", it.Subject, err)
}

// updateStreamed rewrites a full-fidelity copy from a fresh export,
// streamed and hashed on the way; each attempt reads the source again.
func (r *mailboxRun) updateStreamed(ctx context.Context, up mailbox.Updater, route mailbox.Route, rec ItemRecord, it mailbox.Item, tgtPath string) error {
	return r.writeUpdate(ctx, up, rec, it, tgtPath, it.SizeBytes, func() (mailbox.Payload, func() string, error) {
		rc, err := r.src.OpenItem(ctx, it.ID, route.Format)
		if err != nil {
			return mailbox.Payload{}, nil, err
		}
		digest := sha256.New()
		size := it.SizeBytes
		if size <= 0 {
			size = -1
		}
		return mailbox.Payload{Item: it, SourceID: rec.SourceID, Format: route.Format, Dialect: route.Dialect,
				Body: readCloser{io.TeeReader(rc, digest), rc}, Size: size},
			func() string { return hex.EncodeToString(digest.Sum(nil)) }, nil
	})
}

func closeBody(p mailbox.Payload) {
	if c, ok := p.Body.(io.Closer); ok {
		c.Close()
	}
}

// readCloser closes the stream a reader wraps.
type readCloser struct {
	io.Reader
	io.Closer
}

// writeUpdate makes one update on record: its started line, the write
// (retried; open gives each attempt its payload and the hash of what it
// wrote), its outcome, and the item's new version.
func (r *mailboxRun) writeUpdate(ctx context.Context, up mailbox.Updater, rec ItemRecord, it mailbox.Item, tgtPath string, size int64,
	open func() (mailbox.Payload, func() string, error)) error {
	if r.opts.DryRun {
		r.count(func() { r.kind(it.Kind()).Updated++ })
		return nil
	}
	// The source is opened before the started line: a read that fails is
	// not a write and has no line.
	var first mailbox.Payload
	var hash func() string
	if err := r.retry(ctx, "read changed item", func() (err error) {
		first, hash, err = open()
		return err
	}); err != nil {
		return r.unreadable(it, tgtPath, err)
	}
	e := AuditEvent{Action: audit.ActionItemUpdate, Object: tgtPath + ": " + it.Subject, TargetID: rec.TargetItemID, SourceID: rec.SourceID, Size: size}
	if err := r.begin(ctx, e); err != nil {
		closeBody(first)
		return err
	}
	var losses lossCollector
	err := r.retry(ctx, "update item", func() error {
		losses.take()
		p := first
		if p.Body == nil {
			var err error
			if p, hash, err = open(); err != nil {
				return err
			}
		}
		first.Body = nil // a retry reads the source again
		defer closeBody(p)
		return up.UpdateItem(losses.watch(ctx), rec.TargetItemID, p)
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
	rec.Version, rec.ContentHash, rec.Kind, rec.Updated = it.ChangeKey, hash(), string(it.Kind()), time.Now()
	rec.Subject = it.Subject
	rec.Losses = r.noteLosses(it, tgtPath, losses.take())
	if err := r.c.Store.PutItem(ctx, rec); err != nil {
		return err
	}
	r.count(func() { r.kind(it.Kind()).Updated++ })
	return nil
}
