package engine

import (
	"context"

	"github.com/exmigrate/exmigrate/internal/audit"
)

// AuditSink keeps audit entries and answers, from every writer's entries,
// whether a write was begun and never finished: the PostgreSQL table of
// many workers (pgstore.AuditLog) is one. The engine needs no database
// driver for it.
type AuditSink interface {
	Record(ctx context.Context, e audit.Entry) error
	Unfinished(ctx context.Context, e audit.Entry) (bool, error)
}

// SinkAuditor records the engine's events in an AuditSink, with the same
// entries FileAuditor writes to the file.
type SinkAuditor struct {
	Sink AuditSink
	// Operator names the principal that writes to a side; "" asks for the
	// sink's default.
	Operator func(location string) string
}

// Record records e.
func (a SinkAuditor) Record(ctx context.Context, e AuditEvent) error {
	return a.Sink.Record(ctx, a.entry(e))
}

// Unfinished reports whether the sink holds a started entry for the write
// e describes that no outcome closed.
func (a SinkAuditor) Unfinished(ctx context.Context, e AuditEvent) (bool, error) {
	return a.Sink.Unfinished(ctx, a.entry(e))
}

// entry is the file's entry for e: one conversion for both.
func (a SinkAuditor) entry(e AuditEvent) audit.Entry {
	return FileAuditor{Operator: a.Operator}.entry(e)
}
