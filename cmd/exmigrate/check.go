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
		Short: "Check that each configured endpoint can be reached and authenticates",
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
	cmd.Flags().StringVar(&opts.Mailbox, "mailbox", "", "also look this address up on each endpoint")
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
	// Each line starts with the endpoint's name, in a column as wide as
	// the longest (at least "onprem" and a space, as before named endpoints).
	width := 7
	for _, e := range s.Endpoints {
		width = max(width, len(e.Name())+1)
	}
	failed := 0
	report := func(endpoint, what string, err error) {
		if err != nil {
			failed++
			fmt.Fprintf(out, "%-*s FAIL  %s: %v\n", width, endpoint, what, err)
			return
		}
		fmt.Fprintf(out, "%-*s ok    %s\n", width, endpoint, what)
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	for _, e := range s.Endpoints {
		report(e.Name(), e.Describe(), e.Check(ctx))
	}
	if opts.Mailbox != "" {
		for _, e := range s.Endpoints {
			p, err := e.Side().Detect(ctx, opts.Mailbox)
			report(e.Name(), opts.Mailbox+": "+p.Detail, err)
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
