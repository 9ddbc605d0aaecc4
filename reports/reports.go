// Package reports renders an assessment (Assessment, optionally with
// copy results merged into each mailbox) for the people who will not read
// logs: a self-contained HTML dashboard, CSV for spreadsheets, the versioned
// JSON for scripts, and Markdown for wikis and tickets.
//
// Every renderer writes to an io.Writer as it goes; none of them fetches
// anything, and all text that came from a mailbox is escaped for its format.
package reports

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Format is one output format of the report.
type Format string

// The formats. FormatCSV is three tables (findings, mailboxes and, with
// copy results, skipped items); Render writes the one Options.CSVTable
// names and WriteAll writes each.
const (
	FormatHTML     Format = "html"
	FormatCSV      Format = "csv"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "md"
)

// AllFormats lists every format, in the order "all" selects them.
func AllFormats() []Format {
	return []Format{FormatHTML, FormatCSV, FormatJSON, FormatMarkdown}
}

// ParseFormats reads a comma-separated list such as "html,csv,json,md".
// Case and spaces do not matter, "markdown" is accepted for md, "all" means
// every format, and duplicates are dropped. An unknown name is an error that
// names it and lists the valid ones.
func ParseFormats(s string) ([]Format, error) {
	var out []Format
	seen := map[Format]bool{}
	add := func(f Format) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	for part := range strings.SplitSeq(s, ",") {
		name := strings.ToLower(strings.TrimSpace(part))
		switch name {
		case "":
			continue
		case "html", "htm":
			add(FormatHTML)
		case "csv":
			add(FormatCSV)
		case "json":
			add(FormatJSON)
		case "md", "markdown":
			add(FormatMarkdown)
		case "all":
			for _, f := range AllFormats() {
				add(f)
			}
		default:
			return nil, fmt.Errorf("unknown report format %q: use html, csv, json, md or all, comma-separated", strings.TrimSpace(part))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no report format given: use html, csv, json, md or all, comma-separated")
	}
	return out, nil
}

// CSVTable selects which of the two CSV tables Render writes.
type CSVTable string

// The CSV tables.
const (
	CSVFindings  CSVTable = "findings"  // one row per finding (the default)
	CSVMailboxes CSVTable = "mailboxes" // one row per mailbox
	CSVSkipped   CSVTable = "skipped"   // one row per item a copy skipped
)

// Options shape a report. The zero value is usable.
type Options struct {
	// Title heads the report; empty means "Exchange migration assessment".
	Title string
	// Organisation is shown under the title when set.
	Organisation string
	// GeneratedAt is the time printed as the report's creation time. When
	// zero, Now is called; when Now is nil too, the wall clock. Golden tests
	// fix it so that the output is byte-for-byte stable.
	GeneratedAt time.Time
	Now         func() time.Time
	// TopN is the length of the "largest" and "to reconcile" tables of the
	// dashboard; 0 means 15.
	TopN int
	// CSVTable selects the table Render writes for FormatCSV.
	CSVTable CSVTable
	// CSV is the separator, decimal mark and byte order mark of the CSV
	// files; the zero value is RFC 4180 with a byte order mark.
	CSV CSVFormat
	// Logger receives one line per file WriteAll writes; nil discards.
	Logger *slog.Logger
}

const defaultTitle = "Exchange migration assessment"

func (o Options) title() string {
	if t := strings.TrimSpace(o.Title); t != "" {
		return t
	}
	return defaultTitle
}

func (o Options) generatedAt() time.Time {
	switch {
	case !o.GeneratedAt.IsZero():
		return o.GeneratedAt.UTC()
	case o.Now != nil:
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

func (o Options) topN() int {
	if o.TopN > 0 {
		return o.TopN
	}
	return 15
}

func (o Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Render writes the assessment a in one format to w.
func Render(w io.Writer, format Format, a *Assessment, opts Options) error {
	if a == nil {
		return errors.New("render report: no assessment given")
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var err error
	switch format {
	case FormatHTML:
		err = renderHTML(bw, a, opts)
	case FormatCSV:
		switch opts.CSVTable {
		case "", CSVFindings:
			err = renderFindingsCSV(bw, a, opts.CSV)
		case CSVMailboxes:
			err = renderMailboxesCSV(bw, a, opts.CSV)
		case CSVSkipped:
			err = renderSkippedCSV(bw, a, opts.CSV)
		default:
			return fmt.Errorf("render report: unknown CSV table %q: use %q, %q or %q", opts.CSVTable, CSVFindings, CSVMailboxes, CSVSkipped)
		}
	case FormatJSON:
		err = renderJSON(bw, a)
	case FormatMarkdown:
		err = renderMarkdown(bw, a, opts)
	default:
		return fmt.Errorf("render report: unknown format %q: use html, csv, json or md", format)
	}
	if err != nil {
		return fmt.Errorf("render %s report: %w", format, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("render %s report: %w", format, err)
	}
	return nil
}

// fileNames are the files WriteAll writes for each format.
var fileNames = map[Format][]struct {
	name  string
	table CSVTable
}{
	FormatHTML:     {{name: "report.html"}},
	FormatCSV:      {{name: "findings.csv", table: CSVFindings}, {name: "mailboxes.csv", table: CSVMailboxes}, {name: "skipped.csv", table: CSVSkipped}},
	FormatJSON:     {{name: "assessment.json"}},
	FormatMarkdown: {{name: "report.md"}},
}

// FileNames returns the names (without directory) WriteAll can write for
// format; skipped.csv only when the assessment carries copy results.
func FileNames(format Format) []string {
	var out []string
	for _, f := range fileNames[format] {
		out = append(out, f.name)
	}
	return out
}

// hasCopyResults says whether copy results were merged into a.
func hasCopyResults(a *Assessment) bool {
	for i := range a.Mailboxes {
		if a.Mailboxes[i].Copy != nil {
			return true
		}
	}
	return false
}

// WriteAll renders the assessment in each format into dir (created if
// needed): report.html, findings.csv and mailboxes.csv (and skipped.csv when
// copy results are merged), assessment.json, report.md. Each file is written to a temporary name and renamed into place,
// so a reader never sees half a report. It returns the paths written, in
// order; on error, the paths written before it.
func WriteAll(ctx context.Context, dir string, formats []Format, a *Assessment, opts Options) ([]string, error) {
	if a == nil {
		return nil, errors.New("write reports: no assessment given")
	}
	if len(formats) == 0 {
		return nil, errors.New("write reports: no format given")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write reports: create output directory: %w", err)
	}
	// Every format shows the same creation time.
	opts.GeneratedAt = opts.generatedAt()
	log := opts.logger()
	var written []string
	for _, format := range formats {
		files, ok := fileNames[format]
		if !ok {
			return written, fmt.Errorf("write reports: unknown format %q: use html, csv, json or md", format)
		}
		for _, file := range files {
			if file.table == CSVSkipped && !hasCopyResults(a) {
				continue // no copy, nothing skipped: no file to mistake for "none"
			}
			if err := ctx.Err(); err != nil {
				return written, fmt.Errorf("write reports: %w", err)
			}
			o := opts
			o.CSVTable = file.table
			path := filepath.Join(dir, file.name)
			n, err := writeFile(ctx, path, func(w io.Writer) error { return Render(w, format, a, o) })
			if err != nil {
				return written, fmt.Errorf("write reports: %s: %w", path, err)
			}
			log.Info("report written", "format", string(format), "path", path, "bytes", n)
			written = append(written, path)
		}
	}
	return written, nil
}

// writeFile writes through a temporary file in the same directory and renames
// it over path once complete. Writes stop with ctx's error once it is done.
func writeFile(ctx context.Context, path string, render func(io.Writer) error) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	cw := &ctxWriter{ctx: ctx, w: tmp}
	if err := render(cw); err != nil {
		tmp.Close()
		return cw.n, err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return cw.n, err
	}
	if err := tmp.Close(); err != nil {
		return cw.n, err
	}
	return cw.n, os.Rename(tmp.Name(), path)
}

// ctxWriter makes a long render stop soon after its context is cancelled.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
	n   int64
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
