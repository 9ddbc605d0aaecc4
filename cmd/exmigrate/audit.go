package main

import (
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/audit"
)

// auditLog is the audit file as the engine records in it (see
// engine.FileAuditor), with its Close.
type auditLog struct {
	engine.FileAuditor
}

func openAudit(path string, operator func(location string) string) (*auditLog, error) {
	l, err := audit.Open(path, operator(""))
	if err != nil {
		return nil, err
	}
	return &auditLog{engine.FileAuditor{Log: l, Operator: operator}}, nil
}

func (a *auditLog) Close() error { return a.Log.Close() }
