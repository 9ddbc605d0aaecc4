package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/internal/logging"
)

// runRefused runs exmigrate with a context that is already cancelled: a
// value the flags accept must not start a lab or a copy that outlives the
// test, and one they refuse is refused before anything runs.
func runRefused(t *testing.T, args ...string) (code int, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	code = Main(ctx, args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, errb.String()
}

// TestNumericFlagsRefuseOutOfRange: a numeric flag given outside its range
// is a usage error (exit 2) that names the flag, the value and the range.
func TestNumericFlagsRefuseOutOfRange(t *testing.T) {
	dir := t.TempDir()
	list := "--mailboxes=list.csv"
	tests := []struct {
		args []string
		want string // the message, after "exmigrate: "
	}{
		{[]string{"copy", list, "--parallel", "0"}, "--parallel 0 is out of range: use 1 to 64"},
		{[]string{"copy", list, "--parallel", "-1"}, "--parallel -1 is out of range: use 1 to 64"},
		{[]string{"copy", list, "--parallel", "65"}, "--parallel 65 is out of range: use 1 to 64"},
		{[]string{"copy", list, "--parallel", "four"}, `--parallel "four" is not a whole number: use 1 to 64`},
		{[]string{"copy", list, "--item-workers", "-1"}, "--item-workers -1 is out of range: use 1 to 27"},
		{[]string{"copy", list, "--item-workers", "0"}, "--item-workers 0 is out of range: use 1 to 27"},
		{[]string{"copy", list, "--item-workers", "28"}, "--item-workers 28 is out of range: use 1 to 27"},
		{[]string{"copy", list, "--max-skipped", "-5"}, "--max-skipped -5 is out of range: use 0 or more, or -1 for no limit"},
		{[]string{"copy", list, "--max-skipped", "-2"}, "--max-skipped -2 is out of range: use 0 or more, or -1 for no limit"},
		{[]string{"assess", list, "--parallel", "0"}, "--parallel 0 is out of range: use 1 to 64"},
		{[]string{"assess", list, "--parallel", "-3"}, "--parallel -3 is out of range: use 1 to 64"},
		{[]string{"lab", "--dir", "DIR", "--mailboxes", "-2"}, "--mailboxes -2 is out of range: use 0 to 9999"},
		{[]string{"lab", "--dir", "DIR", "--mailboxes", "10000"}, "--mailboxes 10000 is out of range: use 0 to 9999"},
		{[]string{"lab", "--dir", "DIR", "--mailboxes", "1", "--items", "-5"}, "--items -5 is out of range: use 0 to 100000"},
		{[]string{"lab", "--dir", "DIR", "--items", "100001"}, "--items 100001 is out of range: use 0 to 100000"},
		{[]string{"lab", "--dir", "DIR", "--latency", "-1s"}, "--latency -1s is out of range: use 0 to 10s"},
		{[]string{"lab", "--dir", "DIR", "--latency", "11s"}, "--latency 11s is out of range: use 0 to 10s"},
		{[]string{"lab", "--dir", "DIR", "--latency", "20"}, `--latency "20" is not a duration: use 0 to 10s`},
		{[]string{"lab", "--dir", "DIR", "--faults", "-0.1"}, "--faults -0.1 is out of range: use 0 to 0.5"},
		{[]string{"lab", "--dir", "DIR", "--faults", "0.6"}, "--faults 0.6 is out of range: use 0 to 0.5"},
		{[]string{"lab", "--dir", "DIR", "--faults", "NaN"}, "--faults NaN is out of range: use 0 to 0.5"},
		{[]string{"lab", "--dir", "DIR", "--seed", "-1"}, `--seed "-1" is not a whole number: use 0 to 18446744073709551615`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append([]string(nil), tt.args...)
			for i, a := range args {
				if a == "DIR" {
					args[i] = dir // a lab that starts anyway writes here
				}
			}
			code, stderr := runRefused(t, args...)
			if code != ExitUsage || !strings.HasPrefix(stderr, "exmigrate: "+tt.want) {
				t.Errorf("exit %d, stderr %q\nwant exit %d, stderr starting %q", code, stderr, ExitUsage, "exmigrate: "+tt.want)
			}
		})
	}
}

