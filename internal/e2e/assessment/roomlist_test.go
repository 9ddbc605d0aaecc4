package assessment_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/mailbox"
)

// TestLabRoomIsARoom: the lab lists the scenario's on-prem rooms in a room
// list, so EWS names the room a room, in a fresh lab and in one restored
// from its folder (room lists are not in the snapshots: the lab lists them
// on every start).
func TestLabRoomIsARoom(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "lab")
	for _, run := range []string{"fresh", "restored"} {
		l, err := lab.Start(ctx, lab.Options{Dir: dir, Logger: testLogger()})
		if err != nil {
			t.Fatal(err)
		}
		if l.Restored != (run == "restored") {
			t.Fatalf("%s lab: Restored = %v", run, l.Restored)
		}
		cfg, err := config.Load(l.ConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		sides, err := backend.Connect(ctx, cfg, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		for addr, want := range map[string]mailbox.MailboxType{"room-paris@contoso.com": mailbox.TypeRoom, "ann@contoso.com": mailbox.TypeUnknown} {
			got, why, err := sides.EWS.Mailbox(addr).MailboxType(ctx)
			if err != nil || got != want {
				t.Errorf("%s lab: %s is %q (%s, %v); want %q", run, addr, got, why, err, want)
			}
		}
		sides.Close()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
