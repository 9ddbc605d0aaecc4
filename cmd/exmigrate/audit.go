package main

import (
	"context"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/audit"
)

// auditLog adapts the audit file to the engine's Auditor, naming for each
// write the principal of the side written to.
type auditLog struct {
	l        *audit.Log
	operator func(location string) string
}

func openAudit(path string, operator func(location string) string) (*auditLog, error) {
	l, err := audit.Open(path, operator(""))
	if err != nil {
		return nil, err
	}
	return &auditLog{l: l, operator: operator}, nil
}

func (a *auditLog) Record(ctx context.Context, e engine.AuditEvent) error {
	return a.l.Record(ctx, audit.Entry{Operator: a.operator(e.Location), Mailbox: e.Mailbox, Action: e.Action, Object: e.Object,
		TargetID: e.TargetID, Outcome: e.Outcome, Error: e.Err, SourceID: e.SourceID, Size: e.Size})
}

func (a *auditLog) Close() error { return a.l.Close() }
