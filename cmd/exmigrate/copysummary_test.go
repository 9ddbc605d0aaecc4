package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/csvinput"
)

func TestStripURLQueries(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"no url here", "no url here"},
		{"https://graph.microsoft.com/v1.0/users/a@b.com/messages", "https://graph.microsoft.com/v1.0/users/a@b.com/messages"},
		{`Get "https://graph.microsoft.com/v1.0/users/a@b.com/messages?$top=10&authtoken=s3cret": context deadline exceeded`,
			`Get "https://graph.microsoft.com/v1.0/users/a@b.com/messages": context deadline exceeded`},
		{"PUT https://graph.microsoft.com/up/AAMk?tempauth=eyJ0eXAi.s3cret failed: 503",
			"PUT https://graph.microsoft.com/up/AAMk failed: 503"},
		{"at end http://ews.contoso.com/EWS/Exchange.asmx?x=1", "at end http://ews.contoso.com/EWS/Exchange.asmx"},
		{"host only HTTPS://Example.com?sig=abc", "host only HTTPS://Example.com"},
		{"fragment https://login.example.com/cb#access_token=s3cret done", "fragment https://login.example.com/cb done"},
		{"two https://a.example/x?t=1 and 'https://b.example/y?t=2'", "two https://a.example/x and 'https://b.example/y'"},
		{"a question? not a url", "a question? not a url"},
		{"sentence (see https://a.example/x?t=1). Then: https://a.example/y?t=2: 400", "sentence (see https://a.example/x). Then: https://a.example/y: 400"},
		{"empty query https://a.example/x? end", "empty query https://a.example/x end"},
	} {
		if got := stripURLQueries(tt.in); got != tt.want {
			t.Errorf("stripURLQueries(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// summaryLines prints the summary and returns its lines with runs of
// blanks made one, so that expectations do not depend on column widths.
func summaryLines(t *testing.T, s copySummary) []string {
	t.Helper()
	var out bytes.Buffer
	printCopySummary(Streams{Out: &out, Err: &out}, s)
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return lines
}

func entry(addr string) csvinput.Entry {
	return csvinput.Entry{Address: addr + "@contoso.com", Target: addr + "@contoso.onmicrosoft.com"}
}

func keyOf(e csvinput.Entry) engine.JobKey {
	return engine.JobKey{SourceAddress: e.Address, SourceLocation: "onprem", TargetAddress: e.Target, TargetLocation: "cloud"}
}

// folder is a reconciled folder of a finished pass.
func folder(path string, source, target, copied, skipped int64) engine.FolderResult {
	return engine.FolderResult{SourcePath: path, TargetPath: path, SourceCount: source, TargetCount: target,
		Copied: copied, Skipped: skipped, CountsKnown: true}
}

func TestPrintCopySummary(t *testing.T) {
	ann, ben, cat := entry("ann"), entry("ben"), entry("cat")
	secret := `Get "https://graph.microsoft.com/v1.0/users/ben@contoso.onmicrosoft.com/mailFolders/AAMk/messages?$skiptoken=X&authtoken=s3cret": 401 Unauthorized`
	for _, tt := range []struct {
		name    string
		s       copySummary
		want    []string // whole lines, blanks collapsed
		wantNot []string // anywhere in the output
		diffs   int      // printCopySummary's count of ERROR notes
	}{
		{
			name: "interrupted, failed with a URL, not started",
			s: copySummary{Listed: []csvinput.Entry{ann, ben, cat}, Results: []*engine.MailboxResult{
				{Key: keyOf(ann), ItemsCopied: 12, BytesCopied: 2048, Duration: 1500 * time.Millisecond,
					Err:     fmt.Errorf("copy Inbox: %w", &url.Error{Op: "Post", URL: "https://graph.microsoft.com/v1.0/users/ann/messages?tempauth=s3cret", Err: context.Canceled}),
					Folders: []engine.FolderResult{{SourcePath: "Inbox", TargetPath: "Inbox", SourceCount: 30, Copied: 12, CountsKnown: true}}},
				{Key: keyOf(ben), Err: errors.New(secret)},
				nil,
			}},
			want: []string{
				"MAILBOX TARGET COPIED SIZE READ UPDATES SKIPPED DURATION RESULT",
				"ann@contoso.com ann@contoso.onmicrosoft.com 12 2.0 KB 0 0 1.5s interrupted: run the same command to resume",
				`ben@contoso.com ben@contoso.onmicrosoft.com 0 0 B 0 0 0s FAILED: Get "https://graph.microsoft.com/v1.0/users/ben@contoso.onmicrosoft.com/mailFolders/AAMk/messages": 401 Unauthorized`,
				"cat@contoso.com cat@contoso.onmicrosoft.com - - - - - not started",
			},
			wantNot: []string{"s3cret", "skiptoken", "tempauth", "context canceled"},
		},
		{
			name: "a dry run stopped before a mailbox",
			s: copySummary{DryRun: true, Listed: []csvinput.Entry{ann, ben}, Results: []*engine.MailboxResult{
				{Key: keyOf(ann), DryRun: true, FoldersToMake: []string{"Archive"}, ItemsCopied: 3, BytesCopied: 3072},
			}},
			want: []string{
				"ann@contoso.com ann@contoso.onmicrosoft.com 1 3 3.0 KB 0 ok",
				"ben@contoso.com ben@contoso.onmicrosoft.com - - - - not started",
			},
		},
		{
			name: "a failed folder's reason without its URL's query",
			s: copySummary{Listed: []csvinput.Entry{ann}, Results: []*engine.MailboxResult{
				{Key: keyOf(ann), FailedFolders: []engine.FolderResult{{SourcePath: "Old", SourceCount: 4,
					Failed: `POST https://graph.microsoft.com/v1.0/users/ann/mailFolders?sig=s3cret: 400 The folder display name is missing.`}}},
			}},
			want: []string{
				"ann@contoso.com ann@contoso.onmicrosoft.com 0 0 B 0 0 0s partial: 1 folder(s) failed (see below)",
				"ann@contoso.com Old 4 - - - FAILED: POST https://graph.microsoft.com/v1.0/users/ann/mailFolders: 400 The folder display name is missing.",
			},
			wantNot: []string{"s3cret"},
		},
		{
			name: "target more than source, unexplained shortfall, shortfall explained by skips",
			s: copySummary{Listed: []csvinput.Entry{ann}, Results: []*engine.MailboxResult{
				{Key: keyOf(ann), ItemsCopied: 50, Skipped: 2, SkippedTotal: 2, SkipReasons: map[string]int64{"too large for the target": 2},
					SkipReasonsTotal: map[string]int64{"too large for the target": 2},
					Folders: []engine.FolderResult{
						folder("Inbox", 50, 200, 50, 0),
						folder("Sent Items", 10, 7, 7, 0),
						folder("Archive", 20, 18, 18, 2),
						folder("Drafts", 3, 3, 0, 0),
						{SourcePath: "Notes", TargetPath: "Notes", SourceCount: 4, Copied: 4}, // a side without counts
					}},
			}},
			want: []string{
				"ann@contoso.com ann@contoso.onmicrosoft.com 50 0 B 0 2 0s skipped: 2 too large for the target",
				"MAILBOX FOLDER SOURCE TARGET COPIED NOW SKIPPED NOW NOTE",
				"ann@contoso.com Inbox 50 200 50 0 ERROR: the target holds 150 more than the source",
				"ann@contoso.com Sent Items 10 7 7 0 ERROR: target has 3 fewer, no recorded reason",
				"ann@contoso.com Archive 20 18 18 2 target has 2 fewer: the skipped item(s)",
				"ann@contoso.com Drafts 3 3 0 0",
				"ann@contoso.com Notes - - 4 0",
			},
			diffs: 2,
		},
		{
			name: "deletions at the source explain a surplus, up to their number",
			s: copySummary{Listed: []csvinput.Entry{ann}, Results: []*engine.MailboxResult{
				{Key: keyOf(ann), Folders: []engine.FolderResult{
					func() engine.FolderResult { f := folder("Inbox", 40, 43, 0, 0); f.DeletedAtSource = 3; return f }(),
					func() engine.FolderResult { f := folder("Sent Items", 10, 14, 0, 0); f.DeletedAtSource = 3; return f }(),
				}},
			}},
			want: []string{
				"ann@contoso.com Inbox 40 43 0 0 target keeps 3 item(s) deleted at the source since they were copied",
				"ann@contoso.com Sent Items 10 14 0 0 ERROR: the target holds 4 more than the source",
			},
			diffs: 1,
		},
		{
			name: "a shortfall explained by skips, some from earlier passes",
			s: copySummary{Listed: []csvinput.Entry{ann}, Results: []*engine.MailboxResult{
				{Key: keyOf(ann), Skipped: 1, SkippedTotal: 4, Folders: []engine.FolderResult{
					folder("Inbox", 30, 27, 2, 1),
					folder("Archive", 9, 8, 0, 0),
					folder("Old", 5, 4, 0, 0), // the earlier skips are used up
				}},
			}},
			want: []string{
				"ann@contoso.com Inbox 30 27 2 1 target has 3 fewer: the skipped item(s), some skipped in earlier passes",
				"ann@contoso.com Archive 9 8 0 0 target has 1 fewer: the item(s) skipped in earlier passes",
				"ann@contoso.com Old 5 4 0 0 ERROR: target has 1 fewer, no recorded reason",
			},
			diffs: 1,
		},
		{
			name: "a date filter explains a shortfall, not a surplus",
			s: copySummary{DateFiltered: true, Listed: []csvinput.Entry{ann}, Results: []*engine.MailboxResult{
				{Key: keyOf(ann), Folders: []engine.FolderResult{folder("Inbox", 30, 12, 12, 0), folder("Sent Items", 10, 11, 0, 0)}},
			}},
			want: []string{
				"ann@contoso.com Inbox 30 12 12 0 target has 18 fewer: outside filters.received_since/until, or skipped",
				"ann@contoso.com Sent Items 10 11 0 0 ERROR: the target holds 1 more than the source",
			},
			diffs: 1,
		},
		{
			name: "two source folders mapped into one target folder are counted together",
			s: copySummary{Listed: []csvinput.Entry{ann, ben}, Results: []*engine.MailboxResult{
				{Key: keyOf(ann), Folders: []engine.FolderResult{
					{SourcePath: "Inbox/Invoices", TargetPath: "Finance", SourceCount: 5, TargetCount: 12, Copied: 5, CountsKnown: true},
					{SourcePath: "Inbox/Receipts", TargetPath: "Finance", SourceCount: 7, TargetCount: 12, Copied: 7, CountsKnown: true},
				}},
				{Key: keyOf(ben), Folders: []engine.FolderResult{
					{SourcePath: "A", TargetPath: "X", SourceCount: 5, TargetCount: 14, Copied: 5, CountsKnown: true},
					{SourcePath: "B", TargetPath: "X", SourceCount: 7, TargetCount: 14, Copied: 7, CountsKnown: true},
				}},
			}},
			want: []string{
				"ann@contoso.com Inbox/Invoices 5 12 5 0 the 2 source folders landing in Finance counted together",
				"ann@contoso.com Inbox/Receipts 7 12 7 0 the 2 source folders landing in Finance counted together",
				"ben@contoso.com A 5 14 5 0 ERROR: the target holds 2 more than the source; the 2 source folders landing in X counted together",
				"ben@contoso.com B 7 14 7 0 ERROR: the target holds 2 more than the source; the 2 source folders landing in X counted together",
			},
			diffs: 1,
		},
		{
			name: "an interrupted mailbox's counts are not judged",
			s: copySummary{Listed: []csvinput.Entry{ann, ben}, Results: []*engine.MailboxResult{
				{Key: keyOf(ann), ItemsCopied: 12, Err: context.Canceled, Folders: []engine.FolderResult{
					{SourcePath: "Inbox", TargetPath: "Inbox", SourceCount: 30, Copied: 12, CountsKnown: true}}},
				{Key: keyOf(ben), Err: errors.New("too many items skipped: 3 skipped, over --max-skipped 2"), Folders: []engine.FolderResult{
					{SourcePath: "Inbox", TargetPath: "Inbox", SourceCount: 30, Copied: 27, Skipped: 3, CountsKnown: true}}},
			}},
			want: []string{
				"ann@contoso.com Inbox 30 - 12 0 not reconciled: the pass did not finish",
				"ben@contoso.com Inbox 30 - 27 3 not reconciled: the pass did not finish",
			},
			wantNot: []string{"ERROR"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.Verbose = true // every folder: the notes are what is tested
			var out bytes.Buffer
			if n := printCopySummary(Streams{Out: &out, Err: &out}, tt.s); n != tt.diffs {
				t.Errorf("%d differences, want %d", n, tt.diffs)
			}
			lines := summaryLines(t, tt.s)
			all := strings.Join(lines, "\n")
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					found = found || l == w
				}
				if !found {
					t.Errorf("no line\n  %s\nin\n%s", w, all)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(all, w) {
					t.Errorf("the summary shows %q:\n%s", w, all)
				}
			}
		})
	}
}

// TestReconciliationShowsOnlyDifferences: without --verbose the
// reconciliation lists only the folders whose counts differ (explained or
// not), says how many match, and the summary ends with a totals row; -o
// json has every folder and the same totals.
func TestReconciliationShowsOnlyDifferences(t *testing.T) {
	ann := csvinput.Entry{Address: "ann@contoso.com", Target: "ann@contoso.onmicrosoft.com"}
	ben := csvinput.Entry{Address: "ben@contoso.com", Target: "ben@contoso.onmicrosoft.com"}
	keyOf := func(e csvinput.Entry) engine.JobKey {
		return engine.JobKey{SourceAddress: e.Address, TargetAddress: e.Target}
	}
	s := copySummary{Listed: []csvinput.Entry{ann, ben}, Results: []*engine.MailboxResult{
		{Key: keyOf(ann), ItemsCopied: 40, BytesCopied: 4 << 20, Folders: []engine.FolderResult{
			{SourcePath: "Inbox", TargetPath: "Inbox", SourceCount: 30, TargetCount: 30, Copied: 30, CountsKnown: true},
			{SourcePath: "Sent Items", TargetPath: "Sent Items", SourceCount: 10, TargetCount: 10, Copied: 10, CountsKnown: true},
		}},
		{Key: keyOf(ben), ItemsCopied: 19, Skipped: 1, SkipReasons: map[string]int64{"over 150 MB": 1}, Folders: []engine.FolderResult{
			{SourcePath: "Inbox", TargetPath: "Inbox", SourceCount: 20, TargetCount: 19, Copied: 19, Skipped: 1, CountsKnown: true},
		}},
	}}
	var out bytes.Buffer
	printCopySummary(Streams{Out: &out, Err: &out}, s)
	text := out.String()
	for _, want := range []string{
		"the folders whose counts differ (2 more match exactly; --verbose lists every folder)",
		"target has 1 fewer: the skipped item(s)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if regexp.MustCompile(`(?m)^ann@contoso\.com +Inbox +30 +30`).MatchString(text) {
		t.Errorf("a folder that matches is listed without --verbose:\n%s", text)
	}
	if !regexp.MustCompile(`(?m)^TOTAL +2 mailboxes +59 +4\.0 MB +0 +1 +\S+ +1 ok, 1 with skips or failed folders\s*$`).MatchString(text) {
		t.Errorf("no totals row:\n%s", text)
	}

	var js bytes.Buffer
	if _, err := writeCopySummaryJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Totals struct {
			Mailboxes   int   `json:"mailboxes"`
			ItemsCopied int64 `json:"items_copied"`
			Skipped     int64 `json:"skipped"`
		} `json:"totals"`
		Reconciliation []struct {
			Folder     string `json:"folder"`
			Reconciled bool   `json:"reconciled"`
		} `json:"reconciliation"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, js.String())
	}
	if doc.Totals.Mailboxes != 2 || doc.Totals.ItemsCopied != 59 || doc.Totals.Skipped != 1 || len(doc.Reconciliation) != 3 {
		t.Errorf("json totals %+v with %d folders, want 2 mailboxes, 59 copied, 1 skipped and all 3 folders", doc.Totals, len(doc.Reconciliation))
	}

	s.Results[1] = &engine.MailboxResult{Key: keyOf(ben), ItemsCopied: 20, Folders: []engine.FolderResult{
		{SourcePath: "Inbox", TargetPath: "Inbox", SourceCount: 20, TargetCount: 20, Copied: 20, CountsKnown: true}}}
	out.Reset()
	printCopySummary(Streams{Out: &out, Err: &out}, s)
	if !strings.Contains(out.String(), "Reconciliation: all 3 folder(s) hold on the target what their source holds") {
		t.Errorf("when every folder matches, the summary does not say so:\n%s", out.String())
	}
}
