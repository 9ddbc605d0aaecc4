package mapping

import (
	"bytes"
	"encoding/json"
	"testing"
)

// The finding codes are a stable interface (reports, filters, run-books):
// the golden file makes any change to the catalogue a visible diff.
func TestCatalogueGolden(t *testing.T) {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Catalogue()); err != nil {
		t.Fatal(err)
	}
	golden(t, "catalogue.golden.json", out.Bytes())
}
