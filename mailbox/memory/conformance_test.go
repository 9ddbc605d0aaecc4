package memory_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/mailboxtest"
	"github.com/exmigrate/exmigrate/mailbox/memory"
)

// TestConformance runs the mailbox contract's suite against the in-memory
// backend, its reference.
func TestConformance(t *testing.T) {
	var n atomic.Int64
	svc := func(t *testing.T, opts ...memory.Option) *memory.Service {
		caps := memory.DefaultCapabilities()
		caps.MaxItemBytes = 64 << 20
		return memory.New(append([]memory.Option{memory.WithPageSize(10), memory.WithSpool(t.TempDir()), memory.WithCapabilities(caps)}, opts...)...)
	}
	services := map[mailboxtest.Mailbox]*memory.Service{}
	f := mailboxtest.Fixture{
		NewMailbox: func(t *testing.T) mailboxtest.Mailbox {
			s := svc(t)
			mb := s.AddMailbox(fmt.Sprintf("user%d@contoso.com", n.Add(1)))
			services[mb] = s
			return mb
		},
		MissingMailbox: func(t *testing.T) mailboxtest.Mailbox { return svc(t).Open("nobody@contoso.com") },
		DeniedMailbox: func(t *testing.T) mailboxtest.Mailbox {
			s := svc(t)
			s.Inject(memory.Fault{Op: memory.OpFolders, Err: fmt.Errorf("memory: %w", mailbox.ErrAccessDenied)})
			return s.AddMailbox("ceo@contoso.com")
		},
		ExpireSyncStates: func(t *testing.T, mb mailboxtest.Mailbox) { services[mb].ExpireSyncStates() },
		LoseNextCreateAnswer: func(t *testing.T, mb mailboxtest.Mailbox) {
			services[mb].Inject(memory.Fault{Op: memory.OpCreateItem, AfterWrite: true, Err: fmt.Errorf("memory: connection reset")})
		},
		InterruptNextCreate: func(t *testing.T, mb mailboxtest.Mailbox) func() {
			services[mb].Inject(memory.Fault{Op: memory.OpCreateItem, Incomplete: true, Err: fmt.Errorf("memory: process killed")})
			return func() {}
		},
		ThrottleNext: func(t *testing.T, mb mailboxtest.Mailbox) {
			services[mb].Inject(memory.Fault{Op: memory.OpChanges, Err: fmt.Errorf("memory: server busy: %w", mailbox.ErrThrottled)})
		},
		Unreachable: func(t *testing.T, mb mailboxtest.Mailbox) {
			services[mb].Inject(memory.Fault{Op: memory.OpChanges, Err: fmt.Errorf("memory: no answer after 6 retries: %w", mailbox.ErrUnavailable)})
		},
		MissingItemID:  func(t *testing.T, mb mailboxtest.Mailbox) string { return "i-missing" },
		SyncPageSize:   10,
		LargeItemBytes: 48 << 20,
		MeasureHeap:    true,
	}
	mailboxtest.RunSource(t, f)
	mailboxtest.RunTarget(t, f)

	// The sandbox the live runs use passes the same suite.
	t.Run("Sandboxed", func(t *testing.T) {
		sf := f
		sf.NewMailbox = func(t *testing.T) mailboxtest.Mailbox {
			mb := f.NewMailbox(t)
			sb := mailboxtest.Sandbox(t, mb)
			services[sb] = services[mb]
			return sb
		}
		sf.MissingMailbox, sf.DeniedMailbox = nil, nil
		mailboxtest.RunSource(t, sf)
		mailboxtest.RunTarget(t, sf)
	})
}
