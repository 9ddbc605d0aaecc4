package memory_test

import (
	"context"
	"errors"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mailbox/memory"
)

// FuzzChangesState: whatever state a caller hands back, Changes answers a
// page or ErrSyncStateInvalid, never a panic or another error.
func FuzzChangesState(f *testing.F) {
	for _, seed := range []string{"", "0:0:", "0:3:i1,i2", "1:2:", "x", "0:-1:", "0:9223372036854775807:,,,", "::"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, state string) {
		s := memory.New(memory.WithPageSize(2))
		mb := s.AddMailbox("a@contoso.com")
		inbox, _ := mb.FolderByPath(mailbox.ScopePrimary, "Inbox")
		for range 3 {
			mb.Seed(inbox, mailbox.Item{Class: mailbox.ClassMessage, Subject: "x"}, []byte("Subject: x\r\n\r\nx"))
		}
		page, err := mb.Changes(context.Background(), inbox, state)
		if err != nil && !errors.Is(err, mailbox.ErrSyncStateInvalid) {
			t.Fatalf("Changes(%q): %v", state, err)
		}
		if err == nil && page.State == "" {
			t.Fatalf("Changes(%q) returned no state", state)
		}
	})
}
