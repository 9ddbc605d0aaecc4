package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/internal/audit"
	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/forecast"
	"github.com/exmigrate/exmigrate/internal/secret"
	"github.com/exmigrate/exmigrate/internal/selection"
	"github.com/exmigrate/exmigrate/internal/state"
	"github.com/exmigrate/exmigrate/internal/wavestatus"
	"github.com/exmigrate/exmigrate/mapping"
	"github.com/exmigrate/exmigrate/reports"
)

type reportOptions struct {
	In           string
	CopyResults  string
	Formats      string
	Out          string
	Title        string
	Organisation string
	MailTo       []string
	MailFrom     string
	TeamsURLEnv  string
	CSVLocale    string
	CSVSeparator string
	// CSVNoBOM is --csv-bom=false, kept negated so that the zero value of
	// the options is the flag's default.
	CSVNoBOM bool
	Select   selectOptions // --mailbox, --batch, --only (from --copy-results)

	g *globalOptions
	// getenv reads the locale for --csv-locale auto.
	getenv func(string) string
}

func newReportCommand(g *globalOptions, runF func(context.Context, *reportOptions) error) *cobra.Command {
	opts := &reportOptions{g: g, getenv: os.Getenv}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Render an assessment and copy results for stakeholders: HTML, CSV, JSON, Markdown",
		Long: `Render an assessment (--in, written by assess) for stakeholders: HTML, CSV,
JSON, Markdown. --copy-results adds the copy results of a state: a state file,
or "config" for the state the config names (its state.path file, or the
PostgreSQL database of state.url, which has no file name to give). The report
only reads the state, so it runs beside copies.`,
		Example: `  exmigrate report --in assessment.json --out report/
  exmigrate report --in assessment.json --copy-results contoso-state.db --format html,csv
  exmigrate report --config contoso.yaml --in assessment.json --copy-results config
  exmigrate report --in assessment.json --format csv --csv-locale de_DE
  exmigrate report --config contoso.yaml --in assessment.json --mail-to lead@contoso.com --mail-from migration@contoso.com`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.In == "" {
				return usageErrorf("--in is required: the assessment JSON written by `exmigrate assess`")
			}
			if len(opts.MailTo) > 0 && opts.MailFrom == "" {
				return usageErrorf("--mail-to needs --mail-from: the mailbox the report is sent from (saved in its Sent Items)")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return reportRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.In, "in", "", "assessment JSON written by `exmigrate assess`")
	f.StringVar(&opts.CopyResults, "copy-results", "", "state file of copy jobs, to show copy progress and reconciliation; "+
		"\""+copyResultsConfig+"\": the state the config names (state.url's PostgreSQL database, or state.path)")
	f.StringVar(&opts.Formats, "format", "html,csv,json,md", "formats to write: html, csv, json, md")
	f.StringVar(&opts.Out, "out", "report", "folder to write the report files into")
	f.StringVar(&opts.Title, "title", "", "report title")
	f.StringVar(&opts.Organisation, "organisation", "", "organisation name shown under the title")
	f.StringSliceVar(&opts.MailTo, "mail-to", nil, "mail the HTML report (CSV attached) to these addresses through Graph (needs --config)")
	f.StringVar(&opts.MailFrom, "mail-from", "", "the Exchange Online mailbox that sends the report")
	f.StringVar(&opts.TeamsURLEnv, "teams-workflow-env", "", "environment variable holding a Teams Workflow URL to post a short summary to")
	addSelectFlags(cmd, &opts.Select, "the assessment")
	f.StringVar(&opts.CSVLocale, "csv-locale", "", "write the CSV files for Excel in this locale, e.g. de_DE (\";\" between cells, decimal commas); auto reads $LC_ALL, $LC_NUMERIC or $LANG; empty or C: RFC 4180")
	f.StringVar(&opts.CSVSeparator, "csv-separator", "", "separator of the CSV files: comma, semicolon, tab or pipe (overrides the locale's)")
	f.Var(negatedBool{&opts.CSVNoBOM}, "csv-bom", "start the CSV files with a UTF-8 byte order mark, which Excel needs to read UTF-8 (--csv-bom=false for scripts)")
	f.Lookup("csv-bom").NoOptDefVal = "true"
	return cmd
}

