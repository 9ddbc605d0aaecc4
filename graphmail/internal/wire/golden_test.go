package wire

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestCreateGolden pins the JSON a message create sends for a typical MIME
// message: recipients, x- headers, the flags, dates and the source stamp.
func TestCreateGolden(t *testing.T) {
	raw := "From: \"Bob Sender\" <bob@fabrikam.example>\r\nTo: Alice <alice@contoso.example>\r\nCc: carol@contoso.example\r\n" +
		"Subject: Quarterly figures\r\nMessage-ID: <q1@fabrikam.example>\r\nDate: Wed, 01 May 2019 09:59:00 +0000\r\n" +
		"X-Mailer: Outlook\r\nImportance: high\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Figures attached.</p>\r\n" +
		"--b\r\nContent-Type: text/csv; name=q1.csv\r\nContent-Disposition: attachment; filename=q1.csv\r\n\r\na,b\r\n1,2\r\n--b--\r\n"
	p, err := ParseMIME(strings.NewReader(raw), 1<<20, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	item := mailbox.Item{IsRead: true, Received: time.Date(2019, 5, 1, 10, 0, 0, 0, time.UTC), Flag: mailbox.Flagged, Categories: []string{"Finance"}}
	body, later, err := PlanCreate(BuildCreate(mailbox.Message{Item: item, SourceID: "ews:AAMkQ1"}, p, "String {9d4b5a3e-6f0c-4c51-9a57-6b8e2f1d7c42} Name ExmigrateSourceId"), p.Parts)
	if err != nil || len(later) != 0 {
		t.Fatalf("plan: %v, %d attachments left", err, len(later))
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden := filepath.Join("testdata", "create_basic.golden.json")
	if *update {
		if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("create JSON differs from %s:\n%s", golden, pretty.String())
	}
}
