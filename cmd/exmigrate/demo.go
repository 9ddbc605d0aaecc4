package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/internal/humanize"
	"github.com/exmigrate/exmigrate/internal/lab"
)

type demoOptions struct {
	Dir      string
	Scenario string

	g *globalOptions
}

func newDemoCommand(g *globalOptions, runF func(context.Context, *demoOptions) error) *cobra.Command {
	opts := &demoOptions{g: g}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run lab, check, assess, copy and report end to end on this machine",
		Long: `Start the lab in-process and run check, assess, copy (with --rules) and report
through the same code paths a real migration uses, then print where the HTML
report is. Nothing leaves this machine.

The lab saves its organisation in the folder when the demo ends, so a second
demo in the same folder continues it: its copy pass is incremental and
copies nothing. A changed scenario starts a new organisation.

Like copy, the demo exits 3 when a mailbox skipped items (the built-in
scenario has an item too large for Exchange Online, on purpose), and 0 only
when nothing was skipped.`,
		Example: `  exmigrate demo
  exmigrate demo --dir /tmp/exmigrate-demo
  exmigrate demo --scenario testdata/lab/small.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return demoRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "exmigrate-demo", "folder for the lab, its state and the report")
	cmd.Flags().StringVar(&opts.Scenario, "scenario", "", "scenario file of the lab's organisation (default: the built-in one)")
	return cmd
}

func demoRun(ctx context.Context, opts *demoOptions) error {
	start := time.Now()
	out := opts.g.io.Out
	var sc *lab.Scenario
	if opts.Scenario != "" {
		var err error
		if sc, err = lab.LoadScenario(opts.Scenario); err != nil {
			return usageError(err)
		}
	}
	// The lab continues the organisation a previous demo saved in this
	// folder, with the copy state beside it; a new organisation comes with
	// its copy state removed.
	l, err := lab.Start(ctx, lab.Options{Dir: opts.Dir, Scenario: sc, Logger: opts.g.logger})
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Fprintf(out, "== lab: %s on loopback (EWS %s, Graph %s)\n", l.Scenario.Organisation, l.EWSURL, l.GraphURL)
	if l.Restored {
		fmt.Fprintln(out, "continuing the organisation the last demo left in this folder: the copy pass is incremental")
	} else {
		fmt.Fprintf(out, "new organisation: %s\n", l.FreshReason)
	}

	g := *opts.g
	g.ConfigPath = l.ConfigPath
	// A step that skipped items does not stop the demo (the report shows
	// the skips), but the demo exits as that step would: 3, like copy.
	var skipped bool
	step := func(name string, run func() error) error {
		fmt.Fprintf(out, "\n== %s\n", name)
		err := run()
		if errors.Is(err, errSkipped) {
			fmt.Fprintln(out, "(some items were skipped: the report says which and why)")
			skipped = true
			return nil
		}
		return err
	}
	assessment := filepath.Join(l.Dir, "assessment.json")
	reportDir := filepath.Join(l.Dir, "report")
	// The check probes, for the first on-prem mailbox that moves, which
	// path each kind will take into the cloud.
	chk := &checkOptions{g: &g, Direction: "onboarding"}
	for _, m := range l.Scenario.Mailboxes {
		if m.Location == "onprem" && m.Target != "none" {
			chk.Mailbox, chk.Mailboxes, chk.Fidelity = m.Address, l.CopyCSV, true
			break
		}
	}
	if err := step("check (and the fidelity probe)", func() error { return checkRun(ctx, chk) }); err != nil {
		return err
	}
	if err := step("assess", func() error {
		return assessRun(ctx, &assessOptions{g: &g, Mailboxes: l.MailboxesCSV, Out: assessment, PublicFolders: true})
	}); err != nil {
		return err
	}
	ewsWrites, graphWrites := l.EWS.Writes(), l.Graph.Writes()
	ewsSent, graphSent := l.EWS.MeetingMessagesSent(), l.Graph.MeetingMessagesSent()
	if err := step("copy (on-prem to cloud, with inbox rules)", func() error {
		// The demo lists every folder in the reconciliation: a first look
		// at a copy should show each one matching.
		return copyRun(ctx, &copyOptions{g: &g, Mailboxes: l.CopyCSV, Rules: true, Direction: "onboarding", MaxSkipped: -1, ItemWorkers: 4, Verbose: true})
	}); err != nil {
		return err
	}
	fmt.Fprintf(out, "writes during the copy: %d to on-prem (EWS), %d to the cloud (Graph)\n",
		l.EWS.Writes()-ewsWrites, l.Graph.Writes()-graphWrites)
	// The fakes send what the services send (invitations, updates,
	// cancellations): the copy must have made them send nothing.
	fmt.Fprintf(out, "meeting messages the services sent during the copy: %d on-prem, %d in the cloud\n",
		l.EWS.MeetingMessagesSent()-ewsSent, l.Graph.MeetingMessagesSent()-graphSent)
	if err := step("report", func() error {
		return reportRun(ctx, &reportOptions{g: &g, In: assessment, CopyResults: filepath.Join(l.Dir, "state.db"),
			Formats: "html,csv,json,md", Out: reportDir, Organisation: l.Scenario.Organisation})
	}); err != nil {
		return err
	}
	if err := l.Close(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nlab saved in %s (snapshots %s): a second demo there continues this organisation\n", l.Dir, humanize.Bytes(l.SnapshotBytes))
	fmt.Fprintf(out, "demo finished in %s\nHTML report: %s\n", time.Since(start).Round(100*time.Millisecond), filepath.Join(reportDir, "report.html"))
	if skipped {
		fmt.Fprintf(opts.g.io.Err, "exmigrate: the demo finished with skipped items (exit %d): the report lists them with the reason\n", ExitSkipped)
		return errSkipped
	}
	return nil
}
