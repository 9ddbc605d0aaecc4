package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
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

func TestPrintCopySummary(t *testing.T) {
	ann, ben, cat := entry("ann"), entry("ben"), entry("cat")
	secret := `Get "https://graph.microsoft.com/v1.0/users/ben@contoso.onmicrosoft.com/mailFolders/AAMk/messages?$skiptoken=X&authtoken=s3cret": 401 Unauthorized`
	for _, tt := range []struct {
		name    string
		s       copySummary
		want    []string // whole lines, blanks collapsed
		wantNot []string // anywhere in the output
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
	} {
		t.Run(tt.name, func(t *testing.T) {
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
