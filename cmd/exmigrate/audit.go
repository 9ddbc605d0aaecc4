package main

import (
	"context"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/internal/audit"
)

// auditLog adapts the audit file to the engine's Auditor.
type auditLog struct{ l *audit.Log }

func openAudit(path, operator string) (*auditLog, error) {
	l, err := audit.Open(path, operator)
	if err != nil {
		return nil, err
	}
	return &auditLog{l}, nil
}

func (a *auditLog) Record(ctx context.Context, e dispatch.AuditEvent) error {
	return a.l.Record(ctx, audit.Entry{Mailbox: e.Mailbox, Action: e.Action, Object: e.Object,
		TargetID: e.TargetID, Outcome: e.Outcome, Error: e.Err})
}

func (a *auditLog) Close() error { return a.l.Close() }
