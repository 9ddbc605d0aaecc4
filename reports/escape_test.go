package reports

import (
	"bytes"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// hostileAssessment puts markup, formula and Markdown syntax into every text
// field a report shows.
func hostileAssessment(h string) *Assessment {
	return &Assessment{
		SchemaVersion: 1,
		Tool:          h,
		Mailboxes: []MailboxAssessment{{
			Address: h + "@contoso.com", Location: mailbox.Location(h), Type: mailbox.MailboxType(h), Batch: h,
			Readiness: Readiness(h), Error: h,
			ItemsByKind:  map[mailbox.Kind]int64{mailbox.Kind(h): 1},
			LargestItems: []ItemSummary{{Folder: h, Subject: h, Class: h, SizeBytes: 1}},
			FolderStats:  []FolderSummary{{Path: h, Class: h}},
			Copy:         &CopySummary{Status: h, SkipReasons: map[string]int64{h: 1}},
		}},
		Findings: []Finding{{
			Code: h, Severity: Severity(h), Category: Category(h), Mailbox: h + "@contoso.com",
			Object: h, Found: h, Remedy: h, Fix: h,
		}},
	}
}

func TestHTMLEscapesEverything(t *testing.T) {
	for _, h := range []string{
		`<script>alert(1)</script>`,
		`"><img src=x onerror=alert(1)>`,
		`</style><script>alert(1)</script>`,
		`</title><svg onload=alert(1)>`,
		`javascript:alert(1)`,
		`' onmouseover='alert(1)`,
	} {
		a := hostileAssessment(h)
		var buf bytes.Buffer
		opts := Options{Title: h, Organisation: h, GeneratedAt: fixedTime}
		if err := Render(&buf, FormatHTML, a, opts); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, bad := range []string{"<script>alert", "<img src=x", "<svg onload", "</style><script>", "ZgotmplZ"} {
			if strings.Contains(out, bad) {
				i := strings.Index(out, bad)
				t.Errorf("input %q: output contains %q: ...%s...", h, bad, out[max(0, i-80):min(len(out), i+80)])
			}
		}
		// Attribute-breaking quotes never survive into an attribute.
		if strings.Contains(out, `onerror=alert`) && !strings.Contains(out, `&#34;&gt;&lt;img src=x onerror=alert(1)&gt;`) {
			t.Errorf("input %q: unescaped event handler", h)
		}
		if strings.Contains(out, `href="javascript:`) {
			t.Errorf("input %q: javascript: URL in an href", h)
		}
		// The text is still there for the reader, escaped.
		if !strings.Contains(out, "alert(1)") {
			t.Errorf("input %q: the text itself disappeared", h)
		}
	}
}

func TestMarkdownEscapes(t *testing.T) {
	h := "a|b <script>x</script> *bold* [link](http://x) `code` _u_ # h"
	var buf bytes.Buffer
	if err := Render(&buf, FormatMarkdown, hostileAssessment(h), Options{Title: h, GeneratedAt: fixedTime}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// Code spans are literal text in CommonMark; outside them nothing may
	// be markup.
	prose := stripCodeSpans(out)
	if strings.Contains(prose, "<script>") {
		t.Error("raw HTML in the Markdown")
	}
	if strings.Contains(prose, "[link](") {
		t.Error("a link survived unescaped")
	}
	if strings.Contains(strings.ReplaceAll(prose, `\://`, ""), "://") {
		t.Error("a bare URL would be autolinked")
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		// Every row of a table has the same number of unescaped pipes as
		// its header: no cell was split by a pipe in the data.
		if n := strings.Count(line, "|") - strings.Count(line, `\|`); n < 3 {
			t.Errorf("table row with %d cell separators: %s", n, line)
		}
	}
	if !strings.Contains(out, `a\|b &lt;script&gt;x&lt;/script&gt; \*bold\* \[link\](http\://x) \`+"`code\\`"+` \_u\_ \# h`) {
		t.Errorf("escaped text not found in:\n%s", out)
	}
	// A fix with backticks and a pipe stays one code span.
	if got := mdCode("a ``b`` | c"); got != "```a ``b`` \\| c```" {
		t.Errorf("mdCode = %q", got)
	}
}

func TestMarkdownTablesAreRectangular(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, FormatMarkdown, loadFixture(t), goldenOptions()); err != nil {
		t.Fatal(err)
	}
	cells := func(line string) int { return strings.Count(line, "|") - strings.Count(line, `\|`) }
	want := 0
	for i, line := range strings.Split(buf.String(), "\n") {
		if !strings.HasPrefix(line, "|") {
			want = 0
			continue
		}
		if want == 0 {
			want = cells(line)
		} else if got := cells(line); got != want {
			t.Errorf("line %d has %d separators, its table %d: %s", i+1, got, want, line)
		}
	}
}

// stripCodeSpans removes inline code spans: a run of n backticks up to the
// next run of exactly n.
func stripCodeSpans(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '`' {
			b.WriteByte(s[i])
			i++
			continue
		}
		n := 0
		for i+n < len(s) && s[i+n] == '`' {
			n++
		}
		end := -1
		for j := i + n; j < len(s); {
			if s[j] != '`' {
				j++
				continue
			}
			m := 0
			for j+m < len(s) && s[j+m] == '`' {
				m++
			}
			if m == n {
				end = j + m
				break
			}
			j += m
		}
		if end < 0 {
			b.WriteString(s[i : i+n])
			i += n
			continue
		}
		i = end
	}
	return b.String()
}
