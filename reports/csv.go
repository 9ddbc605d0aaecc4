package reports

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// utf8BOM makes Excel read the file as UTF-8 instead of the local code page.
const utf8BOM = "\ufeff"

// neutralise defuses a text cell that a spreadsheet would evaluate as a
// formula (OWASP "CSV injection"): a leading = + - @, tab or carriage
// return gets a single quote in front, which Excel shows as text. Only text
// that came from the assessment goes through it; the numbers the report
// formats itself are left as numbers.
func neutralise(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// itemsCell leaves the cell empty for a finding that counts no items.
func itemsCell(n int64) string {
	if n == 0 {
		return ""
	}
	return i64(n)
}

type csvWriter struct {
	w *csv.Writer
	f CSVFormat
}

func newCSV(w io.Writer, f CSVFormat) (*csvWriter, error) {
	if !f.NoBOM {
		if _, err := io.WriteString(w, utf8BOM); err != nil {
			return nil, err
		}
	}
	cw := csv.NewWriter(w)
	cw.Comma = f.separator()
	cw.UseCRLF = true // what Excel writes, and RFC 4180
	return &csvWriter{w: cw, f: f}, nil
}

// mb is a size in mebibytes with two decimals, for spreadsheet users.
func (c *csvWriter) mb(n int64) string {
	return c.f.decimal(strconv.FormatFloat(float64(n)/(1<<20), 'f', 2, 64))
}

func (c *csvWriter) row(cells ...string) error { return c.w.Write(cells) }

func (c *csvWriter) flush() error {
	c.w.Flush()
	return c.w.Error()
}

var findingsHeader = []string{"severity", "category", "code", "mailbox", "object", "found", "remedy", "fix", "items"}

// renderFindingsCSV writes one row per finding, most serious first.
func renderFindingsCSV(w io.Writer, a *Assessment, f CSVFormat) error {
	c, err := newCSV(w, f)
	if err != nil {
		return err
	}
	if err := c.row(findingsHeader...); err != nil {
		return err
	}
	md := newModel(a)
	for _, f := range md.findings {
		err := c.row(
			neutralise(string(f.Severity)), neutralise(string(f.Category)), neutralise(f.Code),
			neutralise(f.Mailbox), neutralise(f.Object), neutralise(oneLine(f.Found)),
			neutralise(oneLine(f.Remedy)), neutralise(f.Fix), itemsCell(f.Items),
		)
		if err != nil {
			return err
		}
	}
	return c.flush()
}

var mailboxesHeader = []string{
	"address", "location", "type", "batch", "readiness", "error",
	"blockers", "warnings", "infos",
	"items", "size_bytes", "size_mb",
	"mail_items", "calendar_items", "contacts_items", "tasks_items", "notes_items", "other_items",
	"folders", "max_depth", "max_child_folders", "max_folder_items",
	"items_over_tenant_limit", "items_over_150mb",
	"archive_items", "archive_bytes",
	"recoverable_items", "recoverable_bytes",
	"rules", "rules_mappable", "delegates", "holds",
	"copy_status", "items_copied", "bytes_copied", "items_skipped", "source_items", "target_items", "copy_gap", "last_pass",
	"state", "items_to_copy", "items_on_target", "items_pending",
	"mail_copied", "calendar_copied", "contacts_copied", "tasks_copied", "notes_copied", "other_copied",
	"type_detail",
	"forecast_seconds", "forecast", "forecast_basis",
	"observed_items_per_second", "observed_bytes_per_second", "observed",
}

// renderMailboxesCSV writes one row per mailbox, in the assessment's order.
func renderMailboxesCSV(w io.Writer, a *Assessment, f CSVFormat) error {
	c, err := newCSV(w, f)
	if err != nil {
		return err
	}
	if err := c.row(mailboxesHeader...); err != nil {
		return err
	}
	md := newModel(a)
	row := make([]string, 0, len(mailboxesHeader))
	for i := range md.mailboxes {
		v := &md.mailboxes[i]
		m := v.m
		row = append(row[:0],
			neutralise(m.Address), neutralise(string(m.Location)), neutralise(string(m.Type)), neutralise(m.Batch),
			neutralise(string(v.readiness)), neutralise(oneLine(m.Error)),
			strconv.Itoa(v.blockers), strconv.Itoa(v.warnings), strconv.Itoa(v.infos),
			i64(m.Items), i64(m.SizeBytes), c.mb(m.SizeBytes),
		)
		for _, k := range kindOrder {
			row = append(row, i64(m.ItemsByKind[k]))
		}
		row = append(row,
			strconv.Itoa(m.Folders), strconv.Itoa(m.MaxDepth), i64(m.MaxChildFolders), i64(m.MaxFolderItems),
			i64(m.ItemsOverTenant), i64(m.ItemsOver150MB),
		)
		if m.Archive != nil {
			row = append(row, i64(m.Archive.Items), i64(m.Archive.SizeBytes))
		} else {
			row = append(row, "", "")
		}
		row = append(row,
			i64(m.RecoverableItems), i64(m.RecoverableBytes),
			strconv.Itoa(m.Rules), strconv.Itoa(m.RulesMappable), strconv.Itoa(m.Delegates), strconv.Itoa(m.Holds),
		)
		if cs := m.Copy; cs != nil {
			last := ""
			if !cs.LastPass.IsZero() {
				last = cs.LastPass.UTC().Format("2006-01-02T15:04:05Z")
			}
			row = append(row, neutralise(cs.Status), i64(cs.ItemsCopied), i64(cs.BytesCopied), i64(cs.ItemsSkipped),
				i64(cs.SourceItems), i64(cs.TargetItems), i64(Gap(cs)), last)
		} else {
			row = append(row, "", "", "", "", "", "", "", "")
		}
		row = append(row, string(v.state), i64(v.plan.ToCopy), i64(v.plan.OnTarget))
		if cs := m.Copy; cs != nil {
			row = append(row, i64(cs.ItemsPending))
			for _, k := range kindOrder {
				row = append(row, i64(cs.Kinds[string(k)].Copied))
			}
		} else {
			row = append(row, "", "", "", "", "", "", "")
		}
		row = append(row, neutralise(oneLine(m.TypeDetail)))
		// The seconds stay empty where there is no figure: an empty
		// cell is not a zero a spreadsheet would sum.
		fc, why := ForecastCell(m)
		secs := ""
		if m.Forecast != nil && m.Forecast.Known {
			secs = i64(m.Forecast.Seconds)
		}
		row = append(row, secs, neutralise(fc), neutralise(why))
		if o := measured(m); o != nil {
			row = append(row, c.f.decimal(strconv.FormatFloat(o.ItemsPerSecond, 'f', 2, 64)), c.f.decimal(strconv.FormatFloat(o.BytesPerSecond, 'f', 0, 64)), neutralise(observedLine(o)))
		} else if m.Copy != nil && m.Copy.Observed != nil {
			row = append(row, "", "", neutralise(observedLine(m.Copy.Observed)))
		} else {
			row = append(row, "", "", "")
		}
		if err := c.row(row...); err != nil {
			return err
		}
	}
	return c.flush()
}

// oneLine folds line breaks so that a sentence stays on one spreadsheet
// row when opened by tools that split on them.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)), " ")
}

var skippedHeader = []string{"mailbox", "folder", "subject", "kind", "size_bytes", "size_mb", "reason"}

// renderSkippedCSV writes one row per item a copy skipped, mailbox by
// mailbox in the assessment's order: what a user may ask about, and what
// an approval of the skipped items lists.
func renderSkippedCSV(w io.Writer, a *Assessment, f CSVFormat) error {
	c, err := newCSV(w, f)
	if err != nil {
		return err
	}
	if err := c.row(skippedHeader...); err != nil {
		return err
	}
	for i := range a.Mailboxes {
		m := &a.Mailboxes[i]
		if m.Copy == nil {
			continue
		}
		for _, it := range m.Copy.Skipped {
			err := c.row(neutralise(m.Address), neutralise(it.Folder), neutralise(oneLine(it.Subject)), neutralise(it.Kind),
				i64(it.SizeBytes), c.mb(it.SizeBytes), neutralise(oneLine(it.Reason)))
			if err != nil {
				return err
			}
		}
	}
	return c.flush()
}