func reportRun(ctx context.Context, opts *reportOptions) error {
	formats, err := reports.ParseFormats(opts.Formats)
	if err != nil {
		return usageError(err)
	}
	csvFormat, err := opts.csvFormat()
	if err != nil {
		return usageError(err)
	}
	f, err := os.Open(opts.In)
	if err != nil {
		return usageErrorf("--in: %w", err)
	}
	a, err := reports.ReadAssessment(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", opts.In, err)
	}
	results, err := opts.copyResultsState()
	if err != nil {
		return err
	}
	if err := opts.Select.selectAssessment(ctx, opts.g, a, opts.In, results); err != nil {
		return err
	}
	if !results.isZero() {
		// Read-only: a report never creates, upgrades or writes a state
		// file or database, not even one it cannot read.
		var store stateStore
		if results.isDB() {
			store, err = results.openReadOnly(ctx, "--copy-results")
		} else {
			store, err = state.OpenReadOnly(ctx, results.path)
			if errors.Is(err, fs.ErrNotExist) {
				return usageErrorf("--copy-results: %w: give the state file a copy wrote (state.path in its config, or its --state), "+
					"or --copy-results %s for the state its config names", err, copyResultsConfig)
			}
		}
		if err != nil {
			return err
		}
		summaries, err := engine.CopySummaries(ctx, store)
		if err == nil {
			var idx *selection.Index
			if idx, err = wavestatus.Index(ctx, store, time.Now()); err == nil {
				err = addRecorded(ctx, store, summaries, idx)
			}
			if err == nil {
				err = addObserved(ctx, store, summaries, time.Now())
			}
		}
		if err == nil {
			a.FidelityProbes, err = engine.ProbeReports(ctx, store)
		}
		store.Close()
		if err != nil {
			return err
		}
		n := engine.MergeCopyResults(a, summaries)
		lost := mapping.CopyLossFindings(a)
		opts.g.logger.Info("copy results merged", "mailboxes", n, "jobs", len(summaries), "loss_findings", lost)
	}
	ropts := reports.Options{Title: opts.Title, Organisation: opts.Organisation, Logger: opts.g.logger, CSV: csvFormat}
	paths, err := reports.WriteAll(ctx, opts.Out, formats, a, ropts)
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintf(opts.g.io.Out, "wrote %s\n", p)
	}
	if len(opts.MailTo) > 0 {
		if err := mailReport(ctx, opts, a, ropts); err != nil {
			return err
		}
	}
	if opts.TeamsURLEnv != "" {
		if err := postTeamsSummary(ctx, opts.TeamsURLEnv, a); err != nil {
			return err
		}
		fmt.Fprintln(opts.g.io.Out, "posted the summary to Teams")
	}
	return nil
}

// copyResultsConfig is the value of --copy-results that names the state of
// the config (state.url's database, or state.path's file) instead of a
// file: a database has no file name to give. ./config is a file of that
// name.
const copyResultsConfig = "config"

// copyResultsState is the state --copy-results names; zero without it.
func (opts *reportOptions) copyResultsState() (stateRef, error) {
	switch opts.CopyResults {
	case "":
		return stateRef{}, nil
	case copyResultsConfig:
		cfg, err := opts.g.loadConfig()
		if err != nil {
			return stateRef{}, err
		}
		return configState(cfg, ""), nil
	}
	return fileState(opts.CopyResults), nil
}

// csvFormat is the CSV format the flags ask for: RFC 4180 unless
// --csv-locale names a locale (or auto, the environment's), then
// --csv-separator and --csv-bom on top.
func (opts *reportOptions) csvFormat() (reports.CSVFormat, error) {
	locale := opts.CSVLocale
	if strings.EqualFold(locale, "auto") {
		getenv := opts.getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		locale, _ = reports.LocaleFromEnv(getenv)
	}
	f, err := reports.CSVFormatForLocale(locale)
	if err != nil {
		if strings.EqualFold(opts.CSVLocale, "auto") {
			err = fmt.Errorf("--csv-locale auto: the environment's locale: %w", err)
		} else {
			err = fmt.Errorf("--csv-locale: %w", err)
		}
		return f, err
	}
	if opts.CSVSeparator != "" {
		if f.Separator, err = reports.ParseCSVSeparator(opts.CSVSeparator); err != nil {
			return f, fmt.Errorf("--csv-separator: %w", err)
		}
	}
	f.NoBOM = opts.CSVNoBOM
	return f, nil
}

