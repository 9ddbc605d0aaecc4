package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

type checkOptions struct {
	Mailbox string // optional: also resolve this mailbox on each side

	g *globalOptions
}

func newCheckCommand(g *globalOptions, runF func(context.Context, *checkOptions) error) *cobra.Command {
	opts := &checkOptions{g: g}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that each configured side can be reached and authenticates",
		Example: `  exmigrate check --config contoso.yaml
  exmigrate check --config contoso.yaml --mailbox ann@contoso.com`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return checkRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Mailbox, "mailbox", "", "also look this address up on each side")
	return cmd
}

// checkTimeout bounds a check that should answer in seconds.
const checkTimeout = 60 * time.Second

func checkRun(ctx context.Context, opts *checkOptions) error {
	cfg, err := opts.g.loadConfig()
	if err != nil {
		return err
	}
	s, err := connectSides(ctx, cfg, opts.g.logger)
	if err != nil {
		return err
	}
	defer s.Close()
	out := opts.g.io.Out
	failed := 0
	report := func(side, what string, err error) {
		if err != nil {
			failed++
			fmt.Fprintf(out, "%-7s FAIL  %s: %v\n", side, what, err)
			return
		}
		fmt.Fprintf(out, "%-7s ok    %s\n", side, what)
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if s.EWS != nil {
		report("onprem", fmt.Sprintf("EWS at %s as %s", cfg.OnPrem.EWSURL, cfg.OnPrem.EWSUser()), s.EWS.Check(ctx))
	}
	if s.Graph != nil {
		report("cloud", fmt.Sprintf("Microsoft Graph (%s cloud), tenant %s, auth %s", cfg.Cloud.Cloud, cfg.Cloud.TenantID, cfg.Cloud.Auth), s.Graph.Check(ctx))
	}
	if opts.Mailbox != "" {
		d := s.Dispatcher(opts.g.logger)
		if d.OnPrem != nil {
			p, err := d.OnPrem.Detect(ctx, opts.Mailbox)
			report("onprem", opts.Mailbox+": "+p.Detail, err)
		}
		if d.Cloud != nil {
			p, err := d.Cloud.Detect(ctx, opts.Mailbox)
			report("cloud", opts.Mailbox+": "+p.Detail, err)
		}
	}
	if err := ctx.Err(); err != nil && failed > 0 {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}
