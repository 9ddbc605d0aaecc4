package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/selection"
	"github.com/exmigrate/exmigrate/internal/wavestatus"
	"github.com/exmigrate/exmigrate/reports"
)

// selectOptions are --mailbox, --batch and --only, which every command
// that takes a mailbox list shares; internal/selection decides.
type selectOptions struct {
	Mailboxes []string
	Batches   []string
	Only      []string
}

// addSelectFlags registers the selection flags on cmd. what names what the
// list is in the help ("the list", "the assessment").
func addSelectFlags(cmd *cobra.Command, o *selectOptions, what string) {
	f := cmd.Flags()
	f.StringArrayVar(&o.Mailboxes, "mailbox", nil, "act only on this source mailbox of "+what+" (repeatable)")
	f.StringArrayVar(&o.Batches, "batch", nil, "act only on the mailboxes of this batch (the Batch column of "+what+"; repeatable)")
	f.StringSliceVar(&o.Only, "only", nil, "act only on the mailboxes in these copy states, from the state file: "+
		"not-started, running, interrupted, failed (interrupted too), partial, completed (repeatable or comma-separated)")
	_ = cmd.RegisterFlagCompletionFunc("only", func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		var out []cobra.Completion
		for _, s := range selection.States() {
			out = append(out, string(s))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
}

// criteria parses the flags; a bad --only is a usage error.
func (o *selectOptions) criteria() (selection.Criteria, error) {
	only, err := selection.ParseOnly(o.Only)
	if err != nil {
		return selection.Criteria{}, usageError(err)
	}
	return selection.Criteria{Mailboxes: o.Mailboxes, Batches: o.Batches, Only: only}, nil
}

// stateIndex reads the copy state of every job of a state file, for --only.
// The file must exist: --only decides from it, and a wrong path would
// otherwise make every mailbox look not started.
func stateIndex(ctx context.Context, ref stateRef, flag string) (*selection.Index, error) {
	store, err := ref.openReadOnly(ctx, flag)
	if err != nil {
		return nil, err
	}
	defer store.Close()
	return wavestatus.Index(ctx, store, time.Now())
}

// selectEntries keeps the entries of a mailbox list that the flags select.
// from and to are the copy's endpoints, when known, so that --only reads
// the state of the job in that direction. Nothing selected is not an
// error: it is said on out and the command has nothing to do (nil).
func (o *selectOptions) selectEntries(ctx context.Context, g *globalOptions, entries []csvinput.Entry, listName string, st stateRef, from, to string) ([]csvinput.Entry, error) {
	c, err := o.criteria()
	if err != nil || c.IsZero() {
		return entries, err
	}
	if entries == nil {
		return nil, usageErrorf("%s selects from a mailbox list: give --mailboxes", c)
	}
	var idx *selection.Index
	if c.NeedsState() {
		if idx, err = stateIndex(ctx, st, "--only"); err != nil {
			return nil, err
		}
	}
	cands := make([]selection.Candidate, len(entries))
	for i, e := range entries {
		cands[i] = selection.Candidate{Address: e.Address, Batch: e.Batch}
	}
	sel, err := c.Select(cands, listName, func(i int) selection.State {
		return idx.StateOf(entries[i].Address, entries[i].Target, from, to)
	})
	if err != nil {
		return nil, usageError(err)
	}
	if len(sel) == 0 {
		fmt.Fprintf(g.io.Out, "nothing to do: no mailbox of %s matches %s\n", listName, c)
		return nil, nil
	}
	out := make([]csvinput.Entry, len(sel))
	for i, j := range sel {
		out[i] = entries[j]
	}
	g.logger.Info("mailboxes selected", "selected", len(out), "listed", len(entries), "by", c.String())
	return out, nil
}

// selectAssessment keeps the mailboxes of an assessment (and their
// findings) that the flags select; findings about no mailbox (public
// folders, the organisation) stay. --only reads st.
func (o *selectOptions) selectAssessment(ctx context.Context, g *globalOptions, a *reports.Assessment, name string, st stateRef) error {
	c, err := o.criteria()
	if err != nil || c.IsZero() {
		return err
	}
	var idx *selection.Index
	if c.NeedsState() {
		if st.isZero() {
			return usageErrorf("--only decides from the copy state: give --copy-results, the state file copy wrote")
		}
		if idx, err = stateIndex(ctx, st, "--only"); err != nil {
			return err
		}
	}
	cands := make([]selection.Candidate, len(a.Mailboxes))
	for i, m := range a.Mailboxes {
		cands[i] = selection.Candidate{Address: m.Address, Batch: m.Batch}
	}
	sel, err := c.Select(cands, name, func(i int) selection.State { return idx.StateOf(a.Mailboxes[i].Address, "", "", "") })
	if err != nil {
		return usageError(err)
	}
	keep := map[string]bool{}
	mbx := make([]reports.MailboxAssessment, 0, len(sel))
	for _, i := range sel {
		mbx = append(mbx, a.Mailboxes[i])
		keep[strings.ToLower(a.Mailboxes[i].Address)] = true
	}
	var findings []reports.Finding
	for _, f := range a.Findings {
		if f.Mailbox == "" || keep[strings.ToLower(f.Mailbox)] {
			findings = append(findings, f)
		}
	}
	g.logger.Info("mailboxes selected", "selected", len(mbx), "assessed", len(a.Mailboxes), "by", c.String())
	a.Mailboxes, a.Findings = mbx, findings
	return nil
}
