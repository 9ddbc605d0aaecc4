package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/selection"
	"github.com/exmigrate/exmigrate/internal/state"
	"github.com/exmigrate/exmigrate/internal/wavestatus"
)

type statusOptions struct {
	StatePath string
	Mailboxes string // the list, optional
	Output    string
	Select    selectOptions

	g *globalOptions
}

func newStatusCommand(g *globalOptions, runF func(context.Context, *statusOptions) error) *cobra.Command {
	opts := &statusOptions{g: g}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every copy job of the state: state, last pass, counts, owner",
		Long: `Show every copy job of the state: the source and target mailbox, the
batch (with --mailboxes), its state, when its last pass ended, the items and
bytes copied, the items skipped, the folders that do not reconcile, and the
process copying it now. The state is --state FILE, else the config's: its
state.path file, or the PostgreSQL database of state.url. It only reads the
state, so it runs beside copies in other processes.

States: not-started, running (a process holds the job), interrupted (a pass
started and never ended), failed, partial (ended with skipped items), done
(ended with nothing skipped), completed (signed off by finalize). --only
failed also selects interrupted.`,
		Example: `  exmigrate status --config contoso.yaml
  exmigrate status --state contoso-state.db --only failed,partial
  exmigrate status --state contoso-state.db --mailboxes wave1.csv --batch "Wave 1" -o csv
  exmigrate state prune --state contoso-state.db --completed --older-than 30d`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := wavestatus.ParseFormat(opts.Output); err != nil {
				return usageError(err)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return statusRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.StatePath, "state", "", "state file, which wins over the config (default: the config's state: state.path, or the PostgreSQL database of state.url)")
	f.StringVar(&opts.Mailboxes, "mailboxes", "", "CSV list of mailboxes: show its mailboxes only, with their batch, not-started ones included")
	f.StringVarP(&opts.Output, "output", "o", "table", "output format: table, json or csv")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{"table", "json", "csv"}, cobra.ShellCompDirectiveNoFileComp
	})
	addSelectFlags(cmd, &opts.Select, "--mailboxes")
	// Without a list, status selects among the jobs of the state.
	f.Lookup("mailbox").Usage = "show only this source mailbox: of --mailboxes when given, else of the state (repeatable)"
	return cmd
}

// loadListFor reads --mailboxes for status and serve.
func loadListFor(path string) ([]wavestatus.ListEntry, error) {
	if path == "" {
		return nil, nil
	}
	entries, err := csvinput.LoadList(path)
	if err != nil {
		return nil, usageError(err)
	}
	out := make([]wavestatus.ListEntry, len(entries))
	for i, e := range entries {
		out[i] = wavestatus.ListEntry{Address: e.Address, Target: e.Target, Batch: e.Batch}
	}
	return out, nil
}

func statusRun(ctx context.Context, opts *statusOptions) error {
	format, err := wavestatus.ParseFormat(opts.Output)
	if err != nil {
		return usageError(err)
	}
	crit, err := opts.Select.criteria()
	if err != nil {
		return err
	}
	ref, err := stateRefFor(opts.g, opts.StatePath)
	if err != nil {
		return err
	}
	list, err := loadListFor(opts.Mailboxes)
	if err != nil {
		return err
	}
	store, err := ref.openReadOnly(ctx, "status")
	if err != nil {
		return err
	}
	defer store.Close()
	wave, err := wavestatus.Load(ctx, store, store.Where(), wavestatus.Options{List: list, ListName: opts.Mailboxes, Select: crit,
		StateName: stateName(ref, store)})
	var serr *selection.Error
	if errors.As(err, &serr) {
		return usageError(err)
	}
	if err != nil {
		return err
	}
	return wavestatus.Write(opts.g.io.Out, format, wave)
}

type pruneOptions struct {
	StatePath string
	Completed bool
	Abandoned bool
	OlderThan string
	Yes       bool

	g *globalOptions
}

// newStateCommand groups what is done to the state file itself.
func newStateCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Maintain the state file: prune finished or abandoned jobs",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newPruneCommand(g, nil))
	return cmd
}

