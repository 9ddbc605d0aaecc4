package state

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
)

// TestLeaseContract: one owner per job across two handles on one file (two
// processes), taken over only after expiry.
func TestLeaseContract(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	a, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	job, err := a.Job(ctx, engine.JobKey{SourceAddress: "ann@contoso.com", SourceLocation: "onprem", TargetAddress: "ann@contoso.com", TargetLocation: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	ownerA, ownerB := engine.NewOwner(), engine.NewOwner()
	ownerA.PID, ownerB.PID = 101, 202

	la, err := a.AcquireLease(ctx, job.ID, ownerA, time.Hour)
	if err != nil {
		t.Fatalf("A acquires a free job: %v", err)
	}
	_, err = b.AcquireLease(ctx, job.ID, ownerB, time.Hour)
	var le *engine.LeasedError
	if !errors.As(err, &le) || le.Holder.Token != ownerA.Token || le.Holder.PID != 101 {
		t.Fatalf("B acquires A's job: %v, want a LeasedError naming A", err)
	}
	if _, err := a.AcquireLease(ctx, job.ID, ownerA, time.Hour); err != nil {
		t.Errorf("A acquires its own job again: %v", err)
	}
	if _, err := a.RenewLease(ctx, la, time.Hour); err != nil {
		t.Errorf("A renews: %v", err)
	}

	// A's lease expires (a killed process): B takes over, A has lost it.
	if _, err := a.RenewLease(ctx, la, -time.Second); err != nil {
		t.Fatal(err)
	}
	lb, err := b.AcquireLease(ctx, job.ID, ownerB, time.Hour)
	if err != nil {
		t.Fatalf("B after A's lease expired: %v", err)
	}
	if _, err := a.RenewLease(ctx, la, time.Hour); !errors.Is(err, engine.ErrLeaseLost) {
		t.Fatalf("A renews a lease B took over: %v, want ErrLeaseLost", err)
	}
	if err := a.ReleaseLease(ctx, la); err != nil {
		t.Errorf("A releases a lease it lost: %v, want nil (B's stays)", err)
	}
	if _, err := a.AcquireLease(ctx, job.ID, ownerA, time.Hour); !errors.As(err, &le) || le.Holder.Token != ownerB.Token {
		t.Fatalf("A's release of a lost lease freed B's: %v", err)
	}
	if err := b.ReleaseLease(ctx, lb); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AcquireLease(ctx, job.ID, ownerA, time.Hour); err != nil {
		t.Fatalf("A after B released: %v", err)
	}
}

// TestLeaseRace: eight processes racing for one job; exactly one wins.
func TestLeaseRace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	first, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	job, err := first.Job(ctx, engine.JobKey{SourceAddress: "ann@contoso.com", SourceLocation: "onprem", TargetAddress: "ann@contoso.com", TargetLocation: "cloud"})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, refused := 0, 0
		for range 8 {
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.AcquireLease(ctx, job.ID, engine.NewOwner(), time.Hour)
				var le *engine.LeasedError
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.As(err, &le):
					refused++
				default:
					t.Errorf("acquire: %v", err)
				}
			}()
		}
		wg.Wait()
		if won != 1 || refused != 7 {
			t.Fatalf("round %d: %d won, %d refused; want 1 and 7", round, won, refused)
		}
		if _, err := first.write.ExecContext(ctx, `DELETE FROM leases`); err != nil {
			t.Fatal(err)
		}
	}
}
