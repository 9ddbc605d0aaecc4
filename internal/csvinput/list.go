package csvinput

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Entry is one row of the mailbox list.
type Entry struct {
	Line     int    // line number in the file, for messages
	Address  string // EmailAddress: the source mailbox
	Target   string // TargetAddress: defaults to Address
	Location mailbox.Location
	Batch    string
}

// RowError is one bad row of the mailbox list.
type RowError struct {
	Line    int
	Problem string
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Problem) }

// ListError holds every bad row, so an engineer fixes the file in one pass.
type ListError struct {
	File string
	Rows []RowError
}

func (e *ListError) Error() string {
	var b strings.Builder
	name := e.File
	if name == "" {
		name = "mailbox list"
	}
	fmt.Fprintf(&b, "%s: %d bad row(s):", name, len(e.Rows))
	for _, r := range e.Rows {
		b.WriteString("\n  ")
		b.WriteString(r.Error())
	}
	return b.String()
}

// Column names, matched case-insensitively. The aliases are what Exchange
// PowerShell exports (Get-Mailbox | Export-Csv) and what engineers type.
var columnAliases = map[string]string{
	"emailaddress":       "email",
	"email":              "email",
	"primarysmtpaddress": "email",
	"sourceaddress":      "email",
	"mailbox":            "email",
	"targetaddress":      "target",
	"target":             "target",
	"location":           "location",
	"batch":              "batch",
	"batchname":          "batch",
}

// maxListBytes bounds what ReadList accepts: a million mailboxes at ~200
// bytes each. A larger file is almost certainly the wrong file.
const maxListBytes = 256 << 20

// LoadList reads a mailbox list file.
func LoadList(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mailbox list: %w", err)
	}
	defer f.Close()
	entries, err := ReadList(f)
	var le *ListError
	if errors.As(err, &le) {
		le.File = path
	}
	if err != nil {
		return nil, err
	}
	return entries, nil
}

