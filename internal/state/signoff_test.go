package state

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

func TestSignOffs(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t)
	job := newJob(t, s, onboard)
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		so   SignOff
		err  string
		is   error
	}{
		{name: "no operator", so: SignOff{JobID: job, At: at, Skipped: 1, Approved: 1}, err: "names who signed it off"},
		{name: "a skip not approved", so: SignOff{JobID: job, At: at, Operator: "CONTOSO\\pat", Skipped: 2, Approved: 1}, err: "every skipped item must be approved"},
		{name: "no such job", so: SignOff{JobID: job + 9, At: at, Operator: "pat"}, is: mailbox.ErrNotFound},
		{name: "signed off", so: SignOff{JobID: job, At: at, Operator: "CONTOSO\\pat", ItemsOnTarget: 41, Skipped: 1, Approved: 1, Note: "one video over 150 MB, sent by link"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.PutSignOff(ctx, tc.so)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("err = %v, want %q", err, tc.err)
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Fatalf("err = %v, want %v", err, tc.is)
			case tc.err == "" && tc.is == nil && err != nil:
				t.Fatal(err)
			}
		})
	}
	s.Close()
	r, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.SignOffs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	so, ok := got[job]
	if !ok || len(got) != 1 || !so.At.Equal(at) || so.Operator != "CONTOSO\\pat" || so.Approved != 1 || so.ItemsOnTarget != 41 || so.Note == "" {
		t.Errorf("sign-offs read back %+v, want the one written", got)
	}
}
