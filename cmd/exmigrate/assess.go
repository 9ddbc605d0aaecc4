package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/humanize"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mapping"
	"github.com/exmigrate/exmigrate/reports"
)

type assessOptions struct {
	Mailboxes     string
	Out           string
	Parallel      int
	PublicFolders bool
	// Exports from Exchange PowerShell for what EWS and Graph do not show.
	MailboxExport           string
	PermissionsExport       string
	FolderPermissionsExport string
	Select                  selectOptions // --mailbox, --batch, --only (from state.path)

	g *globalOptions
}

func newAssessCommand(g *globalOptions, runF func(context.Context, *assessOptions) error) *cobra.Command {
	opts := &assessOptions{g: g}
	cmd := &cobra.Command{
		Use:   "assess",
		Short: "Inventory mailboxes and find what will not survive the move",
		Long: `Read every mailbox of the list (folders, item counts and sizes, largest items,
archive, rules, delegates, holds) and the public folder tree, and write the
findings to --out, the input of exmigrate report.

A mailbox that cannot be read is written as unreadable, with the reason, and
the others are read on; the command then exits 1 so that a script does not
take the assessment for complete.`,
		Example: `  exmigrate assess --config contoso.yaml --mailboxes wave1.csv --out assessment.json
  exmigrate report --in assessment.json --out report/`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Mailboxes == "" {
				return usageErrorf("--mailboxes is required: the CSV list of mailboxes to assess")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return assessRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Mailboxes, "mailboxes", "", "CSV list of mailboxes (EmailAddress, TargetAddress, Location, Batch)")
	f.StringVar(&opts.Out, "out", "assessment.json", "where to write the assessment: a JSON `FILE`, the input of exmigrate report")
	rangedInt(cmd, &opts.Parallel, "parallel", 0, 1, 64, "mailboxes read at once, and copied at once in the wave's forecast, {range} (default: concurrency.mailboxes from the config)")
	f.BoolVar(&opts.PublicFolders, "public-folders", true, "inventory the on-prem public folder tree")
	f.StringVar(&opts.MailboxExport, "mailbox-export", "", "Get-Mailbox export (PrimarySmtpAddress, LitigationHoldEnabled): litigation hold")
	f.StringVar(&opts.PermissionsExport, "permissions-export", "", "mailbox permissions export (Mailbox, User, AccessRights): Full Access, Send As, Send on Behalf")
	f.StringVar(&opts.FolderPermissionsExport, "folder-permissions-export", "", "folder permissions export (Mailbox, FolderPath, User, AccessRights)")
	addSelectFlags(cmd, &opts.Select, "--mailboxes")
	return cmd
}

func assessRun(ctx context.Context, opts *assessOptions) error {
	cfg, err := opts.g.loadConfig()
	if err != nil {
		return err
	}
	entries, err := csvinput.LoadList(opts.Mailboxes)
	if err != nil {
		return usageError(err)
	}
	if entries, err = opts.Select.selectEntries(ctx, opts.g, entries, opts.Mailboxes, configState(cfg, ""), "", ""); err != nil || len(entries) == 0 {
		return err // nothing selected: said, and nothing to do
	}
	exports, err := mapping.LoadExports(opts.MailboxExport, opts.PermissionsExport, opts.FolderPermissionsExport)
	if err != nil {
		return usageError(err)
	}
	s, err := connectSides(ctx, cfg, opts.g.logger)
	if err != nil {
		return err
	}
	defer s.Close()
	log := opts.g.logger
	d := s.Dispatcher(log)

	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = cfg.Concurrency.Mailboxes
	}
	located := make([]dispatch.Located, len(entries))
	idx := make([]int, len(entries))
	for i := range idx {
		idx[i] = i
	}
	dispatch.ForEach(ctx, idx, parallel, func(ctx context.Context, i int) {
		route, err := d.Locate(ctx, entries[i])
		located[i] = dispatch.Located{Route: route, Err: err}
		if err == nil {
			located[i].Mailbox = d.Endpoint(route.Endpoint).Open(route.Entry.Address)
		}
	})
	if err := ctx.Err(); err != nil {
		return err
	}

	var pf []mailbox.Folder
	var pfErr error
	if opts.PublicFolders && s.EWS != nil && cfg.OnPrem.PublicFolderMailbox != "" {
		pf, pfErr = s.EWS.PublicFolders(ctx)
		if errors.Is(pfErr, mailbox.ErrNotFound) {
			pf, pfErr = nil, nil // no public folders
		}
	}
	a := &dispatch.Assessor{
		Limits:   mapping.Limits{TenantMessageBytes: cfg.Assessment.TenantMessageLimit.Bytes()},
		Parallel: parallel, Log: log, Tool: "exmigrate " + toolVersion(), Exports: exports,
		// The findings name what the other side of the hybrid cannot take.
		Target:   d.Counterpart,
		Services: d.Services,
	}
	log.Info("assessing", "mailboxes", len(entries), "parallel", parallel)
	result, err := a.Assess(ctx, located, pf, pfErr)
	if err != nil {
		return err
	}
	if err := writeJSONFile(opts.Out, result); err != nil {
		return err
	}
	printAssessmentSummary(opts.g.io, result, opts.Out)
	return unreadableError(result, opts.Out)
}

