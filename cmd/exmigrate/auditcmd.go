package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/state/pgstore"
	"github.com/exmigrate/exmigrate/internal/wavestatus"
)

// newAuditCommand groups what reads the audit trail, wherever the commands
// write it (see auditTargetOf): the file, or the PostgreSQL state's table.
func newAuditCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit trail: export it as JSON lines, check that every write has its outcome",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newAuditExportCommand(g, nil), newAuditVerifyCommand(g, nil))
	return cmd
}

type auditReadOptions struct {
	StatePath string
	AuditPath string
	Out       string
	Output    string
	Since     string

	g *globalOptions
}

// flags are the flags both audit commands take: where the trail is.
func (o *auditReadOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.AuditPath, "audit-log", "", "read this audit file (default: the table of a PostgreSQL state, else audit_log from the config)")
	f.StringVar(&o.StatePath, "state", "", "a state file: the audit is then the file audit_log names, as for copy --state")
}

func newAuditExportCommand(g *globalOptions, runF func(context.Context, *auditReadOptions) error) *cobra.Command {
	opts := &auditReadOptions{g: g}
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Print the audit trail as JSON lines, in order (the file's format, from the file or the state database)",
		Long: `Print every audit entry, oldest first, as the JSON lines of the audit file: the
same tools read both. With a PostgreSQL state (state.url) and no audit_log of
its own in the config, the trail is the state database's table, where every
worker records: the export is every worker's entries in one order (the order
the database received them), and an export taken during a copy is the start of
any later one. Otherwise it is the audit file.

--since keeps the entries written at or after a time: 2026-11-30T08:00:00Z,
a date (midnight, local time), or an age (12h, 7d, 2w: that long ago).`,
		Example: `  exmigrate audit export --config contoso.yaml --out wave1-audit.jsonl
  exmigrate audit export --config contoso.yaml --since 24h
  exmigrate audit export --audit-log contoso-audit.jsonl --since 2026-11-30`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Output != "jsonl" {
				return usageErrorf("--output %q: use jsonl", opts.Output)
			}
			if _, err := parseSince(opts.Since, time.Now(), time.Local); err != nil {
				return usageError(err)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return auditExportRun(cmd.Context(), opts)
		},
	}
	opts.flags(cmd)
	f := cmd.Flags()
	f.StringVar(&opts.Out, "out", "", "write the lines to this `FILE` (created with mode 0600) instead of standard output")
	f.StringVarP(&opts.Output, "output", "o", "jsonl", "output format: jsonl (one JSON entry a line, as in the audit file)")
	f.StringVar(&opts.Since, "since", "", "only entries at or after this time, date or age (2026-11-30T08:00:00Z, 2026-11-30, 24h, 7d)")
	_ = cmd.RegisterFlagCompletionFunc("out", cobra.FixedCompletions([]string{"jsonl"}, cobra.ShellCompDirectiveFilterFileExt))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"jsonl"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("since", cobra.NoFileCompletions)
	return cmd
}

func newAuditVerifyCommand(g *globalOptions, runF func(context.Context, *auditReadOptions) error) *cobra.Command {
	opts := &auditReadOptions{g: g}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that every write the audit trail shows started has its outcome",
		Long: `Read the whole audit trail (the file, or the PostgreSQL state's table; see
audit export) and list the writes that have a started entry and no ok or skipped
entry after it: a process was killed between the write and its outcome, or the
write failed in a way that leaves it in doubt (a lost answer), and no run has
looked at it since. The next copy pass over that mailbox confirms each one it
finds done. Exit 0 when there are none, 1 when there are.

Entries are matched as a copy matches them: an item by its stamp, a folder by
its path, a read update or removal by the target's id, a rule or mail by its
name, always within one mailbox. A write matched by none of these (an update in
place of a contact, event or task) is not checked.`,
		Example: `  exmigrate audit verify --config contoso.yaml
  exmigrate audit verify --audit-log wave1-audit.jsonl`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return auditVerifyRun(cmd.Context(), opts)
		},
	}
	opts.flags(cmd)
	return cmd
}

