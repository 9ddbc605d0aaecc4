package reports

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// unescapedPipes counts the pipes a GFM table parser would split a row on:
// those not preceded by an odd number of backslashes.
func unescapedPipes(s string) int {
	n, backslashes := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			backslashes++
			continue
		case '|':
			if backslashes%2 == 0 {
				n++
			}
		}
		backslashes = 0
	}
	return n
}

// FuzzMarkdownCell: whatever the text, an escaped cell never splits a
// table row, breaks a line, or carries raw HTML; a code span neither.
func FuzzMarkdownCell(f *testing.F) {
	for _, s := range []string{"a|b", `a\|b`, `a\\|b`, "<script>", "x\ny", "``code``", "http://x", "`", `\`, "#", "é|€"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, out := range map[string]string{"text": mdText(s), "code": mdCode(s)} {
			if n := unescapedPipes(out); n != 0 {
				t.Fatalf("%s cell of %q has %d unescaped pipes: %q", name, s, n, out)
			}
			if strings.ContainsAny(out, "\r\n") {
				t.Fatalf("%s cell of %q breaks the line: %q", name, s, out)
			}
		}
		if strings.ContainsAny(mdText(s), "<>") {
			t.Fatalf("text cell of %q has raw angle brackets: %q", s, mdText(s))
		}
	})
}

// FuzzCSVCell: whatever the text, the cell reads back as the neutralised
// text, and a spreadsheet would not take it for a formula.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"=1+1", "+a", "-1", "@x", "\t=1", "\r=1", "a,b", `"q"`, "line\nbreak", "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, sep := range []rune{',', ';', '\t'} {
			var buf bytes.Buffer
			c, err := newCSV(&buf, CSVFormat{Separator: sep})
			if err != nil {
				t.Fatal(err)
			}
			cell := neutralise(s)
			if err := c.row(cell, "end"); err != nil {
				t.Fatal(err)
			}
			if err := c.flush(); err != nil {
				t.Fatal(err)
			}
			r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte(utf8BOM))))
			r.Comma = sep
			rec, err := r.Read()
			if err != nil {
				t.Fatalf("separator %q: cell %q does not read back: %v", sep, cell, err)
			}
			// encoding/csv drops carriage returns inside quoted fields.
			if want := strings.ReplaceAll(cell, "\r", ""); len(rec) != 2 || rec[0] != want || rec[1] != "end" {
				t.Fatalf("separator %q: cell %q read back as %q", sep, cell, rec)
			}
			if rec[0] != "" && strings.ContainsRune("=+-@\t\r", rune(rec[0][0])) {
				t.Fatalf("cell %q starts a formula", rec[0])
			}
		}
	})
}

// FuzzCSVFormatForLocale: any name gives a format or an error, never a
// panic; a format is either RFC 4180 or ";" with decimal commas (never a
// comma separator with decimal commas, which Excel would split), and
// the codeset never matters.
func FuzzCSVFormatForLocale(f *testing.F) {
	for _, s := range []string{"de_DE.UTF-8", "fr-FR", "en_US", "C", "POSIX", "", "de_CH", "sr_Latn_RS", "es_419", "x", "de_DE@euro", "ü_ÜÜ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := CSVFormatForLocale(s)
		if err != nil {
			if got != (CSVFormat{}) {
				t.Fatalf("%q: error %v with a format %+v", s, err, got)
			}
			return
		}
		if got != (CSVFormat{}) && got != (CSVFormat{Separator: ';', DecimalComma: true}) {
			t.Fatalf("%q: format %+v", s, got)
		}
		if !strings.ContainsAny(s, ".@") {
			again, err := CSVFormatForLocale(s + ".UTF-8")
			if err != nil || again != got {
				t.Fatalf("%q: %+v, but with .UTF-8: %+v, %v", s, got, again, err)
			}
		}
	})
}
