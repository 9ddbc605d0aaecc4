package reports

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/exmigrate/exmigrate/internal/humanize"
)

// mdText escapes text for a GitHub-flavoured Markdown table cell or
// paragraph: pipes and the characters that start emphasis, links, code or
// headings are backslash-escaped, angle brackets and ampersands become
// entities (wikis render raw HTML), bare URLs are kept from turning into
// links, and line breaks become spaces.
func mdText(s string) string {
	s = oneLine(s)
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		switch r {
		case '\\', '|', '`', '*', '_', '[', ']', '#', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return noAutolink.Replace(b.String()) // after escaping, so its backslashes stay single
}

// noAutolink breaks what GFM's autolink extension would turn into a link
// (a link planted in a subject is not the report's to publish); the
// backslash escapes are invisible once rendered.
var noAutolink = strings.NewReplacer("://", `\://`, "www.", `www\.`, "WWW.", `WWW\.`)

// mdCode writes s as an inline code span that survives a table cell: the
// fence is longer than any run of backticks inside, and pipes are escaped
// (GFM splits cells before it parses code spans).
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	s = oneLine(s)
	if strings.Contains(s, `\|`) {
		// A table row splits on a pipe after an escaped backslash, and a
		// code span cannot escape it: fall back to escaped text.
		return mdText(s)
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	s = strings.ReplaceAll(s, "|", `\|`)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

type mdWriter struct {
	w   *bufio.Writer
	err error
}

func (m *mdWriter) printf(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

func (m *mdWriter) table(header []string, rows func(row func(cells ...string))) {
	m.printf("| %s |\n|", strings.Join(header, " | "))
	for range header {
		m.printf("---|")
	}
	m.printf("\n")
	rows(func(cells ...string) { m.printf("| %s |\n", strings.Join(cells, " | ")) })
	m.printf("\n")
}

// renderMarkdown writes the report for wikis and tickets: a summary table,
// the findings by severity, and one table row per mailbox.
func renderMarkdown(w io.Writer, a *Assessment, opts Options) error {
	md := newModel(a)
	s := md.sum
	m := &mdWriter{w: bufio.NewWriter(w)}
	m.printf("# %s\n\n", mdText(opts.title()))
	if org := strings.TrimSpace(opts.Organisation); org != "" {
		m.printf("**%s**  \n", mdText(org))
	}
	m.printf("Report generated %s", formatTime(opts.generatedAt()))
	if !a.GeneratedAt.IsZero() {
		m.printf(" from the assessment of %s", formatTime(a.GeneratedAt))
	}
	if a.Tool != "" {
		m.printf(" (%s)", mdText(a.Tool))
	}
	m.printf(".\n\n## Summary\n\n")
	m.table([]string{"Measure", "Value"}, func(row func(...string)) {
		row("Mailboxes", fmt.Sprintf("%s (%s to move, %s already in Exchange Online)", formatInt(int64(s.Mailboxes)), formatInt(int64(s.ToMove)), formatInt(int64(s.InCloud))))
		// Readiness counts the mailboxes to move, as the HTML headlines do.
		row("Ready to move", formatPercent(percent(int64(s.ReadyToMove), int64(s.ToMove))))
		for _, c := range s.ReadinessToMove {
			row("— "+mdText(c.Label), fmt.Sprintf("%s (%s)", formatInt(c.N), formatPercent(percent(c.N, int64(s.ToMove)))))
		}
		if len(s.ByType) > 0 {
			var types []string
			for _, c := range s.ByType {
				types = append(types, formatInt(c.N)+" "+strings.ToLower(c.Label))
			}
			row("By type", mdText(strings.Join(types, ", ")))
		}
		row("Data volume", fmt.Sprintf("%s in %s items", humanize.Bytes(s.SizeBytes), formatInt(s.Items)))
		if s.ArchiveMailboxes > 0 {
			row("Online archives", fmt.Sprintf("%s mailboxes, %s in %s items", formatInt(int64(s.ArchiveMailboxes)), humanize.Bytes(s.ArchiveBytes), formatInt(s.ArchiveItems)))
		}
		row("Recoverable items", fmt.Sprintf("%s in %s items", humanize.Bytes(s.RecoverableBytes), formatInt(s.RecoverableItems)))
		row("Items over the tenant size limit", formatInt(s.ItemsOverTenant))
		row("Items over 150 MB", formatInt(s.ItemsOver150MB))
		row("Inbox rules (mappable to Graph)", fmt.Sprintf("%s (%s)", formatInt(s.Rules), formatInt(s.RulesMappable)))
		row("Delegates", formatInt(s.Delegates))
		row("Holds", formatInt(s.Holds))
		row("Findings", formatInt(int64(s.Findings)))
		for _, c := range s.Severity {
			row("— "+mdText(c.Label), formatInt(c.N))
		}
		if w := s.Forecast; w != nil {
			row("Copy forecast", mdText(w.Line()+" ("+LowerBoundNote+")"))
		}
		if pf := s.PublicFolders; pf != nil {
			row("Public folders", fmt.Sprintf("%s folders, %s in %s items, depth %d", formatInt(int64(pf.Folders)), humanize.Bytes(pf.SizeBytes), formatInt(pf.Items), pf.MaxDepth))
		}
	})

	if pf := s.PublicFolders; pf != nil && len(pf.Largest) > 0 {
		m.printf("## Largest public folders\n\n")
		m.table([]string{"Folder", "Class", "Items", "Size"}, func(row func(...string)) {
			for _, f := range pf.Largest {
				row(mdText(f.Path), mdText(f.Class), formatInt(f.Items), humanize.Bytes(f.SizeBytes))
			}
		})
	}

	m.printf("## Mailboxes by location\n\n")
	m.table([]string{"Location", "Mailboxes", "Ready", "Warnings", "Blocked", "Unreadable", "Size", "Items"}, func(row func(...string)) {
		for _, l := range s.ByLocation {
			row(mdText(l.Label), formatInt(int64(l.Mailboxes)), formatInt(int64(l.Ready)), formatInt(int64(l.Warnings)),
				formatInt(int64(l.Blocked)), formatInt(int64(l.Unreadable)), humanize.Bytes(l.SizeBytes), formatInt(l.Items))
		}
	})

	if len(s.ByCategory) > 0 {
		m.printf("## Findings by category\n\n")
		m.table([]string{"Category", "Blockers", "Warnings", "Info", "Mailboxes concerned"}, func(row func(...string)) {
			for _, c := range s.ByCategory {
				row(mdText(c.Label), formatInt(int64(c.Blocker)), formatInt(int64(c.Warning)), formatInt(int64(c.Info)), formatInt(int64(c.Mailboxes)))
			}
		})
	}

	if cp := s.Copy; cp != nil {
		m.printf("## Copy progress\n\n")
		m.table([]string{"Measure", "Value"}, func(row func(...string)) {
			for _, c := range cp.ByStatus {
				row(mdText(c.Label), formatInt(c.N))
			}
			row("Copied", fmt.Sprintf("%s: %s", formatPercent(cp.ItemsPercent()), mdText(copiedSub(cp))))
			row("Data written", humanize.Bytes(cp.BytesCopied))
			row("Items skipped", formatInt(cp.ItemsSkipped))
			row("Finished copies that reconcile", fmt.Sprintf("%s of %s", formatInt(int64(cp.Reconciled)), formatInt(int64(cp.Finished))))
			if !cp.LastPass.IsZero() {
				row("Last pass", formatTime(cp.LastPass))
			}
		})
		if signed := signOffs(a); len(signed) > 0 {
			m.printf("### Sign-offs\n\n")
			m.table([]string{"Mailbox", "Signed off", "By", "Items on target", "Skipped items approved", "Note"}, func(row func(...string)) {
				for _, mb := range signed {
					so := mb.Copy.SignOff
					row(mdText(mb.Address), formatTime(so.At), mdText(so.By), formatInt(so.ItemsOnTarget), formatInt(so.Approved), mdText(so.Note))
				}
			})
		}
		if len(cp.Kinds) > 0 {
			m.table([]string{"Kind", "Assessed", "Copied", "Skipped", "Carried with a loss"}, func(row func(...string)) {
				for _, k := range cp.Kinds {
					row(mdText(k.Kind), formatInt(k.Assessed), formatInt(k.Copied), formatInt(k.Skipped), formatInt(k.Lost))
				}
			})
		}
		if len(cp.SkipReasons) > 0 {
			m.table([]string{"Skip reason", "Items"}, func(row func(...string)) {
				for _, c := range cp.SkipReasons {
					row(mdText(c.Label), formatInt(c.N))
				}
			})
		}
	}

	m.printf("## Findings by severity\n\n")
	if len(md.findings) == 0 {
		m.printf("No findings.\n\n")
	}
	for start := 0; start < len(md.findings); {
		sev := md.findings[start].Severity
		end := start
		for end < len(md.findings) && md.findings[end].Severity == sev {
			end++
		}
		m.printf("### %s (%s)\n\n", mdText(severityLabel(sev)), formatInt(int64(end-start)))
		m.table([]string{"Category", "Code", "Mailbox", "Object", "Found", "Remedy", "Fix"}, func(row func(...string)) {
			for _, f := range md.findings[start:end] {
				mbx := mdText(f.Mailbox)
				if f.Mailbox == "" {
					mbx = "(organisation)"
				}
				row(mdText(categoryLabel(f.Category)), mdCode(f.Code), mbx, mdText(f.Object), mdText(f.Found), mdText(f.Remedy), mdCode(f.Fix))
			}
		})
		start = end
	}

	m.printf("## Mailboxes\n\n")
	header := []string{"Mailbox", "Location", "Type", "Batch", "Readiness", "Size", "Items", "Blockers", "Warnings", "Info", "Copy at ceiling"}
	if s.Copy != nil {
		header = append(header, "State", "On target / to copy", "Observed rate")
	}
	m.table(header, func(row func(...string)) {
		for _, i := range md.order {
			v := &md.mailboxes[i]
			typ := typeLabel(v.m.Type)
			if v.m.Type == "" && v.m.TypeDetail != "" {
				typ += " (" + v.m.TypeDetail + ")"
			}
			cells := []string{mdText(v.m.Address), mdText(locationLabel(v.m.Location)), mdText(typ), mdText(v.m.Batch),
				mdText(readinessWithError(v)), humanize.Bytes(v.m.SizeBytes), formatInt(v.m.Items),
				formatInt(int64(v.blockers)), formatInt(int64(v.warnings)), formatInt(int64(v.infos))}
			fc, why := ForecastCell(v.m)
			if v.m.Forecast != nil && !v.m.Forecast.Known && fc == "unknown" {
				fc += ": " + why // a reason is short enough to say where the figure would be
			}
			cells = append(cells, mdText(fc))
			if s.Copy != nil {
				cells = append(cells, mdText(v.state.Label()))
				if v.state.ToMove() {
					cells = append(cells, formatInt(v.plan.OnTarget)+" / "+formatInt(v.plan.ToCopy))
				} else {
					cells = append(cells, "")
				}
				var obs string
				if v.m.Copy != nil {
					obs = observedLine(v.m.Copy.Observed)
				}
				cells = append(cells, mdText(obs))
			}
			row(cells...)
		}
	})
	if m.err != nil {
		return m.err
	}
	return m.w.Flush()
}

func readinessWithError(v *mailboxView) string {
	if v.m.Error != "" {
		return readinessLabel(v.readiness) + ": " + v.m.Error
	}
	return readinessLabel(v.readiness)
}

// signOffs are the mailboxes finalize signed off, in the assessment's order.
func signOffs(a *Assessment) []*MailboxAssessment {
	var out []*MailboxAssessment
	for i := range a.Mailboxes {
		if c := a.Mailboxes[i].Copy; c != nil && c.SignOff != nil {
			out = append(out, &a.Mailboxes[i])
		}
	}
	return out
}
