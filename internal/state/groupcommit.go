package state

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/exmigrate/exmigrate/engine"
)

// maxGroup bounds the item records one transaction commits: enough to
// spread a commit's cost over every worker of a busy copy, small enough
// that no caller waits long behind the others.
const maxGroup = 256

// gatherYields is how many times the writer lets other goroutines run
// while it gathers a group.
const gatherYields = 2

// itemWrites commits the records of concurrent PutItem (and PutFolder) calls together
// (group commit). Two records per copied item, each its own transaction,
// were the largest share of a copy's CPU: each commit appends and
// checksums WAL frames and makes its own system calls. Together they cost
// one commit per group, and each caller still returns only once its record
// is committed, so what PutItem promises is unchanged.
type itemWrites struct {
	reqs chan itemWrite
	stop chan struct{} // closed by Close: the writer finishes its group and ends
	done chan struct{} // closed when the writer has ended

	once    sync.Once
	grouped atomic.Int64 // groups of more than one record committed together, for tests
}

type itemWrite struct {
	ctx    context.Context
	rec    engine.ItemRecord
	folder *engine.FolderRecord // a folder's record instead: a sync state, its marks
	err    chan error           // buffered: the writer never blocks on a caller
}

func (s *SQLite) startItemWrites() {
	s.items = &itemWrites{
		reqs: make(chan itemWrite),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go s.writeItems()
}

// stopItemWrites ends the writer after the group it holds; calls waiting to
// be taken fail with ErrStoreClosed.
func (s *SQLite) stopItemWrites() {
	if s.items == nil {
		return
	}
	s.items.once.Do(func() { close(s.items.stop) })
	<-s.items.done
}

// putItemGrouped hands rec to the writer and waits for its commit. Once
// taken, a record's outcome is waited for even if ctx ends, so that what
// the caller is told is what the file holds.
func (s *SQLite) putItemGrouped(ctx context.Context, rec engine.ItemRecord) error {
	return s.putGrouped(itemWrite{ctx: ctx, rec: rec, err: make(chan error, 1)})
}

// putFolderGrouped is putItemGrouped for a folder's record: a page's sync
// state commits with the records of the items written beside it.
func (s *SQLite) putFolderGrouped(ctx context.Context, rec engine.FolderRecord) error {
	return s.putGrouped(itemWrite{ctx: ctx, folder: &rec, err: make(chan error, 1)})
}

func (s *SQLite) putGrouped(w itemWrite) error {
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("state: %s: %w", w.op(), err)
	}
	select {
	case s.items.reqs <- w:
	case <-w.ctx.Done():
		return fmt.Errorf("state: %s: %w", w.op(), w.ctx.Err())
	case <-s.items.done:
		return fmt.Errorf("state: %s: %w", w.op(), engine.ErrStoreClosed)
	}
	return <-w.err
}

// op names the write, for errors.
func (w itemWrite) op() string {
	if w.folder != nil {
		return fmt.Sprintf("put folder job %d source %q", w.folder.JobID, w.folder.SourceFolderID)
	}
	return fmt.Sprintf("put item job %d source %q", w.rec.JobID, w.rec.SourceID)
}

func (s *SQLite) writeItems() {
	defer close(s.items.done)
	group := make([]itemWrite, 0, maxGroup)
	for {
		select {
		case <-s.items.stop:
			return
		case w := <-s.items.reqs:
			group = append(group[:0], w)
		}
		// Take what queued while the last group committed: under load that
		// is every worker's next record; when idle it is none, and a lone
		// record commits at once, as before. Between two looks the writer
		// yields its core: with 200 mailboxes in parallel, taking only what
		// had queued made groups of 1.7 records on average, and letting the
		// workers that are about to write run first makes them 8.5 (a
		// commit fewer per record: 12% less of the writer's CPU), for a
		// few microseconds' wait.
		for look := 0; ; look++ {
		more:
			for len(group) < maxGroup {
				select {
				case w := <-s.items.reqs:
					group = append(group, w)
				default:
					break more
				}
			}
			if look == gatherYields || len(group) == maxGroup {
				break
			}
			runtime.Gosched()
		}
		s.commitGroup(group)
	}
}

// commitGroup writes a group in one transaction. If that fails, each
// record is written alone, so that each caller learns its own outcome and
// one bad record (a job that does not exist) fails no other.
func (s *SQLite) commitGroup(group []itemWrite) {
	if len(group) > 1 && s.commitTogether(group) == nil {
		s.items.grouped.Add(1)
		for _, w := range group {
			w.err <- nil
		}
		return
	}
	for _, w := range group {
		w.err <- s.execWrite(context.WithoutCancel(w.ctx), s.putItem, s.putFolder, w)
	}
}

func (s *SQLite) execWrite(ctx context.Context, item, folder *sql.Stmt, w itemWrite) error {
	if w.folder != nil {
		return s.execPutFolder(ctx, folder, *w.folder)
	}
	return s.execPutItem(ctx, item, w.rec)
}

func (s *SQLite) commitTogether(group []itemWrite) error {
	// The group outlives any one caller's context: its records are
	// committed or refused together.
	ctx := context.WithoutCancel(group[0].ctx)
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	st := tx.StmtContext(ctx, s.putItem)
	var fst *sql.Stmt // prepared for the transaction only if a folder is in the group
	for _, w := range group {
		if w.folder != nil && fst == nil {
			fst = tx.StmtContext(ctx, s.putFolder)
		}
		if err := s.execWrite(ctx, st, fst, w); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

func (s *SQLite) execPutItem(ctx context.Context, st *sql.Stmt, rec engine.ItemRecord) error {
	_, err := st.ExecContext(ctx, putItemArgs(rec)...)
	if err != nil {
		// The operation name is built only here: PutItem is the hot path.
		return s.fail(fmt.Sprintf("put item job %d source %q", rec.JobID, rec.SourceID), noJob(err, rec.JobID))
	}
	return nil
}

// putItemArgs are sqlPutItem's parameters for rec.
func putItemArgs(rec engine.ItemRecord) []any {
	return []any{rec.JobID, rec.SourceID, rec.SourceItemID, rec.SourceFolderID, rec.TargetItemID,
		rec.SizeBytes, rec.IsRead, rec.Outcome, rec.Reason, toNanos(rec.Updated), rec.Subject,
		rec.Kind, rec.Version, rec.ContentHash, rec.Losses, rec.Fingerprint, keyOf(rec.SourceFolderID), keyOf(rec.TargetItemID)}
}
