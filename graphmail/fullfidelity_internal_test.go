package graphmail

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

// importBody encodes the stream as it reads it into the body Graph's
// import takes, and refuses a stream over the limit.
func TestImportBody(t *testing.T) {
	data := bytes.Repeat([]byte("stream\x00\xff"), 100)
	b, err := importBody(`AQ"x`, bytes.NewReader(data), int64(len(data)), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	if got["FolderId"] != `AQ"x` || got["Mode"] != "create" || got["Data"] != base64.StdEncoding.EncodeToString(data) || len(got) != 3 {
		t.Errorf("body %v", got)
	}
	_, err = importBody("f", strings.NewReader("12345"), 4, 0)
	var tl *mailbox.ItemTooLargeError
	if !errors.As(err, &tl) || tl.Limit != 4 {
		t.Errorf("over the limit: %v", err)
	}
}