// negatedBool is a boolean flag stored negated.
type negatedBool struct{ p *bool }

func (n negatedBool) String() string {
	if n.p == nil {
		return "true"
	}
	return strconv.FormatBool(!*n.p)
}

func (n negatedBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	*n.p = !v
	return nil
}

func (n negatedBool) Type() string { return "bool" }

// skippedLister is the state query that lists a job's skipped items, for
// skipped.csv. The state store implements it when it can.
// signOffLister is a store that keeps finalize's sign-offs.
type signOffLister interface {
	SignOffs(ctx context.Context) (map[int64]state.SignOff, error)
}

type skippedLister interface {
	SkippedItems(ctx context.Context, jobID int64, fn func(engine.ItemRecord) error) error
}

// recordedStore is what addRecorded reads of the state.
type recordedStore interface {
	Jobs(ctx context.Context) ([]engine.JobRecord, error)
	Counts(ctx context.Context, jobID int64) (engine.ItemCounts, error)
	Folders(ctx context.Context, jobID int64) ([]engine.FolderRecord, error)
}

// addRecorded adds to each job's summary what the state recorded beyond
// the engine's summary: the items pending (in flight), which a report of a
// first pass under way plans with; whether a running job is held by a copy,
// or was interrupted (status "interrupted"), as status and serve tell it
// (idx); and the skipped items, named.
func addRecorded(ctx context.Context, store recordedStore, summaries map[string]*reports.CopySummary, idx *selection.Index) error {
	jobs, err := store.Jobs(ctx)
	if err != nil {
		return err
	}
	lister, canList := any(store).(skippedLister)
	var signed map[int64]state.SignOff
	if sl, ok := any(store).(signOffLister); ok {
		if signed, err = sl.SignOffs(ctx); err != nil {
			return err
		}
	}
	for _, j := range jobs {
		s := summaries[strings.ToLower(j.Key.SourceAddress)]
		if s == nil {
			continue
		}
		counts, err := store.Counts(ctx, j.ID)
		if err != nil {
			return err
		}
		s.ItemsPending = counts.Pending
		if so, ok := signed[j.ID]; ok {
			s.SignOff = &reports.SignOff{At: so.At.UTC(), By: so.Operator, ItemsOnTarget: so.ItemsOnTarget, Skipped: so.Skipped, Approved: so.Approved, Note: so.Note}
		}
		k := j.Key
		if j.Status == engine.JobRunning && idx.StateOf(k.SourceAddress, k.TargetAddress, k.SourceLocation, k.TargetLocation) == selection.Interrupted {
			s.Status = "interrupted"
		}
		if !canList || counts.Skipped == 0 {
			continue
		}
		folders, err := store.Folders(ctx, j.ID)
		if err != nil {
			return err
		}
		paths := make(map[string]string, len(folders))
		for _, f := range folders {
			paths[f.SourceFolderID] = f.SourcePath
		}
		s.Skipped = s.Skipped[:0]
		err = lister.SkippedItems(ctx, j.ID, func(rec engine.ItemRecord) error {
			if len(s.Skipped) >= reports.MaxSkippedItems {
				return errEnoughSkipped
			}
			s.Skipped = append(s.Skipped, reports.SkippedItem{Folder: paths[rec.SourceFolderID], Subject: rec.Subject,
				Kind: rec.Kind, SizeBytes: rec.SizeBytes, Reason: rec.Reason})
			return nil
		})
		if err != nil && !errors.Is(err, errEnoughSkipped) {
			return err
		}
	}
	return nil
}