// ReadList parses a mailbox list as Excel or PowerShell writes it: UTF-8
// with or without a byte order mark, comma or semicolon separated (Excel in
// many European locales writes semicolons), a header row whose names are
// case-insensitive. Blank rows and PowerShell's "#TYPE" line are skipped.
// All bad rows are reported together in a *ListError.
func ReadList(r io.Reader) ([]Entry, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("mailbox list: %w", err)
	}
	if len(data) > maxListBytes {
		return nil, fmt.Errorf("mailbox list: larger than %d MB; split it into batches", maxListBytes>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return nil, errors.New("mailbox list: the file is UTF-16; save it as UTF-8 (Export-Csv -Encoding UTF8, or Excel's \"CSV UTF-8\")")
	}

	// Skip leading blank lines and the #TYPE line, counting lines so that
	// row numbers match what the engineer sees in an editor.
	skipped := 0
	for {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		t := bytes.TrimSpace(line)
		if len(data) == 0 || (len(t) != 0 && !bytes.HasPrefix(t, []byte("#TYPE"))) {
			break
		}
		data, skipped = rest, skipped+1
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("mailbox list: the file is empty; it needs a header row with EmailAddress and one row per mailbox")
	}

	header, _, _ := bytes.Cut(data, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = detectSeparator(header)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.ReuseRecord = false

	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("mailbox list: line %d: header row: %w", skipped+1, csvCause(err))
	}
	col := map[string]int{}
	for i, name := range head {
		key, ok := columnAliases[strings.ToLower(strings.TrimSpace(name))]
		if !ok {
			continue // other columns (DisplayName, Department ...) are allowed and ignored
		}
		if _, dup := col[key]; dup {
			return nil, fmt.Errorf("mailbox list: line %d: header names the %s column twice (%q); keep one", skipped+1, key, name)
		}
		col[key] = i
	}
	if _, ok := col["email"]; !ok {
		return nil, fmt.Errorf("mailbox list: line %d: no EmailAddress column in the header (found %s); name the source address column EmailAddress",
			skipped+1, quoteList(head))
	}

	var (
		entries []Entry
		bad     []RowError
		seen    = map[string]int{} // lower-cased address -> line
		seenTgt = map[string]int{}
	)
	field := func(rec []string, key string) string {
		i, ok := col[key]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	ok := eachRecord(cr, skipped, "; check the quotes in this row", &bad, func(line int, rec []string) {
		if len(rec) > len(head) {
			bad = append(bad, RowError{Line: line, Problem: fmt.Sprintf("%d fields but the header has %d; a value may contain the separator %q unquoted", len(rec), len(head), string(cr.Comma))})
			return
		}
		e := Entry{Line: line, Address: field(rec, "email"), Target: field(rec, "target"), Batch: field(rec, "batch")}
		var problems []string
		addr, perr := NormaliseAddress(e.Address)
		if perr != nil {
			problems = append(problems, "EmailAddress "+perr.Error())
		}
		e.Address = addr
		if e.Target == "" {
			e.Target = e.Address
		} else if tgt, terr := NormaliseAddress(e.Target); terr != nil {
			problems = append(problems, "TargetAddress "+terr.Error())
		} else {
			e.Target = tgt
		}
		if berr := checkBatch(e.Batch); berr != nil {
			problems = append(problems, "Batch "+berr.Error())
		}
		loc, lerr := mailbox.ParseLocation(field(rec, "location"))
		if lerr != nil {
			problems = append(problems, "Location: "+lerr.Error())
		}
		e.Location = loc
		if len(problems) == 0 {
			key := strings.ToLower(e.Address)
			if first, dup := seen[key]; dup {
				problems = append(problems, fmt.Sprintf("%s is listed again (first on line %d); list each mailbox once", e.Address, first))
			} else {
				seen[key] = line
			}
			tkey := strings.ToLower(e.Target)
			if first, dup := seenTgt[tkey]; dup && len(problems) == 0 {
				problems = append(problems, fmt.Sprintf("target %s is already the target of line %d; two mailboxes cannot be merged into one", e.Target, first))
			} else if !dup {
				seenTgt[tkey] = line
			}
		}
		if len(problems) > 0 {
			bad = append(bad, RowError{Line: line, Problem: strings.Join(problems, "; ")})
			return
		}
		entries = append(entries, e)
	})
	if !ok {
		return nil, &ListError{Rows: bad}
	}
	if len(bad) > 0 {
		return nil, &ListError{Rows: bad}
	}
	if len(entries) == 0 {
		return nil, errors.New("mailbox list: the header is there but no mailbox rows follow")
	}
	return entries, nil
}

// maxBatchRunes bounds a Batch label: it names a wave on a command line
// (--batch) and in reports, not a description.
const maxBatchRunes = 64

// checkBatch refuses a Batch value that cannot be named with --batch or
// shown on one line: control characters (a line break inside quotes, a
// tab) or an overlong label, usually a column shifted by a stray
// separator.
func checkBatch(b string) error {
	for _, r := range b {
		if unicode.IsControl(r) {
			return fmt.Errorf("%q has a control character (a line break or tab inside quotes?); use a short label like \"Wave 1\"", b)
		}
	}
	if !utf8.ValidString(b) {
		return fmt.Errorf("%q is not UTF-8; save the list as UTF-8", b)
	}
	if n := utf8.RuneCountInString(b); n > maxBatchRunes {
		return fmt.Errorf("is %d characters long, more than %d; use a short label like \"Wave 1\" (is a column shifted?)", n, maxBatchRunes)
	}
	return nil
}

// detectSeparator picks ';' when the header has more semicolons than commas
// outside quotes: Excel writes the list separator of the locale.
func detectSeparator(header []byte) rune {
	commas, semis, quoted := 0, 0, false
	for _, c := range header {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == ',':
			commas++
		case c == ';':
			semis++
		}
	}
	if semis > commas {
		return ';'
	}
	return ','
}

func NormaliseAddress(s string) (string, error) {
	if s == "" {
		return "", errors.New("is empty")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") || a.Address != s {
		return s, fmt.Errorf("%q is not an SMTP address like user@contoso.com", s)
	}
	local, domain, _ := strings.Cut(a.Address, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || local == "" {
		return s, fmt.Errorf("%q is not an SMTP address like user@contoso.com", s)
	}
	return a.Address, nil
}

func csvCause(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func isBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "no columns"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
