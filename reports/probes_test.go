package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestFidelityProbesInTheReport: the probe verdicts copy recorded show in
// the HTML report's copy section (escaped) and in the JSON.
func TestFidelityProbesInTheReport(t *testing.T) {
	a := &Assessment{SchemaVersion: AssessmentSchemaVersion, GeneratedAt: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC),
		Mailboxes: []MailboxAssessment{{Address: "ann@contoso.com", Location: "onprem", Readiness: Ready, Items: 10,
			Copy: &CopySummary{Status: "done", ItemsCopied: 10, SourceItems: 10, TargetItems: 10}}},
		FidelityProbes: []FidelityProbe{{Endpoints: "onprem -> cloud", Mailbox: "ann@contoso.com", Target: "ann@contoso.onmicrosoft.com",
			At: time.Date(2026, 11, 29, 7, 0, 0, 0, time.UTC), Dialect: "ews-export",
			Kinds: []FidelityKind{{Kind: "calendar", Path: "typed", Why: "the target refused <the stream>"}}}}}
	var html bytes.Buffer
	if err := Render(&html, FormatHTML, a, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="copy-probes"`, "onprem -&gt; cloud", "the target refused &lt;the stream&gt;", "<td>typed<td>"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("the HTML report lacks %q", want)
		}
	}
	var js bytes.Buffer
	if err := Render(&js, FormatJSON, a, Options{}); err != nil {
		t.Fatal(err)
	}
	var back Assessment
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.FidelityProbes) != 1 || back.FidelityProbes[0].Kinds[0].Why != "the target refused <the stream>" {
		t.Errorf("JSON round trip: %+v, %v", back.FidelityProbes, err)
	}
}