// observedStore is what addObserved reads of the state.
type observedStore interface {
	Jobs(ctx context.Context) ([]engine.JobRecord, error)
	Folders(ctx context.Context, jobID int64) ([]engine.FolderRecord, error)
	CopiedItems(ctx context.Context, jobID int64, sourceFolderID string, fn func(engine.ItemRecord) error) error
}

// addObserved measures the rate each job's copy reached, for the report
// to show beside the forecast. The state keeps the start and end of the
// last pass only, and every copied item's record with its size and the
// time it was written; so a rate is measured only where those say what a
// copy did: the items written during a first pass (finished, failed, or
// interrupted) or the pass under way, over its time. A delta pass's
// records also move for read-state and version updates, and it spends its
// time listing: its "rate" would not be a copy rate, so none is given and
// the report says why.
func addObserved(ctx context.Context, store observedStore, summaries map[string]*reports.CopySummary, now time.Time) error {
	jobs, err := store.Jobs(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		s := summaries[strings.ToLower(j.Key.SourceAddress)]
		if s == nil {
			continue
		}
		if s.Observed, err = observedRate(ctx, store, j, s.Status, now); err != nil {
			return err
		}
	}
	return nil
}

// deltaPassUnknown is why a job whose last pass was a delta pass has no
// observed rate.
const deltaPassUnknown = "the last pass was a delta pass: the state keeps the timing of the last pass only, and a delta pass's records include read-state and version updates, so its rate is not a copy rate"

