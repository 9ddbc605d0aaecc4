package reports_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/exmigrate/exmigrate/reports"
)

// The report command in a few lines: read the assessment, choose formats,
// write the files.
func Example() {
	in, err := os.Open(filepath.Join("testdata", "assessment.json"))
	if err != nil {
		panic(err)
	}
	defer in.Close()
	a, err := reports.ReadAssessment(in)
	if err != nil {
		panic(err)
	}
	formats, err := reports.ParseFormats("html,csv,json,md")
	if err != nil {
		panic(err)
	}
	out, err := os.MkdirTemp("", "report")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(out)
	opts := reports.Options{Title: "Contoso wave 1", Organisation: "Contoso", GeneratedAt: time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)}
	paths, err := reports.WriteAll(context.Background(), out, formats, a, opts)
	if err != nil {
		panic(err)
	}
	for _, p := range paths {
		fmt.Println(filepath.Base(p))
	}
	fmt.Println(reports.Summarize(a).Headline())
	// Output:
	// report.html
	// findings.csv
	// mailboxes.csv
	// skipped.csv
	// assessment.json
	// report.md
	// 11 mailboxes (61.4 GB), 10 to move: 4 ready, 2 with warnings, 3 blocked, 1 unreadable; 14 findings (5 blockers); copy: 20.2% of the items to copy on the target, 3 of 4 finished copies reconcile.
}

func ExampleParseFormats() {
	_, err := reports.ParseFormats("html,pdf")
	fmt.Println(err)
	// Output: unknown report format "pdf": use html, csv, json, md or all, comma-separated
}
