package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/mailbox"
)

type checkOptions struct {
	Mailbox   string // optional: also resolve this mailbox on each side
	Mailboxes string // optional: the list to take its TargetAddress and Location from

	g *globalOptions
}

func newCheckCommand(g *globalOptions, runF func(context.Context, *checkOptions) error) *cobra.Command {
	opts := &checkOptions{g: g}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that each configured endpoint can be reached and authenticates",
		Long: `Check that each configured endpoint can be reached and authenticates.

With --mailbox, also look the address up on each endpoint, and name the
mailbox a copy of it would write to (its TargetAddress in the --mailboxes
list, or the same address) on the other side, and whether that one exists.
A mailbox found on no endpoint, or a target that does not exist, fails the
check (exit 1).`,
		Example: `  exmigrate check --config contoso.yaml
  exmigrate check --config contoso.yaml --mailbox ann@contoso.com
  exmigrate check --config contoso.yaml --mailbox ann@contoso.com --mailboxes wave1.csv`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Mailboxes != "" && opts.Mailbox == "" {
				return usageErrorf("--mailboxes goes with --mailbox: the list to take that mailbox's TargetAddress and Location from")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return checkRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Mailbox, "mailbox", "", "also look this address up on each endpoint, and the mailbox a copy of it would write to")
	cmd.Flags().StringVar(&opts.Mailboxes, "mailboxes", "", "with --mailbox: the CSV list to take its TargetAddress and Location from")
	return cmd
}

// checkTimeout bounds a check that should answer in seconds.
const checkTimeout = 60 * time.Second

// The status column of check's lines.
const (
	checkOK   = "ok"
	checkNo   = "no" // looked up, not there: a fact, not a failure by itself
	checkFail = "FAIL"
)

func checkRun(ctx context.Context, opts *checkOptions) error {
	cfg, err := opts.g.loadConfig()
	if err != nil {
		return err
	}
	var entries []csvinput.Entry
	if opts.Mailboxes != "" {
		if entries, err = csvinput.LoadList(opts.Mailboxes); err != nil {
			return usageError(err)
		}
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
	line := func(endpoint, status, text string) {
		if status == checkFail {
			failed++
		}
		fmt.Fprintf(out, "%-*s %-5s %s\n", width, endpoint, status, text)
	}
	report := func(endpoint, what string, err error) {
		if err != nil {
			line(endpoint, checkFail, fmt.Sprintf("%s: %v", what, err))
			return
		}
		line(endpoint, checkOK, what)
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	for _, e := range s.Endpoints {
		report(e.Name(), e.Describe(), e.Check(ctx))
	}
	if opts.Mailbox != "" {
		checkMailbox(ctx, s, opts, entries, line)
	}
	if err := ctx.Err(); err != nil && failed > 0 {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}

// checkMailbox looks the mailbox up on every endpoint, then the mailbox a
// copy of it would write to: on the other side of onprem and cloud, at its
// TargetAddress in the list or at the same address.
func checkMailbox(ctx context.Context, s *backend.Sides, opts *checkOptions, entries []csvinput.Entry, line func(endpoint, status, text string)) {
	addr := opts.Mailbox
	entry := csvinput.Entry{Address: addr, Target: addr, Location: mailbox.LocationAuto}
	fromList := false
	if opts.Mailboxes != "" {
		i := slices.IndexFunc(entries, func(e csvinput.Entry) bool { return strings.EqualFold(e.Address, addr) })
		if i < 0 {
			line("", checkFail, fmt.Sprintf("%s: not in %s: copy --mailboxes %s would not copy it", addr, opts.Mailboxes, opts.Mailboxes))
		} else {
			entry, fromList = entries[i], true
		}
	}

	var found, names []string // endpoints the mailbox is on; every endpoint looked at
	detail := map[string]string{}
	for _, e := range s.Endpoints {
		names = append(names, e.Name())
		p, err := e.Side().Detect(ctx, addr)
		switch {
		case err != nil:
			line(e.Name(), checkFail, addr+": "+err.Error())
			continue
		case p.Found:
			found = append(found, e.Name())
			line(e.Name(), checkOK, addr+": "+p.Detail)
		default:
			line(e.Name(), checkNo, addr+": "+p.Detail)
		}
		detail[e.Name()] = p.Detail
	}

	// Where a copy would read it from: the list's Location, else where it
	// was found (as copy's detection between onprem and cloud).
	sources := found
	if loc := string(entry.Location); loc != "" && entry.Location != mailbox.LocationAuto {
		if !slices.Contains(found, loc) {
			seen, looked := detail[loc]
			if !looked {
				seen = "the config has no such endpoint, or it did not answer"
			}
			line(loc, checkFail, fmt.Sprintf("%s: the list says Location %s, but the mailbox is not there (%s); fix Location in the list, or set it to auto",
				addr, loc, seen))
			return
		}
		sources = []string{loc}
	}
	switch {
	case len(found) == 0:
		// What to check: nothing was found, so the address, the list or
		// the accounts' view of the directory is wrong.
		line("", checkFail, fmt.Sprintf("%s: found on no endpoint (%s): check the address (the primary SMTP address, not an alias), "+
			"that the mailbox list has it as EmailAddress, and that each endpoint's account may see it (EWS: ApplicationImpersonation "+
			"or Full Access to the mailbox; Graph: User.Read.All and Mail.ReadWrite, within the app's RBAC scope or application access policy)",
			addr, strings.Join(names, ", ")))
		return
	case slices.Contains(sources, config.OnPremName) && slices.Contains(sources, config.CloudName):
		line("", checkFail, fmt.Sprintf("%s: found on both onprem and cloud: copy cannot tell which is the source; set Location in the list", addr))
		return
	}

	how := "TargetAddress in the list"
	if !fromList {
		how = "the same address: no --mailboxes list names another"
	} else if strings.EqualFold(entry.Target, addr) {
		how = "the same address: the list gives no other TargetAddress"
	}
	for _, src := range sources {
		other := counterpartName(src)
		dst := s.Endpoint(other)
		if dst == nil {
			// A named endpoint's mailboxes go where copy --to says.
			line(src, "-", fmt.Sprintf("target %s (%s): on the endpoint copy --to names; check it there with --mailbox %s", entry.Target, how, entry.Target))
			continue
		}
		p, err := dst.Side().Detect(ctx, entry.Target)
		what := fmt.Sprintf("target %s (%s)", entry.Target, how)
		switch {
		case err != nil:
			line(other, checkFail, what+": "+err.Error())
		case p.Found:
			line(other, checkOK, what+": "+p.Detail)
		default:
			line(other, checkFail, fmt.Sprintf("%s: %s: a copy from %s would have no mailbox to write to; create it, or set TargetAddress in the list",
				what, p.Detail, src))
		}
	}
}

// counterpartName is the endpoint a mailbox on the endpoint src is copied
// to by default: the other side of onprem and cloud; "" for a named
// endpoint, whose target only copy --to names.
func counterpartName(src string) string {
	switch src {
	case config.OnPremName:
		return config.CloudName
	case config.CloudName:
		return config.OnPremName
	}
	return ""
}