// observedRate measures one job's rate; status is the summary's (where
// "interrupted" tells a stopped pass from one under way).
func observedRate(ctx context.Context, store observedStore, j engine.JobRecord, status string, now time.Time) (*reports.ObservedRate, error) {
	o := &reports.ObservedRate{}
	if j.LastStart.IsZero() {
		o.Unknown = "no pass has run"
		return o, nil
	}
	start, end := j.LastStart, j.LastEnd
	switch {
	case j.Passes > 0 && (j.Status != engine.JobDone && j.Status != engine.JobPartial || j.Passes > 1):
		// A pass after a finished one: a delta pass, finished or not.
		o.Unknown = deltaPassUnknown
		return o, nil
	case status == "running":
		o.Pass, end = "running", now
	case status == "interrupted":
		o.Pass, end = "interrupted", time.Time{} // up to its last record: when it stopped is not recorded
	case !end.After(start):
		o.Unknown = "the last pass has no recorded end"
		return o, nil
	default:
		o.Pass = "first"
	}
	folders, err := store.Folders(ctx, j.ID)
	if err != nil {
		return nil, err
	}
	var last time.Time
	for _, f := range folders {
		err := store.CopiedItems(ctx, j.ID, f.SourceFolderID, func(rec engine.ItemRecord) error {
			if rec.Updated.Before(start) || !end.IsZero() && rec.Updated.After(end) {
				return nil
			}
			o.Items++
			o.Bytes += rec.SizeBytes
			if rec.Updated.After(last) {
				last = rec.Updated
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if end.IsZero() {
		end = last
	}
	took := end.Sub(start)
	c, ok := forecast.Measured(o.Items, o.Bytes, took)
	if !ok {
		*o = reports.ObservedRate{Unknown: "the " + o.Pass + " pass recorded no item copied"}
		return o, nil
	}
	o.DurationMillis = took.Milliseconds()
	o.ItemsPerSecond, o.BytesPerSecond = c.ItemsPerSecond, c.BytesPerSecond
	return o, nil
}

// errEnoughSkipped stops a listing of skipped items at MaxSkippedItems.
var errEnoughSkipped = errors.New("enough skipped items")

// mailReport sends the HTML report with the CSV files attached from an
// Exchange Online mailbox, saved to its Sent Items so the send is audited.
func mailReport(ctx context.Context, opts *reportOptions, a *reports.Assessment, ropts reports.Options) error {
	cfg, err := opts.g.loadConfig()
	if err != nil {
		return err
	}
	if cfg.Cloud == nil {
		return usageErrorf("--mail-to sends through Microsoft Graph: configure the cloud side in %s", opts.g.ConfigPath)
	}
	s, err := connectSides(ctx, cfg, opts.g.logger)
	if err != nil {
		return err
	}
	defer s.Close()
	var html bytes.Buffer
	if err := reports.Render(&html, reports.FormatHTML, a, ropts); err != nil {
		return err
	}
	mail := graphmail.OutgoingMail{To: opts.MailTo, Subject: reportSubject(a, ropts), HTMLBody: html.String()}
	for _, table := range []reports.CSVTable{reports.CSVFindings, reports.CSVMailboxes, reports.CSVSkipped} {
		if table == reports.CSVSkipped && !hasCopy(a) {
			continue
		}
		var b bytes.Buffer
		o := ropts
		o.CSVTable = table
		if err := reports.Render(&b, reports.FormatCSV, a, o); err != nil {
			return err
		}
		mail.Attachments = append(mail.Attachments, graphmail.Attachment{Name: string(table) + ".csv", ContentType: "text/csv", Data: b.Bytes()})
	}
	// The mail is a write like any other: on record before it goes out,
	// or not sent.
	al, err := openAuditFor(ctx, cfg, "", "", s.Operator, nil)
	if err != nil {
		return fmt.Errorf("mail the report: %w (the mail is not sent without its audit line)", err)
	}
	defer al.Close()
	if err := sendAudited(ctx, s, al, opts.MailFrom, mail); err != nil {
		return fmt.Errorf("mail the report from %s: %w", opts.MailFrom, err)
	}
	fmt.Fprintf(opts.g.io.Out, "mailed the report from %s to %s\n", opts.MailFrom, strings.Join(opts.MailTo, ", "))
	return nil
}

func hasCopy(a *reports.Assessment) bool {
	for i := range a.Mailboxes {
		if a.Mailboxes[i].Copy != nil {
			return true
		}
	}
	return false
}

func reportSubject(a *reports.Assessment, o reports.Options) string {
	title := o.Title
	if title == "" {
		title = "Exchange migration assessment"
	}
	return fmt.Sprintf("%s: %d mailboxes, %d findings", title, len(a.Mailboxes), len(a.Findings))
}

// postTeamsSummary posts a short summary to a Teams Workflow ("When a
// Teams webhook request is received"). The URL is a secret: it is read from
// the environment and never logged or printed.
func postTeamsSummary(ctx context.Context, envName string, a *reports.Assessment) error {
	url, err := secret.FromEnv(envName)
	if err != nil {
		return usageErrorf("--teams-workflow-env: %w", err)
	}
	text := reports.Summarize(a).Headline()
	body, _ := json.Marshal(map[string]any{
		"type": "message",
		"attachments": []any{map[string]any{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"content": map[string]any{
				"type": "AdaptiveCard", "version": "1.4",
				"body": []any{map[string]any{"type": "TextBlock", "text": text, "wrap": true}},
			},
		}},
	})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url.Reveal(), bytes.NewReader(body))
	if err != nil {
		return errors.New("the Teams Workflow URL in " + envName + " is not a valid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// The error text of net/http contains the URL: replace it.
		return fmt.Errorf("post to the Teams Workflow in %s: request failed", envName)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post to the Teams Workflow in %s: HTTP %d", envName, resp.StatusCode)
	}
	return nil
}

func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

func errText(err error) string {
	if err != nil {
		return err.Error()
	}
	return ""
}

// sendAudited sends mail from a mailbox through Graph as a write like any
// other: a started line in the audit log before it goes out (or it is not
// sent), and its outcome after.
func sendAudited(ctx context.Context, s *backend.Sides, al *auditLog, from string, mail graphmail.OutgoingMail) error {
	ev := engine.AuditEvent{Mailbox: from, Location: "cloud", Action: audit.ActionMailSend,
		Object: mail.Subject + " to " + strings.Join(mail.To, ", "), Outcome: audit.OutcomeStarted}
	if err := al.Record(ctx, ev); err != nil {
		return fmt.Errorf("%w (the mail is not sent without its audit line)", err)
	}
	err := s.Graph.SendMail(ctx, from, mail)
	ev.Outcome, ev.Err = outcome(err), errText(err)
	if aerr := al.Record(ctx, ev); aerr != nil && err == nil {
		err = aerr
	}
	return err
}