// parseSince reads --since: an RFC 3339 time, a date (midnight in loc), or
// an age before now. Empty is no bound (the zero time).
func parseSince(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	if age, err := wavestatus.ParseAge(s); err == nil {
		return now.Add(-age), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: give a time (2026-11-30T08:00:00Z), a date (2026-11-30) or an age (12h, 7d, 2w)", s)
}

// eachAuditEntry calls fn for every entry of the trail the options name,
// in order, with its line (without newline) as the trail holds it.
func eachAuditEntry(ctx context.Context, opts *auditReadOptions, since time.Time, fn func(e audit.Entry, line []byte) error) (auditTarget, error) {
	cfg, err := opts.g.loadConfig()
	if err != nil {
		return auditTarget{}, err
	}
	t := auditTargetOf(cfg, opts.StatePath, opts.AuditPath)
	if t.url != "" {
		return t, readAuditTable(ctx, cfg, t, since, fn)
	}
	f, err := os.Open(t.file)
	if err != nil {
		return t, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	err = audit.Read(f, func(e audit.Entry) error {
		if e.Time.Before(since) {
			return nil
		}
		line, err := audit.Line(e)
		if err != nil {
			return err
		}
		return fn(e, line[:len(line)-1])
	})
	if err != nil {
		return t, fmt.Errorf("audit: %s: %w", t.file, err)
	}
	return t, nil
}

func readAuditTable(ctx context.Context, cfg *config.Config, t auditTarget, since time.Time, fn func(audit.Entry, []byte) error) error {
	store, err := openAuditStore(ctx, cfg, t, true)
	if err != nil {
		return err
	}
	defer store.Close()
	return store.ReadAudit(ctx, pgstore.AuditQuery{Since: since}, func(r pgstore.AuditRow) error {
		return fn(r.Entry, r.Line)
	})
}

func auditExportRun(ctx context.Context, opts *auditReadOptions) (err error) {
	since, err := parseSince(opts.Since, time.Now(), time.Local)
	if err != nil {
		return usageError(err)
	}
	out := opts.g.io.Out
	var file *os.File
	if opts.Out != "" && opts.Out != "-" {
		// The trail names every mailbox and subject: readable by its
		// owner only, like the audit file.
		file, err = os.OpenFile(opts.Out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("audit export: %w", err)
		}
		defer func() {
			if cerr := file.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("audit export: %w", cerr)
			}
		}()
		out = file
	}
	w := bufio.NewWriterSize(out, 64<<10)
	var n int
	t, err := eachAuditEntry(ctx, opts, since, func(_ audit.Entry, line []byte) error {
		n++
		w.Write(line)
		return w.WriteByte('\n')
	})
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("audit export: %w", ferr)
	}
	if err != nil {
		return err
	}
	if file != nil {
		fmt.Fprintf(opts.g.io.Err, "exported %d audit entries from %s to %s\n", n, t, opts.Out)
	}
	opts.g.logger.Info("audit exported", "from", t.String(), "entries", n)
	return nil
}

// openWrite is a write a started entry opened and nothing closed yet.
type openWrite struct {
	started audit.Entry
	at      int    // its entry's number, for the listing's order
	last    string // the last outcome seen: started, or error
}

// errUnfinished: audit verify found writes without their outcome.
var errUnfinished = errors.New("writes without their outcome")

func auditVerifyRun(ctx context.Context, opts *auditReadOptions) error {
	open := map[string]*openWrite{}
	var n, started int
	t, err := eachAuditEntry(ctx, opts, time.Time{}, func(e audit.Entry, _ []byte) error {
		n++
		key, ok := audit.IntentKey(e)
		if !ok {
			return nil
		}
		switch {
		case audit.Opens(e.Outcome):
			started++
			open[key] = &openWrite{started: e, at: n, last: e.Outcome}
		case audit.Closes(e.Outcome):
			delete(open, key)
		default:
			if w := open[key]; w != nil {
				w.last = e.Outcome
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return printUnfinished(opts.g.io.Out, t, n, started, open)
}

func printUnfinished(out io.Writer, t auditTarget, n, started int, open map[string]*openWrite) error {
	if len(open) == 0 {
		fmt.Fprintf(out, "%d entries in %s: each of the %d writes started has its outcome\n", n, t, started)
		return nil
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tMAILBOX\tACTION\tOBJECT\tLAST OUTCOME")
	ws := slices.SortedFunc(maps.Values(open), func(a, b *openWrite) int { return a.at - b.at })
	for _, w := range ws {
		e := w.started
		object := e.Object
		if object == "" {
			object = e.SourceID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Time.Format(time.RFC3339), e.Mailbox, e.Action, object, w.last)
	}
	tw.Flush()
	return fmt.Errorf("%d of %d %w in %s: a copy pass over those mailboxes confirms each it finds done", len(open), started, errUnfinished, t)
}