func newPruneCommand(g *globalOptions, runF func(context.Context, *pruneOptions) error) *cobra.Command {
	opts := &pruneOptions{g: g}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove completed or abandoned jobs from the state (a dry run without --yes)",
		Long: `Remove jobs, with their folder and item records, from the state (--state FILE,
else the config's state.path file or state.url database):
--completed the jobs finalized or whose last pass ended with nothing skipped, --abandoned
every other job (never started, failed, partial, interrupted), when nothing
happened to them for --older-than. A job a process is copying now (its lease
is live) is never removed. Without --yes it lists what it would remove and
removes nothing.

A pruned mailbox copied again is not copied twice: the next pass finds what is
on the target by its stamps. It does list every target folder again, so prune
only mailboxes the wave is done with.`,
		Example: `  exmigrate state prune --state contoso-state.db --completed --older-than 30d
  exmigrate state prune --state contoso-state.db --completed --abandoned --older-than 8w --yes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !opts.Completed && !opts.Abandoned {
				return usageErrorf("say which jobs to remove: --completed, --abandoned or both")
			}
			if opts.OlderThan == "" {
				return usageErrorf("--older-than is required (e.g. 30d): recent jobs are never removed by accident")
			}
			if _, err := wavestatus.ParseAge(opts.OlderThan); err != nil {
				return usageError(err)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return pruneRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.StatePath, "state", "", "state file, which wins over the config (default: the config's state: state.path, or the PostgreSQL database of state.url)")
	f.BoolVar(&opts.Completed, "completed", false, "remove jobs finalized, or whose last pass ended with nothing skipped")
	f.BoolVar(&opts.Abandoned, "abandoned", false, "remove jobs not completed (never started, failed, partial, interrupted)")
	f.StringVar(&opts.OlderThan, "older-than", "", "only jobs untouched for this long: 30d, 8w, 12h (days, weeks, hours, minutes)")
	f.BoolVar(&opts.Yes, "yes", false, "remove them; without it, only list what would be removed")
	return cmd
}

func pruneRun(ctx context.Context, opts *pruneOptions) error {
	age, err := wavestatus.ParseAge(opts.OlderThan)
	if err != nil {
		return usageError(err)
	}
	ref, err := stateRefFor(opts.g, opts.StatePath)
	if err != nil {
		return err
	}
	// Refuse a missing file (or a database copy never wrote to) before
	// open, which would create one.
	store, err := ref.openReadOnly(ctx, "state prune")
	if err != nil {
		return err
	}
	if opts.Yes {
		store.Close()
		if store, err = ref.open(ctx); err != nil {
			return err
		}
	}
	defer store.Close()
	path := store.Where()
	rule := state.PruneRule{Completed: opts.Completed, Abandoned: opts.Abandoned, Before: time.Now().Add(-age), DryRun: !opts.Yes}
	jobs, err := store.Prune(ctx, rule)
	out := opts.g.io.Out
	verb := "would remove"
	if opts.Yes {
		verb = "removed"
	}
	if len(jobs) > 0 {
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB\tMAILBOX\tTARGET\tSTATUS\tLAST ACTIVITY")
		for _, j := range jobs {
			last := j.LastEnd
			if j.LastStart.After(last) {
				last = j.LastStart
			}
			fmt.Fprintf(tw, "%d\t%s (%s)\t%s (%s)\t%s\t%s\n", j.ID, j.Key.SourceAddress, j.Key.SourceLocation,
				j.Key.TargetAddress, j.Key.TargetLocation, j.Status, whenText(last))
		}
		tw.Flush()
	}
	if err != nil {
		return fmt.Errorf("%s %d job(s), then: %w", verb, len(jobs), err)
	}
	fmt.Fprintf(out, "%s %d job(s) from %s (untouched for %s; jobs being copied now are kept)\n", verb, len(jobs), path, opts.OlderThan)
	if !opts.Yes && len(jobs) > 0 {
		fmt.Fprintln(out, "nothing was removed: run again with --yes to remove them")
	}
	opts.g.logger.Info("state pruned", "state", path, "jobs", len(jobs), "dry_run", !opts.Yes)
	return nil
}

func whenText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}
