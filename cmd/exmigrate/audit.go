package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/state/pgstore"
)

// auditor is what the engine records in, with Unfinished so that a write a
// killed process began is confirmed, not adopted (engine.FileAuditor,
// engine.SinkAuditor).
type auditor interface {
	engine.Auditor
	Unfinished(ctx context.Context, e engine.AuditEvent) (bool, error)
}

var (
	_ auditor = engine.FileAuditor{}
	_ auditor = engine.SinkAuditor{}
)

// auditLog is the audit trail a command records in: the file, or the
// PostgreSQL state's table. Close it once.
type auditLog struct {
	auditor
	close func() error
}

func (a *auditLog) Close() error { return a.close() }

// auditTarget is where a command's audit goes: a file, or the audit table
// of the PostgreSQL state at url.
type auditTarget struct {
	file string
	url  string
}

func (t auditTarget) String() string {
	if t.url != "" {
		return "the audit table of the state database"
	}
	return t.file
}

// auditTargetOf decides where the audit goes, for every command that
// writes or reads it: the file --audit-log names; else, when the state is
// PostgreSQL (state.url, and no --state FILE) and audit_log is left at its
// default, the state database's table, so that the workers sharing the
// state share one audit trail in one order; else audit_log from the config.
// An audit_log of one's own keeps a file, even with a PostgreSQL state.
func auditTargetOf(cfg *config.Config, stateFlag, auditFlag string) auditTarget {
	switch {
	case auditFlag != "":
		return auditTarget{file: auditFlag}
	case configState(cfg, stateFlag).isDB() && cfg.AuditLog == config.DefaultAuditLog:
		return auditTarget{url: cfg.State.URL}
	}
	return auditTarget{file: cfg.Path(cfg.AuditLog)}
}

// openAuditFor opens the audit trail auditTargetOf decides for a command
// with these --state and --audit-log values ("" when not given or the
// command has no such flag). state is the state store the command holds
// open, or nil: when the trail is that database's table, it is written
// through the same store, not a second pool of connections.
func openAuditFor(ctx context.Context, cfg *config.Config, stateFlag, auditFlag string, operator func(location string) string, state any) (*auditLog, error) {
	t := auditTargetOf(cfg, stateFlag, auditFlag)
	if t.url == "" {
		return openAudit(t.file, operator)
	}
	if held, ok := state.(*pgstore.Store); ok {
		l, err := held.OpenAudit(operator(""))
		if err != nil {
			return nil, err
		}
		return &auditLog{engine.SinkAuditor{Sink: l, Operator: operator}, l.Close}, nil
	}
	store, err := openAuditStore(ctx, cfg, t, false)
	if err != nil {
		return nil, err
	}
	l, err := store.OpenAudit(operator(""))
	if err != nil {
		store.Close()
		return nil, err
	}
	return &auditLog{engine.SinkAuditor{Sink: l, Operator: operator}, func() error {
		return errors.Join(l.Close(), store.Close())
	}}, nil
}

// openAuditStore connects to the state database of t, as
// state.OpenConfigured does; readOnly opens it as status does, never
// creating or migrating the schema.
func openAuditStore(ctx context.Context, cfg *config.Config, t auditTarget, readOnly bool) (*pgstore.Store, error) {
	pw, err := cfg.StatePassword()
	if err != nil {
		return nil, usageError(fmt.Errorf("state: %w", err))
	}
	open := pgstore.Open
	if readOnly {
		open = pgstore.OpenReadOnly
	}
	store, err := open(ctx, t.url, pw)
	if errors.Is(err, pgstore.ErrNoState) {
		return nil, usageErrorf("audit: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return store, nil
}

// openAudit opens the audit file at path.
func openAudit(path string, operator func(location string) string) (*auditLog, error) {
	l, err := audit.Open(path, operator(""))
	if err != nil {
		return nil, err
	}
	return &auditLog{engine.FileAuditor{Log: l, Operator: operator}, l.Close}, nil
}
