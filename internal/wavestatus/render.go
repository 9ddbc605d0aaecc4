package wavestatus

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/exmigrate/exmigrate/internal/humanize"
)

// Format is an output format of `exmigrate status`.
type Format string

// The formats.
const (
	FormatTable Format = "table"
	FormatJSON  Format = "json"
	FormatCSV   Format = "csv"
)

// ParseFormat reads -o.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case FormatTable, FormatJSON, FormatCSV:
		return f, nil
	case "":
		return FormatTable, nil
	}
	return "", fmt.Errorf("-o %q: unknown output format: use table, json or csv", s)
}

// Write writes the wave in format f.
func Write(w io.Writer, f Format, wave *Wave) error {
	switch f {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(wave)
	case FormatCSV:
		return writeCSV(w, wave)
	case FormatTable, "":
		return writeTable(w, wave)
	}
	return fmt.Errorf("unknown output format %q", f)
}

// timeText is a time for people: UTC to the minute, "-" for never.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func ownerText(o *Owner) string {
	if o == nil {
		return "-"
	}
	return fmt.Sprintf("%s pid %d", o.Host, o.PID)
}

func writeTable(w io.Writer, wave *Wave) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MAILBOX\tTARGET\tBATCH\tSTATE\tLAST PASS\tITEMS\tSIZE\tSKIPPED\tFAILED FOLDERS\tOWNER\tLAST ERROR")
	for _, j := range wave.Jobs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\n",
			cell(j.Mailbox, 60), cell(j.Target, 60), dash(cell(j.Batch, 30)), j.State, timeText(j.LastPass),
			j.ItemsCopied, humanize.Bytes(j.BytesCopied), j.ItemsSkipped, j.FailedFolders, cell(ownerText(j.Owner), 40), dash(cell(j.LastError, 80)))
	}
	t := wave.Totals
	fmt.Fprintf(tw, "TOTAL %d\t\t\t\t\t%d\t%s\t%d\t\t\t\n", t.Mailboxes, t.ItemsCopied, humanize.Bytes(t.BytesCopied), t.ItemsSkipped)
	if err := tw.Flush(); err != nil {
		return err
	}
	name := "state file " + wave.StateFile
	if wave.stateName != "" {
		name = wave.stateName
	}
	_, err := fmt.Fprintf(w, "\n%s (%s, read %s)\n", t.StateSummary(), name, timeText(wave.ReadAt))
	return err
}

// cell makes a value safe for one terminal cell: control characters (a
// tab would break the columns, an escape sequence would drive the
// terminal) become spaces, and a long value is cut.
func cell(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// csvHeader is the CSV's columns; the JSON has the same fields.
var csvHeader = []string{"mailbox", "source_location", "target", "target_location", "batch", "state", "passes",
	"last_start", "last_pass", "items_copied", "bytes_copied", "items_skipped", "items_pending", "failed_folders",
	"owner_host", "owner_pid", "last_error"}

func writeCSV(w io.Writer, wave *Wave) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	rfc := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, j := range wave.Jobs {
		host, pid := "", ""
		if j.Owner != nil {
			host, pid = j.Owner.Host, strconv.Itoa(j.Owner.PID)
		}
		rec := []string{j.Mailbox, j.SourceLocation, j.Target, j.TargetLocation, j.Batch, string(j.State), strconv.Itoa(j.Passes),
			rfc(j.LastStart), rfc(j.LastPass), i64(j.ItemsCopied), i64(j.BytesCopied), i64(j.ItemsSkipped), i64(j.ItemsPending),
			strconv.Itoa(j.FailedFolders), host, pid, j.LastError}
		for i := range rec {
			rec[i] = neutralise(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// neutralise keeps a spreadsheet from running a cell as a formula (CSV
// injection): a value from a mailbox or an error message that starts with
// = + - @ or a tab gets a leading apostrophe, which Excel and LibreOffice
// hide.
func neutralise(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
