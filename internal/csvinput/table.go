package csvinput

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ReadTable reads a CSV the engineer exported (PowerShell Export-Csv): a
// #TYPE line and a BOM are skipped, the separator is detected, header names
// are case-insensitive, every column in required must be there, and row is
// called with each non-blank row's line and a getter by header name. Every
// bad row is reported at once in a *ListError.
func ReadTable(r io.Reader, name string, required []string, row func(line int, get func(string) string) error) error {
	data, err := io.ReadAll(io.LimitReader(r, maxListBytes+1))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > maxListBytes {
		return fmt.Errorf("%s: larger than %d MB", name, maxListBytes>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	skipped := 0
	if bytes.HasPrefix(data, []byte("#TYPE")) {
		_, data, _ = bytes.Cut(data, []byte("\n"))
		skipped = 1
	}
	header, _, _ := bytes.Cut(data, []byte("\n"))
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = detectSeparator(header)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: the file is empty or has no header row", name)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, req := range required {
		if _, ok := col[strings.ToLower(req)]; !ok {
			return fmt.Errorf("%s: no %s column in the header (found %s); export it with the command in the README", name, req, quoteList(head))
		}
	}
	var bad []RowError
	eachRecord(cr, skipped, "", &bad, func(line int, rec []string) {
		get := func(h string) string {
			i, ok := col[strings.ToLower(h)]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		if err := row(line, get); err != nil {
			bad = append(bad, RowError{Line: line, Problem: err.Error()})
		}
	})
	if len(bad) > 0 {
		return &ListError{File: name, Rows: bad}
	}
	return nil
}

// eachRecord calls fn with each non-blank record and its line as the
// engineer's editor counts it (skipped lines before the data included). A
// row with broken quotes is added to bad and reading goes on; any other
// parse error is added and stops it, and eachRecord then returns false.
func eachRecord(cr *csv.Reader, skipped int, hint string, bad *[]RowError, fn func(line int, rec []string)) bool {
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				*bad = append(*bad, RowError{Line: pe.StartLine + skipped, Problem: csvCause(err).Error() + hint})
				if pe.Err == csv.ErrQuote || pe.Err == csv.ErrBareQuote {
					continue
				}
			}
			return false
		}
		line, _ := cr.FieldPos(0)
		if isBlank(rec) {
			continue
		}
		fn(line+skipped, rec)
	}
}
