package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/internal/humanize"
	"github.com/exmigrate/exmigrate/mailbox"
	"github.com/exmigrate/exmigrate/mapping"
)

type copyOptions struct {
	Mailboxes   string
	Parallel    int
	DryRun      bool
	MaxSkipped  int
	Rules       bool
	Direction   string
	From, To    string // endpoint names, instead of a direction
	StatePath   string
	AuditPath   string
	ItemWorkers int
	Reprobe     bool
	// Stores are the stores copied (--stores); RecoverableInto is where
	// Recoverable Items go on the target.
	Stores          []string
	RecoverableInto string
	PublicFolders   bool
	itemWorkersSet  bool
	Select          selectOptions // --mailbox, --batch, --only
	Verbose         bool          // every folder in the reconciliation
	Output          string        // table or json
	Reopen          bool          // copy jobs finalize completed
	Notify          []string      // mail the summary to these addresses
	NotifyFrom      string
	Enqueue         bool             // queue the mailboxes for workers instead (enqueue.go)
	finalize        *finalizeOptions // set by finalize: sign off after the pass

	g *globalOptions
}

func newCopyCommand(g *globalOptions, runF func(context.Context, *copyOptions) error) *cobra.Command {
	opts := &copyOptions{g: g}
	cmd := &cobra.Command{
		Use:   "copy",
		Short: "Copy mailboxes: incremental, resumable, without duplicates",
		Long: `Copy the mailboxes of a list from their source to their target. The first pass
copies everything; each later pass copies only what is new or changed (read
state included). A run stopped at any point resumes where it stopped.`,
		Example: `  exmigrate copy --config contoso.yaml --mailboxes wave1.csv --dry-run
  exmigrate copy --config contoso.yaml --mailboxes wave1.csv --parallel 4 --rules
  exmigrate copy --config contoso.yaml --mailboxes leavers.csv --direction offboarding
  exmigrate copy --config tenants.yaml --mailboxes wave1.csv --from contoso --to fabrikam
  exmigrate copy --config shared.yaml --mailboxes wave2.csv --enqueue   # then: exmigrate worker --config shared.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Mailboxes == "" && !opts.PublicFolders {
				return usageErrorf("--mailboxes is required: the CSV list of mailboxes to copy (or --public-folders alone for the public folder tree)")
			}
			switch named := opts.From != "" || opts.To != ""; {
			case named && cmd.Flags().Changed("direction"):
				return usageErrorf("--direction and --from/--to both say which way to copy; use one (--direction %s is --from %s --to %s)",
					opts.Direction, dirWay(opts.Direction).From, dirWay(opts.Direction).To)
			case named && (opts.From == "" || opts.To == ""):
				return usageErrorf("--from and --to go together: name the source and the target endpoint")
			}
			if opts.Output != "table" && opts.Output != "json" {
				return usageErrorf("--output %q: use table or json", opts.Output)
			}
			if err := checkNotify(opts); err != nil {
				return err
			}
			opts.itemWorkersSet = cmd.Flags().Changed("item-workers")
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return copyRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Mailboxes, "mailboxes", "", "CSV list of mailboxes (EmailAddress, TargetAddress, Location, Batch)")
	rangedInt(cmd, &opts.Parallel, "parallel", 0, 1, 64, "mailboxes copied at once, {range} (default: concurrency.mailboxes from the config)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "plan the copy (folders to create, items and bytes per mailbox) and write nothing")
	countOrUnlimited(cmd, &opts.MaxSkipped, "max-skipped", -1, "fail a mailbox that skips more than N items ({range})")
	f.BoolVar(&opts.Rules, "rules", false, "also create the inbox rules that Graph can express on cloud targets")
	f.StringVar(&opts.Direction, "direction", "onboarding", "onboarding (on-prem to cloud), offboarding, onprem-to-onprem or cloud-to-cloud: between the endpoints onprem and cloud")
	f.StringVar(&opts.From, "from", "", "the endpoint to copy from, by its name in the config (with --to, instead of --direction)")
	f.StringVar(&opts.To, "to", "", "the endpoint to copy to, by its name in the config (with --from)")
	f.StringVar(&opts.StatePath, "state", "", "state file, which wins over the config (default: the config's state: state.path, or the PostgreSQL database of state.url)")
	f.StringVar(&opts.AuditPath, "audit-log", "", "audit log (default: audit_log from the config)")
	f.StringSliceVar(&opts.Stores, "stores", defaultStores(), "stores to copy: primary, archive, recoverable (Recoverable Items, on request: see --recoverable-into)")
	f.StringVar(&opts.RecoverableInto, "recoverable-into", "primary", "where Recoverable Items go: a folder \""+recoverableFolder+"\" in the target's primary mailbox or archive (no service documents a write into Recoverable Items)")
	f.BoolVar(&opts.PublicFolders, "public-folders", false, "also copy the public folder tree, once, between the endpoints' public_folder_mailbox (Exchange Server to Exchange Server; into Exchange Online it is reported with its remedy)")
	f.BoolVar(&opts.Reprobe, "reprobe", false, "run the fidelity probe again for this pair of endpoints instead of using its recorded verdict")
	f.BoolVar(&opts.Verbose, "verbose", false, "list every folder in the reconciliation, not only those whose counts differ")
	f.BoolVar(&opts.Reopen, "reopen", false, "copy mailboxes finalize completed again (they are left alone otherwise)")
	addNotifyFlags(cmd, opts)
	f.BoolVar(&opts.Enqueue, "enqueue", false, "queue the selected mailboxes for exmigrate worker processes instead of copying them here (needs state.url: a PostgreSQL state)")
	f.StringVarP(&opts.Output, "output", "o", "table", "summary format: table, or json (the whole summary, every folder included, on stdout)")
	addSelectFlags(cmd, &opts.Select, "--mailboxes")
	rangedInt(cmd, &opts.ItemWorkers, "item-workers", 4, 1, 27, "items in flight per mailbox, {range} (Graph serves 4 requests per mailbox at once, EWS 27 per account; without the flag 16 into a target whose writes go several to a request (Exchange Server, Exchange Online), otherwise 4)")
	return cmd
}

// copyWay reads --direction, or --from and --to, into the endpoints a copy
// goes between; named endpoints must be in the config.
func copyWay(cfg *config.Config, opts *copyOptions) (dispatch.Way, error) {
	if opts.From == "" {
		dir, err := dispatch.ParseDirection(opts.Direction)
		if err != nil {
			return dispatch.Way{}, usageError(err)
		}
		w := dir.Way()
		// A direction is between onprem and cloud; a config that has
		// neither is told how to name its endpoints instead of failing
		// every mailbox.
		if cfg.Endpoint(config.OnPremName) == nil && cfg.Endpoint(config.CloudName) == nil {
			return w, usageErrorf("--direction %s copies from the endpoint %s to %s, but this config's endpoints are %s: name them with --from and --to",
				dir, w.From, w.To, strings.Join(cfg.EndpointNames(), ", "))
		}
		return w, nil
	}
	for _, name := range []string{opts.From, opts.To} {
		if cfg.Endpoint(name) == nil {
			return dispatch.Way{}, usageErrorf("--from/--to: the config has no endpoint %q; its endpoints are %s", name, strings.Join(cfg.EndpointNames(), ", "))
		}
	}
	return dispatch.Way{From: opts.From, To: opts.To}, nil
}

// dirWay is the way of a --direction value, or onboarding's for a bad one
// (which ParseDirection reports).
func dirWay(s string) dispatch.Way {
	d, err := dispatch.ParseDirection(s)
	if err != nil {
		d = dispatch.Onboarding
	}
	return d.Way()
}

// defaultStores are copied when --stores is not given: the whole mailbox
// a user sees; Recoverable Items only on request.
func defaultStores() []string { return []string{"primary", "archive"} }

// recoverableFolder is the folder Recoverable Items are copied into.
const recoverableFolder = "Recoverable Items (migrated)"

// parseStores reads --stores and --recoverable-into.
func parseStores(names []string, recoverableInto string) ([]mailbox.Scope, map[mailbox.Scope]engine.StoreTarget, error) {
	if len(names) == 0 {
		names = defaultStores()
	}
	var stores []mailbox.Scope
	for _, n := range names {
		var s mailbox.Scope
		switch strings.ToLower(strings.TrimSpace(n)) {
		case "primary":
			s = mailbox.ScopePrimary
		case "archive":
			s = mailbox.ScopeArchive
		case "recoverable", "recoverable-items", "recoverableitems":
			s = mailbox.ScopeRecoverable
		case "publicfolders", "public-folders":
			return nil, nil, fmt.Errorf("--stores: public folders belong to the organisation, not to a mailbox: copy them with --public-folders")
		default:
			return nil, nil, fmt.Errorf("--stores: unknown store %q; the stores are primary, archive and recoverable", n)
		}
		if !slices.Contains(stores, s) {
			stores = append(stores, s)
		}
	}
	var into map[mailbox.Scope]engine.StoreTarget
	if slices.Contains(stores, mailbox.ScopeRecoverable) {
		var target mailbox.Scope
		switch strings.ToLower(recoverableInto) {
		case "primary":
			target = mailbox.ScopePrimary
		case "archive":
			target = mailbox.ScopeArchive
		default:
			return nil, nil, fmt.Errorf("--recoverable-into: %q is neither primary nor archive", recoverableInto)
		}
		into = map[mailbox.Scope]engine.StoreTarget{mailbox.ScopeRecoverable: {Store: target, Folder: recoverableFolder}}
	}
	return stores, into, nil
}

// copyFilters turns the config's filters into engine options.
func copyFilters(cfg *config.Config) (engine.CopyOptions, error) {
	var o engine.CopyOptions
	for _, expr := range cfg.Filters.IncludeFolders {
		o.IncludeFolders = append(o.IncludeFolders, regexp.MustCompile(expr)) // validated by config
	}
	for _, expr := range cfg.Filters.ExcludeFolders {
		o.ExcludeFolders = append(o.ExcludeFolders, regexp.MustCompile(expr))
	}
	if len(cfg.Filters.FolderMappings) > 0 {
		m, err := mapping.ParseFolderMappings(cfg.Filters.FolderMappings)
		if err != nil {
			return o, usageErrorf("filters.folder_mappings: %w", err)
		}
		o.MapPath = m.Lookup
	}
	if cfg.Filters.ReceivedSince != "" {
		o.ReceivedSince, _ = config.ParseDate(cfg.Filters.ReceivedSince)
	}
	if cfg.Filters.ReceivedUntil != "" {
		o.ReceivedUntil, _ = config.ParseDate(cfg.Filters.ReceivedUntil)
	}
	o.MaxItemBytes = cfg.Filters.MaxItemSize.Bytes()
	return o, nil
}

func copyRun(ctx context.Context, opts *copyOptions) error {
	if opts.Enqueue {
		return enqueueRun(ctx, opts)
	}
	tuneGCForCopy()
	cfg, err := opts.g.loadConfig()
	if err != nil {
		return err
	}
	way, err := copyWay(cfg, opts)
	if err != nil {
		return err
	}
	var entries []csvinput.Entry
	if opts.Mailboxes != "" {
		if entries, err = csvinput.LoadList(opts.Mailboxes); err != nil {
			return usageError(err)
		}
	}
	stateAt := configState(cfg, opts.StatePath)
	entries, err = opts.Select.selectEntries(ctx, opts.g, entries, opts.Mailboxes, stateAt, way.From, way.To)
	if err != nil || (len(entries) == 0 && !opts.PublicFolders) {
		return err // nothing selected: said, and nothing to do
	}
	engineOpts, err := copyFilters(cfg)
	if err != nil {
		return err
	}
	engineOpts.DryRun, engineOpts.MaxSkipped, engineOpts.ItemWorkers = opts.DryRun, opts.MaxSkipped, opts.ItemWorkers
	engineOpts.Reopen = opts.Reopen
	if !opts.itemWorkersSet {
		engineOpts.ItemWorkers = 0 // the engine's default for the target: 16 into one whose writes go in groups, otherwise 4
	}
	if engineOpts.Stores, engineOpts.StoreInto, err = parseStores(opts.Stores, opts.RecoverableInto); err != nil {
		return usageError(err)
	}

	log := opts.g.logger
	var progress *copyProgress
	if !opts.DryRun {
		progress = newCopyProgress(opts.g.io.Err, log, 5*time.Second, entryLabels(entries), cmp.Or(opts.Parallel, cfg.Concurrency.Mailboxes, 1), wayCeiling(cfg, way))
		defer progress.Finish()
		if progress.isTerm && opts.g.newLogger != nil {
			// Log lines go through the bar, which clears itself first.
			log = opts.g.newLogger(progress)
		}
	}
	var sideOpts []backend.Option
	if slices.Contains(engineOpts.Stores, mailbox.ScopeRecoverable) {
		sideOpts = append(sideOpts, backend.ReadRecoverableItems())
	}
	s, err := connectSides(ctx, cfg, log, sideOpts...)
	if err != nil {
		return err
	}
	defer s.Close()

	store, err := stateAt.open(ctx)
	if err != nil {
		return err
	}
	defer store.Close()

	copier := &engine.Copier{Store: store, Log: log, Options: engineOpts}
	var al *auditLog
	if !opts.DryRun {
		if al, err = openAuditFor(ctx, cfg, opts.StatePath, opts.AuditPath, s.Operator, store); err != nil {
			return err
		}
		defer al.Close()
		copier.Audit = al
		copier.Progress = progress
	}

	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = cfg.Concurrency.Mailboxes
	}
	d := s.Dispatcher(log)
	fidelity := decideFidelity(ctx, opts.g.io.Out, log, d, store, way, entries, opts.DryRun, opts.Reprobe)
	copier.Options.FullFidelityRefused = fidelity.refused
	results := make([]*engine.MailboxResult, len(entries))
	idx := make([]int, len(entries))
	for i := range idx {
		idx[i] = i
	}
	planErrs := make([]error, len(entries))
	if progress != nil {
		planErrs = planWave(ctx, copier, d, way, entries, parallel, progress, log)
	}
	pass := mailboxPass{d: d, copier: copier, way: way, log: log, dryRun: opts.DryRun, rules: opts.Rules, progress: progress}
	dispatch.ForEach(ctx, idx, parallel, func(ctx context.Context, i int) {
		results[i] = copyMailbox(ctx, pass, i, entries[i], planErrs[i])
	})
	if opts.PublicFolders && ctx.Err() == nil {
		e, res := copyPublicFolders(ctx, cfg, d, way, copier, log)
		entries, results = append(entries, e), append(results, res)
	}
	if p, ok := copier.Progress.(*copyProgress); ok {
		p.Finish()
		copier.Progress = nil
	}
	summary := copySummary{Listed: entries, Results: results, DryRun: opts.DryRun, Verbose: opts.Verbose,
		DateFiltered: !engineOpts.ReceivedSince.IsZero() || !engineOpts.ReceivedUntil.IsZero()}
	// --notify mails what the terminal shows: the summary is kept as well.
	var shown bytes.Buffer
	streams := opts.g.io
	if len(opts.Notify) > 0 {
		streams.Out = io.MultiWriter(streams.Out, &shown)
	}
	var differences int
	if opts.Output == "json" {
		if differences, err = writeCopySummaryJSON(streams.Out, summary); err != nil {
			return err
		}
	} else {
		differences = printCopySummary(streams, summary)
	}
	what := "copy"
	var runErr error
	switch {
	case ctx.Err() != nil:
		runErr = ctx.Err()
	case opts.finalize != nil:
		what = "finalize"
		runErr = signOffWave(ctx, streams.Out, opts.finalize, copier, store, signer(), summary)
	default:
		runErr = copyOutcome(opts, results, differences)
	}
	if nerr := notifyRun(ctx, opts, s, al, what, shown.String(), runErr); nerr != nil {
		log.Error("the summary was not mailed", "err", nerr)
		if runErr == nil {
			runErr = nerr
		}
	}
	return runErr
}

// copyOutcome is a copy run's error: its exit code and what to do next.
func copyOutcome(opts *copyOptions, results []*engine.MailboxResult, differences int) error {
	var failed, skipped int
	for _, r := range results {
		switch {
		case r == nil:
			failed++
		case r.Err != nil:
			failed++
		case r.SkippedTotal > 0 || r.Skipped > 0 || len(r.FailedFolders) > 0:
			skipped++
		}
	}
	// A difference the reconciliation cannot explain fails the run like a
	// failed mailbox: the copy may have written twice, or lost items.
	const differ = "the reconciliation found %d folder(s) whose target does not match the source (ERROR in the NOTE column of the summary): " +
		"check those folders on the target; items deleted or moved at the source stay on the target, and mail that arrived during the pass is copied by the next run"
	switch {
	case failed > 0 && differences > 0:
		return fmt.Errorf("%d of %d mailbox(es) failed; fix what the log says and run the same command again to resume; and "+differ,
			failed, len(results), differences)
	case failed > 0:
		return fmt.Errorf("%d of %d mailbox(es) failed; fix what the log says and run the same command again to resume", failed, len(results))
	case differences > 0:
		return fmt.Errorf(differ, differences)
	case skipped > 0:
		fmt.Fprintf(opts.g.io.Err, "exmigrate: %d mailbox(es) finished with skipped items or failed folders (see the summary)\n", skipped)
		return errSkipped
	}
	return nil
}

// copySummary is what a copy run prints at its end.
type copySummary struct {
	// Listed are the mailboxes of the list, in its order; Results holds
	// each one's result at the same index, nil for a mailbox not started
	// (the run was stopped first).
	Listed  []csvinput.Entry
	Results []*engine.MailboxResult
	DryRun  bool
	// DateFiltered is true with filters.received_since or received_until:
	// a folder's shortfall may then be the items outside the dates, which
	// the engine does not count.
	DateFiltered bool
	// Verbose lists every folder in the reconciliation; otherwise only
	// those whose counts differ (with the reason, or an ERROR).
	Verbose bool
}

func (s copySummary) result(i int) *engine.MailboxResult {
	if i < len(s.Results) {
		return s.Results[i]
	}
	return nil
}

// mailboxOutcome is the RESULT column of one mailbox.
func mailboxOutcome(r *engine.MailboxResult) string {
	switch {
	case r == nil:
		return "not started"
	case r.Completed:
		return "completed: signed off by finalize, not copied again (copy --reopen copies it)"
	case errors.Is(r.Err, context.Canceled):
		// Stopped by Ctrl-C or SIGTERM: the state knows where, and the
		// error says nothing more (and may carry a request's URL).
		return "interrupted: run the same command to resume"
	case r.Err != nil:
		return "FAILED: " + stripURLQueries(r.Err.Error())
	case len(r.FailedFolders) > 0:
		return fmt.Sprintf("partial: %d folder(s) failed (see below)", len(r.FailedFolders))
	case r.SkippedTotal > 0:
		return "skipped: " + reasons(r.SkipReasonsTotal)
	case r.Skipped > 0:
		return "skipped: " + reasons(r.SkipReasons)
	}
	return "ok"
}

// printCopySummary prints one row per listed mailbox, in the list's order,
// then the reconciliation of each folder. It returns how many folders, or
// target folders shared by several source folders, differ from their
// source in a way nothing on record explains (an ERROR note).
func printCopySummary(io Streams, s copySummary) (differences int) {
	out := io.Out
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	if s.DryRun {
		fmt.Fprintln(tw, "MAILBOX\tTARGET\tFOLDERS TO CREATE\tITEMS TO COPY\tSIZE\tWOULD SKIP\tRESULT")
	} else {
		fmt.Fprintln(tw, "MAILBOX\tTARGET\tCOPIED\tSIZE\tREAD UPDATES\tSKIPPED\tDURATION\tRESULT")
	}
	var tot copyTotals
	for i, e := range s.Listed {
		r := s.result(i)
		result := mailboxOutcome(r)
		tot.add(r)
		switch {
		case r == nil && s.DryRun:
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t%s\n", e.Address, e.Target, result)
		case r == nil:
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\t%s\n", e.Address, e.Target, result)
		case s.DryRun:
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%s\n", r.Key.SourceAddress, r.Key.TargetAddress, len(r.FoldersToMake), r.ItemsCopied, humanize.Bytes(r.BytesCopied), r.Skipped, result)
		default:
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\n", r.Key.SourceAddress, r.Key.TargetAddress, r.ItemsCopied, humanize.Bytes(r.BytesCopied),
				r.ReadUpdates, max(r.SkippedTotal, r.Skipped), r.Duration.Round(time.Millisecond), result)
		}
	}
	if len(s.Listed) > 1 {
		if s.DryRun {
			fmt.Fprintf(tw, "TOTAL\t%d mailboxes\t%d\t%d\t%s\t%d\t%s\n", len(s.Listed), tot.folders, tot.items, humanize.Bytes(tot.bytes), tot.skipped, tot.outcomes())
		} else {
			fmt.Fprintf(tw, "TOTAL\t%d mailboxes\t%d\t%s\t%d\t%d\t%s\t%s\n", len(s.Listed), tot.items, humanize.Bytes(tot.bytes), tot.readUpdates, tot.skipped,
				tot.longest.Round(time.Millisecond), tot.outcomes())
		}
	}
	tw.Flush()
	printStoreGaps(io, s)
	printPaths(io, s)
	printKinds(io, s)
	if s.DryRun {
		return 0
	}
	// Reconciliation: what each folder holds on both sides after the pass.
	rows, matching := reconciliationRows(s)
	shown := 0
	for _, row := range rows {
		if row.Error {
			differences++
		}
		if s.Verbose || row.Note != "" {
			shown++
		}
	}
	for i := range s.Listed {
		if r := s.result(i); r != nil {
			shown += len(r.FailedFolders)
			for _, f := range r.NotCarried {
				if f.SourceCount > 0 {
					shown++
				}
			}
		}
	}
	switch {
	case s.Verbose:
		fmt.Fprintln(out, "\nReconciliation (items per folder, source vs target):")
	case shown == 0:
		fmt.Fprintf(out, "\nReconciliation: all %d folder(s) hold on the target what their source holds (--verbose lists them).\n", matching)
		return differences
	default:
		fmt.Fprintf(out, "\nReconciliation: the folders whose counts differ (%d more match exactly; --verbose lists every folder):\n", matching)
	}
	tw = tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MAILBOX\tFOLDER\tSOURCE\tTARGET\tCOPIED NOW\tSKIPPED NOW\tNOTE")
	for _, row := range rows {
		if s.Verbose || row.Note != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", row.Mailbox, row.Folder, row.sourceText(), row.targetText(), row.CopiedNow, row.SkippedNow, row.Note)
		}
	}
	for i := range s.Listed {
		r := s.result(i)
		if r == nil {
			continue
		}
		for _, f := range r.FailedFolders {
			fmt.Fprintf(tw, "%s\t%s\t%d\t-\t-\t-\tFAILED: %s\n", r.Key.SourceAddress, f.SourcePath, f.SourceCount, stripURLQueries(f.Failed))
		}
		for _, f := range r.NotCarried {
			if f.SourceCount == 0 {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t-\t0\t0\t%s: %s\n", r.Key.SourceAddress, f.SourcePath, f.SourceCount, f.Code, f.NotCopied)
		}
	}
	tw.Flush()
	return differences
}

// printStoreGaps prints the stores a mailbox has that the copy could not
// carry (an archive the target cannot reach, public folders into Exchange
// Online), with the reason and what to do instead.
func printStoreGaps(io Streams, s copySummary) {
	header := false
	for i := range s.Listed {
		r := s.result(i)
		if r == nil {
			continue
		}
		for _, g := range r.Gaps {
			if g.Kind != "" {
				continue
			}
			if !header {
				fmt.Fprintln(io.Out, "\nStores not copied:")
				header = true
			}
			fmt.Fprintf(io.Out, "%s: %s: %s\n", r.Key.SourceAddress, g.Store, g.Reason)
		}
	}
}

// printPaths prints how each kind moves for each mailbox: the plan, the
// same in a dry run and a copy.
func printPaths(io Streams, s copySummary) {
	header := false
	for i := range s.Listed {
		r := s.result(i)
		if r == nil || r.Paths == "" {
			continue
		}
		if !header {
			fmt.Fprintln(io.Out, "\nContent paths (store/kind=path: full-fidelity, mime, typed or not carried):")
			header = true
		}
		fmt.Fprintf(io.Out, "%s: %s\n", r.Key.SourceAddress, r.Paths)
	}
}

// printKinds prints what this pass did per item kind, and what it carried
// with a loss, when a mailbox had anything but mail.
func printKinds(io Streams, s copySummary) {
	show := false
	for i := range s.Listed {
		if r := s.result(i); r != nil {
			for k, kr := range r.Kinds {
				show = show || k != mailbox.KindMail || len(kr.Losses) > 0
			}
			show = show || r.Updated() > 0 || r.NotUpdated > 0
		}
	}
	if !show {
		return
	}
	fmt.Fprintln(io.Out, "\nBy kind (this pass):")
	tw := tabwriter.NewWriter(io.Out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MAILBOX\tKIND\tCOPIED\tUPDATED\tALREADY ON TARGET\tSKIPPED\tWITH A LOSS")
	for i := range s.Listed {
		r := s.result(i)
		if r == nil {
			continue
		}
		for _, k := range mailbox.Kinds() {
			kr := r.Kinds[k]
			if kr == nil {
				continue
			}
			var lost []string
			for _, code := range slices.Sorted(maps.Keys(kr.Losses)) {
				lost = append(lost, fmt.Sprintf("%d %s", kr.Losses[code], code))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\n", r.Key.SourceAddress, k, kr.Copied, kr.Updated, kr.Adopted, kr.Skipped, cmp.Or(strings.Join(lost, ", "), "-"))
		}
		if r.NotUpdated > 0 {
			fmt.Fprintf(tw, "%s\t(changed at the source, not updated on the target)\t\t%d\t\t\t\n", r.Key.SourceAddress, r.NotUpdated)
		}
	}
	tw.Flush()
	for i := range s.Listed {
		if r := s.result(i); r != nil && r.LossesTotal() > 0 {
			fmt.Fprintf(io.Out, "%s: %d item(s) carried with a loss; the report lists each under its finding code with the remedy.\n", r.Key.SourceAddress, r.LossesTotal())
		}
	}
}

// reconciler writes the NOTE of each folder of one mailbox's
// reconciliation, and tells a difference nothing on record explains.
type reconciler struct {
	final        bool // the pass finished: the counts are the reconciliation's
	dateFiltered bool
	// earlierSkips are the items skipped in earlier passes and still
	// skipped: the engine counts them per mailbox, not per folder, so
	// they explain shortfalls up to their number, folder after folder.
	earlierSkips int64
	// shared are the target folders several source folders land in (a
	// folder mapping): their counts are compared summed.
	shared map[sharedKey]*sharedTarget
}

type sharedKey struct {
	store mailbox.Scope
	path  string
}

type sharedTarget struct {
	folders         int
	source, skipped int64
	deleted         int64 // copied, then deleted at the source
	note            string
	bad, done       bool
}

func newReconciler(r *engine.MailboxResult, dateFiltered bool) *reconciler {
	rec := &reconciler{final: r.Err == nil, dateFiltered: dateFiltered,
		earlierSkips: max(r.SkippedTotal-r.Skipped, 0), shared: map[sharedKey]*sharedTarget{}}
	for _, f := range r.Folders {
		if !f.CountsKnown {
			continue
		}
		k := sharedKey{f.Store, f.TargetPath}
		st := rec.shared[k]
		if st == nil {
			st = &sharedTarget{}
			rec.shared[k] = st
		}
		st.folders++
		st.source += f.SourceCount
		st.skipped += f.Skipped
		st.deleted += f.DeletedAtSource
	}
	return rec
}

// note is the NOTE of folder f; bad is true for an ERROR note the first
// time it is given (a shared target counts once).
func (rec *reconciler) note(f engine.FolderResult) (note string, bad bool) {
	switch {
	case !f.CountsKnown:
		return "", false
	case !rec.final:
		return "not reconciled: the pass did not finish", false
	}
	st := rec.shared[sharedKey{f.Store, f.TargetPath}]
	if st.folders == 1 {
		note, bad = rec.compare(st.source, f.TargetCount, st.skipped, st.deleted)
		return note, bad
	}
	if !st.done {
		st.note, st.bad = rec.compare(st.source, f.TargetCount, st.skipped, st.deleted)
		if st.note != "" {
			st.note += "; "
		}
		st.note += fmt.Sprintf("the %d source folders landing in %s counted together", st.folders, f.TargetPath)
		st.done, bad = true, st.bad
	}
	return st.note, bad
}

// compare judges a target count against its source count and the items
// skipped in this pass.
func (rec *reconciler) compare(source, target, skipped, deleted int64) (note string, bad bool) {
	diff := source - target
	switch {
	case diff == 0:
		return "", false
	case diff < 0 && -diff <= deleted:
		// Deletions at the source are not carried over: the target keeps
		// what it was given, and the state knows how many.
		return fmt.Sprintf("target keeps %d item(s) deleted at the source since they were copied", -diff), false
	case diff < 0:
		// Never from a copy that writes nothing twice: duplicates, or mail
		// that was on the target before.
		return fmt.Sprintf("ERROR: the target holds %d more than the source", -diff), true
	case diff <= skipped:
		return fmt.Sprintf("target has %d fewer: the skipped item(s)", diff), false
	case diff-skipped <= rec.earlierSkips:
		rec.earlierSkips -= diff - skipped
		if skipped == 0 {
			return fmt.Sprintf("target has %d fewer: the item(s) skipped in earlier passes", diff), false
		}
		return fmt.Sprintf("target has %d fewer: the skipped item(s), some skipped in earlier passes", diff), false
	case rec.dateFiltered:
		return fmt.Sprintf("target has %d fewer: outside filters.received_since/until, or skipped", diff), false
	}
	return fmt.Sprintf("ERROR: target has %d fewer, no recorded reason", diff), true
}

// urlQuery matches an http(s) URL's query and fragment, up to the end of
// the URL: white space or a quote, and not a last ":", ".", ",", ";" or
// ")" (the sentence's, as in "...?x=1: 400 Bad Request").
var urlQuery = regexp.MustCompile(`(?i)(https?://[^\s"'<>?#]*)[?#](?:[^\s"'<>]*[^\s"'<>:.,;)])?`)

// stripURLQueries removes the query (and fragment) of every http(s) URL in
// s, keeping its host and path: a query can carry a token (an upload
// session's tempauth, a skip token, a SAS signature) that a summary, a
// terminal's scrollback or a ticket must not show.
func stripURLQueries(s string) string {
	return urlQuery.ReplaceAllString(s, "${1}")
}

func reasons(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return strings.Join(parts, "; ")
}

// copyRules creates the fully mappable rules and logs the rest.
func copyRules(ctx context.Context, c *engine.Copier, key engine.JobKey, src, dst dispatch.Mailbox, log *slog.Logger) ([]engine.RuleOutcome, error) {
	outcomes, err := c.CopyRules(ctx, key, src, dst)
	for _, o := range outcomes {
		switch {
		case o.Created && len(o.Lost) > 0:
			log.Warn("rule created, but the target dropped parts of it: check it by hand", "mailbox", key.TargetAddress, "rule", o.Name, "lost", strings.Join(o.Lost, ", "))
		case o.Created:
			log.Info("rule created", "mailbox", key.TargetAddress, "rule", o.Name)
		case o.Existing:
			log.Info("rule already on the target", "mailbox", key.TargetAddress, "rule", o.Name)
		default:
			log.Warn("rule not created: Graph cannot express all of it", "mailbox", key.SourceAddress, "rule", o.Name, "missing", o.NotMoved)
		}
	}
	return outcomes, err
}
