package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/internal/lab"
)

type demoOptions struct {
	Dir string

	g *globalOptions
}

func newDemoCommand(g *globalOptions, runF func(context.Context, *demoOptions) error) *cobra.Command {
	opts := &demoOptions{g: g}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run lab, check, assess, copy and report end to end on this machine",
		Long: `Start the lab in-process and run check, assess, copy (with --rules) and report
through the same code paths a real migration uses, then print where the HTML
report is. Nothing leaves this machine.`,
		Example: `  exmigrate demo
  exmigrate demo --dir /tmp/exmigrate-demo`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return demoRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "exmigrate-demo", "folder for the lab, its state and the report")
	return cmd
}

func demoRun(ctx context.Context, opts *demoOptions) error {
	start := time.Now()
	out := opts.g.io.Out
	// The lab's servers keep their mailboxes in memory, so a new demo is
	// a new organisation: start its copy state afresh too.
	for _, name := range []string{"state.db", "state.db-wal", "state.db-shm"} {
		if err := os.Remove(filepath.Join(opts.Dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	l, err := lab.Start(ctx, lab.Options{Dir: opts.Dir, Logger: opts.g.logger})
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Fprintf(out, "== lab: %s on loopback (EWS %s, Graph %s)\n", l.Scenario.Organisation, l.EWSURL, l.GraphURL)

	g := *opts.g
	g.ConfigPath = l.ConfigPath
	step := func(name string, run func() error) error {
		fmt.Fprintf(out, "\n== %s\n", name)
		err := run()
		if errors.Is(err, errSkipped) {
			fmt.Fprintln(out, "(some items were skipped: the report says which and why)")
			return nil
		}
		return err
	}
	assessment := filepath.Join(l.Dir, "assessment.json")
	reportDir := filepath.Join(l.Dir, "report")
	if err := step("check", func() error { return checkRun(ctx, &checkOptions{g: &g}) }); err != nil {
		return err
	}
	if err := step("assess", func() error {
		return assessRun(ctx, &assessOptions{g: &g, Mailboxes: l.MailboxesCSV, Out: assessment, PublicFolders: true})
	}); err != nil {
		return err
	}
	if err := step("copy (on-prem to cloud, with inbox rules)", func() error {
		return copyRun(ctx, &copyOptions{g: &g, Mailboxes: l.CopyCSV, Rules: true, Direction: "onboarding", MaxSkipped: -1, ItemWorkers: 4})
	}); err != nil {
		return err
	}
	if err := step("report", func() error {
		return reportRun(ctx, &reportOptions{g: &g, In: assessment, CopyResults: filepath.Join(l.Dir, "state.db"),
			Formats: "html,csv,json,md", Out: reportDir, Organisation: l.Scenario.Organisation})
	}); err != nil {
		return err
	}
	fmt.Fprintf(out, "\ndemo finished in %s\nHTML report: %s\n", time.Since(start).Round(100*time.Millisecond), filepath.Join(reportDir, "report.html"))
	return nil
}
