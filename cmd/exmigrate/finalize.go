package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/state"
)

// finalizeOptions are what finalize adds to a copy pass.
type finalizeOptions struct {
	// Approve accepts the skipped items the state records for a mailbox
	// when the command starts, as Microsoft's approval of skipped items
	// does; items skipped by the final pass itself are not approved.
	Approve bool
	Note    string
}

func newFinalizeCommand(g *globalOptions, runF func(context.Context, *copyOptions) error) *cobra.Command {
	opts := &copyOptions{g: g, finalize: &finalizeOptions{}, MaxSkipped: -1, Output: "table"}
	cmd := &cobra.Command{
		Use:   "finalize",
		Short: "Cut over: run the final delta pass and sign off the mailboxes whose reconciliation is clean",
		Long: `Run the final delta pass for the selected mailboxes of a list, then sign off each
mailbox whose pass ended and whose reconciliation is clean: its job is marked
completed (later copy passes leave it alone; copy --reopen copies it again) and
the sign-off (who, when, items on the target, skipped items approved) goes into
the state and the report (report --copy-results).

A mailbox with skipped items is signed off only when they are approved:
finalize lists them and refuses; run it again with --approve-skipped to accept
the items the state recorded before that run (an item the final pass itself
skips is not approved: review it and run finalize again). A mailbox whose pass
failed, that has failed folders, or whose reconciliation found a difference
nothing on record explains is not signed off.`,
		Example: `  exmigrate finalize --config contoso.yaml --mailboxes wave1.csv --batch "Wave 1"
  exmigrate finalize --config contoso.yaml --mailboxes wave1.csv --mailbox ann@contoso.com --approve-skipped --note "video sent by link"
  exmigrate finalize --config contoso.yaml --mailboxes wave1.csv --notify lead@contoso.com --notify-from migration@contoso.com`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Mailboxes == "" {
				return usageErrorf("--mailboxes is required: the CSV list the mailboxes to finalize are in (select some with --mailbox, --batch or --only)")
			}
			if err := checkNotify(opts); err != nil {
				return err
			}
			switch named := opts.From != "" || opts.To != ""; {
			case named && cmd.Flags().Changed("direction"):
				return usageErrorf("--direction and --from/--to both say which way the mailboxes went; use one")
			case named && (opts.From == "" || opts.To == ""):
				return usageErrorf("--from and --to go together: name the source and the target endpoint")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return copyRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Mailboxes, "mailboxes", "", "CSV list of mailboxes (EmailAddress, TargetAddress, Location, Batch)")
	rangedInt(cmd, &opts.Parallel, "parallel", 0, 1, 64, "mailboxes passed at once, {range} (default: concurrency.mailboxes from the config)")
	f.StringVar(&opts.Direction, "direction", "onboarding", "onboarding (on-prem to cloud), offboarding, onprem-to-onprem or cloud-to-cloud, as the copy went")
	f.StringVar(&opts.From, "from", "", "the endpoint the copy went from, by its name in the config (with --to)")
	f.StringVar(&opts.To, "to", "", "the endpoint the copy went to, by its name in the config (with --from)")
	f.StringVar(&opts.StatePath, "state", "", "state file, which wins over the config (default: the config's state: state.path, or the PostgreSQL database of state.url)")
	f.StringVar(&opts.AuditPath, "audit-log", "", "audit log (default: audit_log from the config)")
	f.StringSliceVar(&opts.Stores, "stores", defaultStores(), "stores the copy carried: primary, archive, recoverable")
	f.StringVar(&opts.RecoverableInto, "recoverable-into", "primary", "where Recoverable Items went, as in the copy")
	f.BoolVar(&opts.Verbose, "verbose", false, "list every folder in the reconciliation, not only those whose counts differ")
	f.BoolVar(&opts.finalize.Approve, "approve-skipped", false, "accept the skipped items the state records before this run (listed by a run without it)")
	f.StringVar(&opts.finalize.Note, "note", "", "a note kept with each sign-off (why the skipped items are acceptable, a ticket number)")
	addNotifyFlags(cmd, opts)
	addSelectFlags(cmd, &opts.Select, "--mailboxes")
	return cmd
}

// finalVerdict is one mailbox's sign-off, or why it has none.
type finalVerdict struct {
	mailbox, target string
	skipped         int64
	approved        int64
	signed          bool
	already         bool
	why             string
	skippedItems    []engine.ItemRecord // listed when approval is needed
}

// signOffWave signs off the mailboxes of a finished final pass and prints
// the verdicts. It returns an error when a mailbox was not signed off.
func signOffWave(ctx context.Context, out io.Writer, fo *finalizeOptions, copier *engine.Copier, store stateStore,
	operator string, s copySummary) error {
	rows, _ := reconciliationRows(s)
	unreconciled := map[string]string{}
	for _, r := range rows {
		if r.Error || strings.HasPrefix(r.Note, "not reconciled") {
			if _, seen := unreconciled[r.Mailbox]; !seen {
				unreconciled[r.Mailbox] = fmt.Sprintf("%s: %s", r.Folder, r.Note)
			}
		}
	}
	signoffs, err := store.SignOffs(ctx)
	if err != nil {
		return err
	}
	var verdicts []finalVerdict
	for i, e := range s.Listed {
		r := s.result(i)
		v := finalVerdict{mailbox: e.Address, target: e.Target}
		switch {
		case r == nil:
			v.why = "the final pass did not start"
		case r.Completed:
			v.mailbox, v.target, v.signed, v.already = r.Key.SourceAddress, r.Key.TargetAddress, true, true
			if job, err := store.Job(ctx, r.Key); err == nil {
				if so, ok := signoffs[job.ID]; ok {
					v.skipped, v.approved = so.Skipped, so.Approved
					v.why = fmt.Sprintf("already signed off on %s by %s", so.At.Local().Format("2006-01-02 15:04"), so.Operator)
				}
			}
		case r.Err != nil:
			v.why = "the final pass failed: " + stripURLQueries(r.Err.Error())
		case len(r.FailedFolders) > 0:
			v.why = fmt.Sprintf("%d folder(s) failed in the final pass, first %s", len(r.FailedFolders), r.FailedFolders[0].SourcePath)
		case unreconciled[r.Key.SourceAddress] != "":
			v.why = "the reconciliation is not clean: " + unreconciled[r.Key.SourceAddress]
		case r.Skipped > 0:
			v.skipped = r.SkippedTotal
			v.why = fmt.Sprintf("the final pass skipped %d more item(s): review them (report --copy-results lists them in skipped.csv) and run finalize again", r.Skipped)
		case r.SkippedTotal > 0 && !fo.Approve:
			v.skipped = r.SkippedTotal
			v.why = fmt.Sprintf("%d skipped item(s) need approval: review them and run finalize again with --approve-skipped", r.SkippedTotal)
		default:
			v.skipped = r.SkippedTotal
		}
		if r != nil && !r.Completed && v.why == "" {
			v.mailbox, v.target = r.Key.SourceAddress, r.Key.TargetAddress
			counts := r.SkippedTotal
			err := copier.Complete(ctx, r.Key, func(ctx context.Context, job engine.JobRecord) error {
				c, err := copier.Store.Counts(ctx, job.ID)
				if err != nil {
					return err
				}
				if c.Skipped != counts {
					return fmt.Errorf("the state records %d skipped item(s) now, %d when the pass ended: another process ran a pass; run finalize again", c.Skipped, counts)
				}
				return store.PutSignOff(ctx, state.SignOff{JobID: job.ID, At: time.Now(), Operator: operator,
					ItemsOnTarget: c.Copied, Skipped: c.Skipped, Approved: c.Skipped, Note: fo.Note})
			})
			if err != nil {
				v.why = "not signed off: " + err.Error()
			} else {
				v.signed, v.approved = true, counts
			}
		}
		if r != nil && v.skipped > 0 && !v.signed && !errors.Is(r.Err, context.Canceled) {
			if job, err := store.Job(ctx, r.Key); err == nil {
				if items, err := store.RecentSkipped(ctx, job.ID, 20); err == nil {
					v.skippedItems = items
				}
			}
		}
		verdicts = append(verdicts, v)
	}
	return printVerdicts(out, verdicts)
}

func printVerdicts(out io.Writer, verdicts []finalVerdict) error {
	fmt.Fprintln(out, "\nSign-off:")
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MAILBOX\tTARGET\tSKIPPED\tAPPROVED\tRESULT")
	var refused, signed int
	for _, v := range verdicts {
		result := "completed: signed off"
		switch {
		case v.already:
			result = "completed: " + v.why
			signed++
		case v.signed:
			signed++
		default:
			result = "NOT SIGNED OFF: " + v.why
			refused++
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", v.mailbox, v.target, v.skipped, v.approved, result)
	}
	tw.Flush()
	for _, v := range verdicts {
		if len(v.skippedItems) == 0 {
			continue
		}
		fmt.Fprintf(out, "\nSkipped items of %s (the latest %d of %d):\n", v.mailbox, len(v.skippedItems), v.skipped)
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  SUBJECT\tSIZE\tREASON")
		for _, it := range v.skippedItems {
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", cut(it.Subject, 60), it.SizeBytes, it.Reason)
		}
		tw.Flush()
	}
	if refused > 0 {
		return fmt.Errorf("%d of %d mailbox(es) not signed off (see the Sign-off table); the others are completed", refused, len(verdicts))
	}
	fmt.Fprintf(out, "\n%d mailbox(es) completed.\n", signed)
	return nil
}

// signer names who signs a mailbox off: the account that runs finalize on
// this machine, the person accountable for the acceptance (the services'
// accounts are in the audit log).
func signer() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		name += "@" + h
	}
	return name
}
