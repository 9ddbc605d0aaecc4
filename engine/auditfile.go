package engine

import (
	"context"

	"github.com/exmigrate/exmigrate/internal/audit"
)

// FileAuditor records the engine's events in an audit file, naming for
// each the principal of the side written to. It answers Unfinished from
// the file, so that a write a killed process began is confirmed by the
// next run instead of being adopted as someone else's.
type FileAuditor struct {
	Log *audit.Log
	// Operator names the principal that writes to a side ("onprem",
	// "cloud", an endpoint name); "" asks for the default.
	Operator func(location string) string
}

// Record appends e.
func (a FileAuditor) Record(ctx context.Context, e AuditEvent) error {
	return a.Log.Record(ctx, a.entry(e))
}

// Unfinished reports whether the file holds a started line for the write
// e describes that no outcome closed.
func (a FileAuditor) Unfinished(_ context.Context, e AuditEvent) (bool, error) {
	return a.Log.Unfinished(a.entry(e))
}

func (a FileAuditor) entry(e AuditEvent) audit.Entry {
	var op string
	if a.Operator != nil {
		op = a.Operator(e.Location)
	}
	return audit.Entry{Operator: op, Mailbox: e.Mailbox, Action: e.Action, Object: e.Object, TargetID: e.TargetID,
		Outcome: e.Outcome, Error: e.Err, Note: e.Note, SourceID: e.SourceID, Size: e.Size}
}