// unreadableError fails an assessment that could not read every mailbox
// (exit 1): it is written, but a script must not take it for complete.
func unreadableError(a *reports.Assessment, path string) error {
	var names []string
	for _, m := range a.Mailboxes {
		if m.Readiness == reports.Unreadable {
			names = append(names, m.Address)
		}
	}
	if len(names) == 0 {
		return nil
	}
	list := strings.Join(names, ", ")
	if len(names) > 5 {
		list = strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
	}
	return fmt.Errorf("%d of %d mailbox(es) could not be read (%s): %s marks them unreadable with the reason (the NOTE column above); "+
		"fix the access or the list (`exmigrate check --mailbox ADDRESS` says where a mailbox is) and run assess again", len(names), len(a.Mailboxes), list, path)
}

func writeJSONFile(path string, v any) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".exmigrate-*.json")
	if err != nil {
		return err
	}
	enc := json.NewEncoder(tmp)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // fix commands carry <placeholders>
	if err := enc.Encode(v); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	// Rename so a reader never sees half a file.
	return os.Rename(tmp.Name(), path)
}

func printAssessmentSummary(io Streams, a *reports.Assessment, path string) {
	bySev := map[reports.Severity]int{}
	for _, f := range a.Findings {
		bySev[f.Severity]++
	}
	tw := tabwriter.NewWriter(io.Out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MAILBOX\tLOCATION\tREADINESS\tITEMS\tSIZE\tARCHIVE\tRULES\tCOPY AT CEILING\tNOTE")
	unknown := map[string]int{}
	var reasons []string
	for i := range a.Mailboxes {
		m := &a.Mailboxes[i]
		arch := "-"
		if m.Archive != nil {
			arch = humanize.Bytes(m.Archive.SizeBytes)
		}
		fc, why := reports.ForecastCell(m)
		if m.Forecast != nil && !m.Forecast.Known && m.Readiness != reports.Unreadable {
			if unknown[why]++; unknown[why] == 1 {
				reasons = append(reasons, why)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d/%d\t%s\t%s\n", m.Address, m.Location, m.Readiness, m.Items,
			humanize.Bytes(m.SizeBytes), arch, m.RulesMappable, m.Rules, fc, m.Error)
	}
	tw.Flush()
	fmt.Fprintf(io.Out, "\n%d mailbox(es), %d finding(s): %d blocker, %d warning, %d info\n",
		len(a.Mailboxes), len(a.Findings), bySev[reports.SeverityBlocker], bySev[reports.SeverityWarning], bySev[reports.SeverityInfo])
	if a.PublicFolders != nil {
		fmt.Fprintf(io.Out, "public folders: %d folders, %d items, %s\n", a.PublicFolders.Folders, a.PublicFolders.Items, humanize.Bytes(a.PublicFolders.SizeBytes))
	}
	if a.Wave != nil {
		fmt.Fprintf(io.Out, "forecast: %s (%s)\n", a.Wave.Line(), reports.LowerBoundNote)
		for _, why := range reasons {
			fmt.Fprintf(io.Out, "  %d mailbox(es) without a forecast: %s\n", unknown[why], why)
		}
	}
	fmt.Fprintf(io.Out, "assessment written to %s\n", path)
}