// TestNumericFlagsAcceptTheirRange: the ends of each range, and the values
// with a documented meaning (--max-skipped -1), reach the command as given;
// a flag left out keeps its default.
func TestNumericFlagsAcceptTheirRange(t *testing.T) {
	g := &globalOptions{logger: logging.Discard()}
	execute := func(t *testing.T, cmd *cobra.Command, args ...string) {
		t.Helper()
		var out bytes.Buffer
		cmd.SetArgs(args)
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
	}
	t.Run("copy", func(t *testing.T) {
		for _, tt := range []struct {
			args                              []string
			parallel, maxSkipped, itemWorkers int
		}{
			{nil, 0, -1, 4}, // 0: concurrency.mailboxes from the config
			{[]string{"--parallel", "1", "--max-skipped", "-1", "--item-workers", "1"}, 1, -1, 1},
			{[]string{"--parallel", "64", "--max-skipped", "0", "--item-workers", "27"}, 64, 0, 27},
			{[]string{"--max-skipped", "1000000"}, 0, 1000000, 4},
		} {
			var got *copyOptions
			cmd := newCopyCommand(g, func(_ context.Context, o *copyOptions) error { got = o; return nil })
			execute(t, cmd, append([]string{"--mailboxes", "list.csv"}, tt.args...)...)
			if got.Parallel != tt.parallel || got.MaxSkipped != tt.maxSkipped || got.ItemWorkers != tt.itemWorkers {
				t.Errorf("%v: parallel %d, max-skipped %d, item-workers %d; want %d, %d, %d", tt.args,
					got.Parallel, got.MaxSkipped, got.ItemWorkers, tt.parallel, tt.maxSkipped, tt.itemWorkers)
			}
		}
	})
	t.Run("assess", func(t *testing.T) {
		for _, n := range []int{1, 64} {
			var got *assessOptions
			cmd := newAssessCommand(g, func(_ context.Context, o *assessOptions) error { got = o; return nil })
			execute(t, cmd, "--mailboxes", "list.csv", "--parallel", strconv.Itoa(n))
			if got.Parallel != n {
				t.Errorf("--parallel %d: got %d", n, got.Parallel)
			}
		}
	})
	t.Run("lab", func(t *testing.T) {
		var got *labOptions
		cmd := newLabCommand(g, func(_ context.Context, o *labOptions) error { got = o; return nil })
		execute(t, cmd)
		if got.Mailboxes != 0 || got.Items != 200 || got.Seed != 0 || got.Latency != 0 || got.Faults != 0 {
			t.Errorf("defaults: %+v", got)
		}
		cmd = newLabCommand(g, func(_ context.Context, o *labOptions) error { got = o; return nil })
		execute(t, cmd, "--mailboxes", "9999", "--items", "100000", "--seed", "18446744073709551615", "--latency", "10s", "--faults", "0.5")
		if got.Mailboxes != 9999 || got.Items != 100000 || got.Seed != 1<<64-1 || got.Latency != 10*time.Second || got.Faults != 0.5 {
			t.Errorf("the ends of the ranges: %+v", got)
		}
		cmd = newLabCommand(g, func(_ context.Context, o *labOptions) error { got = o; return nil })
		execute(t, cmd, "--items", "0", "--latency", "0", "--faults", "0")
		if got.Items != 0 || got.Latency != 0 || got.Faults != 0 {
			t.Errorf("the low ends: %+v", got)
		}
	})
}

// TestEveryNumericFlagSaysItsRange: each numeric flag of each command is
// checked against a range, and its help says that range, so that a flag
// added later cannot take any number silently.
func TestEveryNumericFlagSaysItsRange(t *testing.T) {
	root := newRootCommand(&globalOptions{logger: logging.Discard()})
	// A usage line: "      --parallel int   mailboxes copied at once, 1 to 64 ..."
	line := regexp.MustCompile(`^\s+(?:-\w, )?--([\w-]+) (int|uint|float|duration)\w*\s+(.*)$`)
	numeric := 0
	for _, cmd := range append([]*cobra.Command{root}, root.Commands()...) {
		for _, l := range strings.Split(cmd.Flags().FlagUsages(), "\n") {
			m := line.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			numeric++
			name := cmd.Name() + " --" + m[1]
			r, ok := cmd.Flags().Lookup(m[1]).Value.(interface{ rangeText() string })
			if !ok {
				t.Errorf("%s takes any %s: register it with a range (see flagrange.go)", name, m[2])
				continue
			}
			if !strings.Contains(m[3], r.rangeText()) {
				t.Errorf("%s: the help %q does not say the range %q", name, m[3], r.rangeText())
			}
		}
	}
	if numeric < 8 {
		t.Errorf("found %d numeric flags; the usage format changed?", numeric)
	}
}
