package ewstest

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

// TestGetItemBatchAnswers: GetItem of several ids, one missing, answers
// one response message per id in the order of the ids, each with its own
// item's MIME or its own error; an empty ItemIds is a schema violation,
// as the schema's NonEmptyArrayOfBaseItemIdsType makes it.
func TestGetItemBatchAnswers(t *testing.T) {
	l := newLab(t)
	ids := []string{l.ids["message"], "QUFNa0FESXxub3RoZXJl", l.ids["task"], l.ids["message"]}
	var refs strings.Builder
	for _, id := range ids {
		refs.WriteString(`<t:ItemId Id="` + id + `"/>`)
	}
	req := `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent></m:ItemShape><m:ItemIds>%s</m:ItemIds></m:GetItem>`
	code, resp := l.do(t, strings.Replace(req, "%s", refs.String(), 1))
	if code != 200 {
		t.Fatalf("HTTP %d: %s", code, resp)
	}
	msgs := messages(t, resp)
	want := [][2]string{{"Success", "NoError"}, {"Error", "ErrorItemNotFound"}, {"Success", "NoError"}, {"Success", "NoError"}}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages for %d ids: %v", len(msgs), len(ids), msgs)
	}
	for i := range want {
		if msgs[i] != want[i] {
			t.Errorf("message %d: %v, want %v", i, msgs[i], want[i])
		}
	}
	var subjects []string
	for _, m := range regexp.MustCompile(`<t:MimeContent[^>]*>([^<]*)<`).FindAllStringSubmatch(string(resp), -1) {
		b, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, regexp.MustCompile(`(?m)^Subject: (.*?)\r?$`).FindStringSubmatch(string(b))[1])
	}
	if m := subjects[0]; len(subjects) != 3 || subjects[1] != "File the report" || subjects[2] != m || m == subjects[1] {
		t.Errorf("MIME in the order %q, want the ids' order", subjects)
	}

	code, resp = l.do(t, strings.Replace(req, "%s", "", 1))
	if code != 500 || !strings.Contains(string(resp), "ErrorSchemaValidation") {
		t.Errorf("an empty ItemIds: HTTP %d %s, want a schema violation", code, resp)
	}
}
