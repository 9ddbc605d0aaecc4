package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/internal/lab"
)

type labOptions struct {
	Dir       string
	Scenario  string
	Mailboxes int
	Items     int
	Seed      uint64
	Latency   time.Duration
	Faults    float64

	g *globalOptions
}

func newLabCommand(g *globalOptions, runF func(context.Context, *labOptions) error) *cobra.Command {
	opts := &labOptions{g: g}
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Serve a fake on-prem Exchange (EWS) and a fake Exchange Online (Graph) on loopback",
		Long: `Serve a hybrid organisation on loopback over HTTPS, seeded from a scenario,
and write a config file and mailbox lists that point exmigrate at it. It runs
until Ctrl-C. Use it to rehearse a migration: in another terminal, run check,
assess, copy and report with the printed config.`,
		Example: `  exmigrate lab --dir lab/
  exmigrate lab --dir lab/ --scenario testdata/lab/load.yaml --latency 20ms --faults 0.01
  exmigrate lab --dir lab/ --mailboxes 50 --items 2000 --seed 7`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return labRun(cmd.Context(), opts)
		},
	}
	cmd.AddCommand(newLabChangeCommand(g), newLabWritesCommand(g))
	f := cmd.Flags()
	f.StringVar(&opts.Dir, "dir", "exmigrate-lab", "folder for the lab's CA, config, lists and state")
	f.StringVar(&opts.Scenario, "scenario", "", "scenario file (default: a small hybrid organisation; see testdata/lab/)")
	// The generated mailboxes are named user0001 to user9999.
	rangedInt(cmd, &opts.Mailboxes, "mailboxes", 0, 0, 9999, "add N generated on-prem mailboxes")
	rangedInt(cmd, &opts.Items, "items", 200, 0, 100000, "messages in each generated mailbox")
	rangedUint64(cmd, &opts.Seed, "seed", 0, "seed for the generated mail, {range} (0: the scenario's)")
	rangedDuration(cmd, &opts.Latency, "latency", 0, 0, 10*time.Second, "latency added to every request, {range}, e.g. 20ms")
	rangedFloat(cmd, &opts.Faults, "faults", 0, 0, 0.5, "share of requests answered with a transient fault (throttling, 503), {range}, e.g. 0.01")
	return cmd
}

func (opts *labOptions) scenario() (*lab.Scenario, error) {
	var sc *lab.Scenario
	var err error
	if opts.Scenario != "" {
		sc, err = lab.LoadScenario(opts.Scenario)
	} else {
		sc, err = lab.DefaultScenario()
	}
	if err != nil {
		return nil, usageError(err)
	}
	if opts.Mailboxes > 0 {
		sc.Generate.Mailboxes, sc.Generate.Items = opts.Mailboxes, opts.Items
	}
	if opts.Seed != 0 {
		sc.Seed = opts.Seed
	}
	return sc, nil
}

func labRun(ctx context.Context, opts *labOptions) error {
	sc, err := opts.scenario()
	if err != nil {
		return err
	}
	l, err := lab.Start(ctx, lab.Options{Dir: opts.Dir, Scenario: sc, Latency: opts.Latency, FaultRate: opts.Faults, Logger: opts.g.logger})
	if err != nil {
		return err
	}
	defer l.Close()
	out := opts.g.io.Out
	fmt.Fprintf(out, "lab running: %s\n", sc.Organisation)
	if l.Restored {
		fmt.Fprintf(out, "  continuing the organisation saved in %s (delete the folder to start over)\n", l.Dir)
	} else if l.FreshReason != "" {
		fmt.Fprintf(out, "  a new organisation: %s\n", l.FreshReason)
	}
	fmt.Fprintf(out, "  EWS   %s\n  Graph %s\n", l.EWSURL, l.GraphURL)
	fmt.Fprintf(out, "  config         %s\n  all mailboxes  %s\n  copy list      %s\n", l.ConfigPath, l.MailboxesCSV, l.CopyCSV)
	fmt.Fprintf(out, "\nIn another terminal:\n")
	fmt.Fprintf(out, "  exmigrate check  --config %s\n", l.ConfigPath)
	fmt.Fprintf(out, "  exmigrate assess --config %s --mailboxes %s --out %s/assessment.json\n", l.ConfigPath, l.MailboxesCSV, l.Dir)
	fmt.Fprintf(out, "  exmigrate copy   --config %s --mailboxes %s --rules\n", l.ConfigPath, l.CopyCSV)
	fmt.Fprintf(out, "  exmigrate report --in %s/assessment.json --copy-results %s/state.db --out %s/report\n", l.Dir, l.Dir, l.Dir)
	fmt.Fprintf(out, "\nTo change a mailbox between passes (new, read, moved, deleted mail; expired sync states):\n")
	fmt.Fprintf(out, "  exmigrate lab change --dir %s --mailbox ADDRESS --add 50 --read 10 --move 5 --to Inbox/Moved --delete 5 --expire\n", l.Dir)
	fmt.Fprintf(out, "  exmigrate lab writes --dir %s\n", l.Dir)
	fmt.Fprintf(out, "\nCtrl-C stops the lab.\n")
	<-ctx.Done()
	printLabWrites(opts.g, l.Writes())
	fmt.Fprintln(out, "lab stopped")
	return nil
}
