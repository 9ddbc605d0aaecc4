package csvinput

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/exmigrate/exmigrate/mailbox"
)

func TestReadListGood(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Entry
	}{
		{"minimal", "EmailAddress\nann@contoso.com\n", []Entry{
			{Line: 2, Address: "ann@contoso.com", Target: "ann@contoso.com", Location: mailbox.LocationAuto}}},
		{"all columns, case-insensitive header, BOM, CRLF", "\uFEFFemailaddress,TARGETADDRESS,Location,Batch\r\nann@contoso.com,ann@contoso.mail.onmicrosoft.com,OnPrem,Wave 1\r\nbob@contoso.com,,cloud,\r\n",
			[]Entry{
				{Line: 2, Address: "ann@contoso.com", Target: "ann@contoso.mail.onmicrosoft.com", Location: mailbox.LocationOnPrem, Batch: "Wave 1"},
				{Line: 3, Address: "bob@contoso.com", Target: "bob@contoso.com", Location: mailbox.LocationCloud},
			}},
		{"semicolons from a German Excel", "EmailAddress;Location;Batch\nann@contoso.com;onprem;\"Welle; 1\"\n",
			[]Entry{{Line: 2, Address: "ann@contoso.com", Target: "ann@contoso.com", Location: mailbox.LocationOnPrem, Batch: "Welle; 1"}}},
		{"PowerShell export with #TYPE, quotes and other columns", "#TYPE Selected.Microsoft.Exchange.Data.Directory.Management.Mailbox\n\"DisplayName\",\"PrimarySmtpAddress\"\n\"Ann, Smith\",\"ann@contoso.com\"\n",
			[]Entry{{Line: 3, Address: "ann@contoso.com", Target: "ann@contoso.com", Location: mailbox.LocationAuto}}},
		{"blank rows and spaces are skipped", "EmailAddress,Location\n\n  ann@contoso.com , auto \n,\n",
			[]Entry{{Line: 3, Address: "ann@contoso.com", Target: "ann@contoso.com", Location: mailbox.LocationAuto}}},
		{"fewer fields than the header", "EmailAddress,TargetAddress,Batch\nann@contoso.com\n",
			[]Entry{{Line: 2, Address: "ann@contoso.com", Target: "ann@contoso.com", Location: mailbox.LocationAuto}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadList(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d entries %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("entry %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestReadListBad(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "mailbox list: the file is empty; it needs a header row with EmailAddress and one row per mailbox"},
		{"header only", "EmailAddress\n", "mailbox list: the header is there but no mailbox rows follow"},
		{"no email column", "Name,Mail\nAnn,ann@contoso.com\n", `mailbox list: line 1: no EmailAddress column in the header (found "Name", "Mail"); name the source address column EmailAddress`},
		{"column twice", "EmailAddress,PrimarySmtpAddress\na@b.com,a@b.com\n", `mailbox list: line 1: header names the email column twice ("PrimarySmtpAddress"); keep one`},
		{"utf16", "\xff\xfeE\x00", "mailbox list: the file is UTF-16; save it as UTF-8 (Export-Csv -Encoding UTF8, or Excel's \"CSV UTF-8\")"},
		{"bad address", "EmailAddress\nAnn Smith\n", "mailbox list: 1 bad row(s):\n  line 2: EmailAddress \"Ann Smith\" is not an SMTP address like user@contoso.com"},
		{"display name form", "EmailAddress\nAnn <ann@contoso.com>\n", "mailbox list: 1 bad row(s):\n  line 2: EmailAddress \"Ann <ann@contoso.com>\" is not an SMTP address like user@contoso.com"},
		{"no domain dot", "EmailAddress\nann@contoso\n", "mailbox list: 1 bad row(s):\n  line 2: EmailAddress \"ann@contoso\" is not an SMTP address like user@contoso.com"},
		{"empty address", "EmailAddress,Batch\n,Wave 1\n", "mailbox list: 1 bad row(s):\n  line 2: EmailAddress is empty"},
		{"bad target and location", "EmailAddress,TargetAddress,Location\nann@contoso.com,nobody,mars\n",
			"mailbox list: 1 bad row(s):\n  line 2: TargetAddress \"nobody\" is not an SMTP address like user@contoso.com; Location: unknown location \"mars\": use onprem, cloud or auto"},
		{"duplicate, case-insensitive", "EmailAddress\nann@contoso.com\nbob@contoso.com\nAnn@Contoso.com\n",
			"mailbox list: 1 bad row(s):\n  line 4: Ann@Contoso.com is listed again (first on line 2); list each mailbox once"},
		{"two sources into one target", "EmailAddress,TargetAddress\nann@contoso.com,x@contoso.com\nbob@contoso.com,x@contoso.com\n",
			"mailbox list: 1 bad row(s):\n  line 3: target x@contoso.com is already the target of line 2; two mailboxes cannot be merged into one"},
		{"too many fields", "EmailAddress,Batch\nann@contoso.com,Wave 1,extra\n",
			"mailbox list: 1 bad row(s):\n  line 2: 3 fields but the header has 2; a value may contain the separator \",\" unquoted"},
		{"bad quote", "EmailAddress,Batch\nann@contoso.com,\"Wave 1\nbob@contoso.com,x\n",
			"mailbox list: 1 bad row(s):\n  line 2: extraneous or missing \" in quoted-field; check the quotes in this row"},
		{"batch with a line break", "EmailAddress,Batch\nann@contoso.com,\"Wave\n1\"\n",
			"mailbox list: 1 bad row(s):\n  line 2: Batch \"Wave\\n1\" has a control character (a line break or tab inside quotes?); use a short label like \"Wave 1\""},
		{"batch too long", "EmailAddress,Batch\nann@contoso.com," + strings.Repeat("w", 65) + "\n",
			"mailbox list: 1 bad row(s):\n  line 2: Batch is 65 characters long, more than 64; use a short label like \"Wave 1\" (is a column shifted?)"},
		{"batch not UTF-8", "EmailAddress,Batch\nann@contoso.com,Welle \xfc\n",
			"mailbox list: 1 bad row(s):\n  line 2: Batch \"Welle \\xfc\" is not UTF-8; save the list as UTF-8"},
		{"every bad row at once", "EmailAddress\nann@contoso.com\nbad\nann@contoso.com\n\nalso bad\n",
			"mailbox list: 3 bad row(s):\n  line 3: EmailAddress \"bad\" is not an SMTP address like user@contoso.com\n  line 4: ann@contoso.com is listed again (first on line 2); list each mailbox once\n  line 6: EmailAddress \"also bad\" is not an SMTP address like user@contoso.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadList(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("ReadList = %+v, want error %q", got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
		})
	}
}

func TestLoadListNamesTheFile(t *testing.T) {
	_, err := LoadList("testdata/no-such-list.csv")
	if err == nil || !strings.Contains(err.Error(), "no-such-list.csv") {
		t.Errorf("err = %v, want it to name the file", err)
	}
	var le *ListError
	_, err = ReadList(strings.NewReader("EmailAddress\nbad\n"))
	if !errors.As(err, &le) || len(le.Rows) != 1 || le.Rows[0].Line != 2 {
		t.Errorf("err = %#v, want *ListError with line 2", err)
	}
}

// FuzzReadList checks that no input panics, and that every accepted list
// holds valid, unique addresses with their line numbers in order.
func FuzzReadList(f *testing.F) {
	for _, seed := range []string{
		"EmailAddress\nann@contoso.com\n",
		"\uFEFFEmailAddress;TargetAddress;Location;Batch\r\nann@contoso.com;ann@x.onmicrosoft.com;onprem;1\r\n",
		"#TYPE x\n\"PrimarySmtpAddress\",\"Batch\"\n\"a@b.co\",\"w\"\n",
		"EmailAddress,Batch\nann@contoso.com,\"Wave\n",
		"EmailAddress\nann@contoso.com\nANN@contoso.com\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ReadList(strings.NewReader(string(data)))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(entries) == 0 {
			t.Fatal("no error and no entries")
		}
		seen := map[string]bool{}
		last := 0
		for _, e := range entries {
			if !strings.Contains(e.Address, "@") || !strings.Contains(e.Target, "@") || !utf8.ValidString(e.Address) && utf8.Valid(data) {
				t.Fatalf("accepted bad address %+v", e)
			}
			if checkBatch(e.Batch) != nil {
				t.Fatalf("accepted a malformed Batch %q", e.Batch)
			}
			if seen[strings.ToLower(e.Address)] {
				t.Fatalf("accepted duplicate %q", e.Address)
			}
			seen[strings.ToLower(e.Address)] = true
			if e.Line <= last {
				t.Fatalf("line numbers out of order: %d after %d", e.Line, last)
			}
			last = e.Line
			switch e.Location {
			case mailbox.LocationAuto, mailbox.LocationOnPrem, mailbox.LocationCloud:
			default:
				t.Fatalf("bad location %q", e.Location)
			}
		}
	})
}
