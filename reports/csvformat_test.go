package reports

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

var decimalComma = CSVFormat{Separator: ';', DecimalComma: true}

func TestCSVFormatForLocale(t *testing.T) {
	tests := []struct {
		locale string
		want   CSVFormat
		err    bool
	}{
		{"", CSVFormat{}, false},
		{"C", CSVFormat{}, false},
		{"C.UTF-8", CSVFormat{}, false},
		{"POSIX", CSVFormat{}, false},
		{"rfc4180", CSVFormat{}, false},
		{"en_US.UTF-8", CSVFormat{}, false},
		{"en_GB", CSVFormat{}, false},
		{"ja_JP.eucJP", CSVFormat{}, false},
		{"de_DE.UTF-8", decimalComma, false},
		{"de_AT", decimalComma, false},
		{"de-DE", decimalComma, false},
		{"fr_FR@euro", decimalComma, false},
		{"fr_CA", decimalComma, false},
		{"nb_NO", decimalComma, false},
		{"pt_BR", decimalComma, false},
		{"es_419", decimalComma, false},
		{"sr_Latn_RS", decimalComma, false},
		{"de", decimalComma, false},
		// Switzerland and Mexico write decimals with a point.
		{"de_CH.UTF-8", CSVFormat{}, false},
		{"fr-CH", CSVFormat{}, false},
		{"es_MX", CSVFormat{}, false},
		{"x", CSVFormat{}, true},
		{"german", CSVFormat{}, true},
		{"de_DEU_X", CSVFormat{}, true},
		{"12_34", CSVFormat{}, true},
	}
	for _, tc := range tests {
		got, err := CSVFormatForLocale(tc.locale)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("CSVFormatForLocale(%q) = %+v, %v; want %+v, error %t", tc.locale, got, err, tc.want, tc.err)
		}
	}
}

func TestLocaleFromEnv(t *testing.T) {
	tests := []struct {
		env          map[string]string
		locale, from string
	}{
		{map[string]string{}, "", ""},
		{map[string]string{"LANG": "de_DE.UTF-8"}, "de_DE.UTF-8", "LANG"},
		{map[string]string{"LANG": "de_DE.UTF-8", "LC_NUMERIC": "en_US.UTF-8"}, "en_US.UTF-8", "LC_NUMERIC"},
		{map[string]string{"LANG": "en_US", "LC_NUMERIC": "en_US", "LC_ALL": "fr_FR"}, "fr_FR", "LC_ALL"},
		{map[string]string{"LC_ALL": "", "LANG": "fr_FR"}, "fr_FR", "LANG"},
	}
	for _, tc := range tests {
		locale, from := LocaleFromEnv(func(k string) string { return tc.env[k] })
		if locale != tc.locale || from != tc.from {
			t.Errorf("LocaleFromEnv(%v) = %q from %q, want %q from %q", tc.env, locale, from, tc.locale, tc.from)
		}
	}
}

func TestParseCSVSeparator(t *testing.T) {
	for in, want := range map[string]rune{",": ',', "comma": ',', ";": ';', "Semicolon": ';', "tab": '\t', "\t": '\t', `\t`: '\t', "|": '|'} {
		if got, err := ParseCSVSeparator(in); err != nil || got != want {
			t.Errorf("ParseCSVSeparator(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "colon", ",,"} {
		if _, err := ParseCSVSeparator(in); err == nil {
			t.Errorf("ParseCSVSeparator(%q) accepted", in)
		}
	}
}

// TestCSVGoldenDecimalComma pins the CSV files as Excel in a German or
// French region opens them: ";" between cells, "," in decimals.
func TestCSVGoldenDecimalComma(t *testing.T) {
	a := loadFixture(t)
	for _, table := range []CSVTable{CSVFindings, CSVMailboxes, CSVSkipped} {
		t.Run(string(table), func(t *testing.T) {
			opts := goldenOptions()
			opts.CSVTable, opts.CSV = table, decimalComma
			var buf bytes.Buffer
			if err := Render(&buf, FormatCSV, a, opts); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, string(table)+".semicolon.csv", buf.Bytes())

			r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(buf.Bytes(), []byte(utf8BOM))))
			r.Comma = ';'
			recs, err := r.ReadAll()
			if err != nil {
				t.Fatalf("not valid ;-separated CSV: %v", err)
			}
			col := slicesIndex(recs[0], "size_mb")
			for _, rec := range recs[1:] {
				if col >= 0 && rec[col] != "" && (!strings.Contains(rec[col], ",") || strings.Contains(rec[col], ".")) {
					t.Errorf("size_mb %q is not written with a decimal comma", rec[col])
				}
			}
		})
	}
}

func TestCSVWithoutBOM(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, FormatCSV, loadFixture(t), Options{CSVTable: CSVMailboxes, CSV: CSVFormat{NoBOM: true}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("address,location,")) {
		t.Errorf("starts with %q, want the header without a byte order mark", buf.Bytes()[:20])
	}
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// FuzzParseCSVSeparator: a separator is one of the four, or an error.
func FuzzParseCSVSeparator(f *testing.F) {
	for _, s := range []string{",", ";", "tab", `\t`, "|", "pipe", "", "x", "Semicolon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseCSVSeparator(s)
		if err == nil && r != ',' && r != ';' && r != '\t' && r != '|' {
			t.Fatalf("%q: separator %q", s, r)
		}
	})
}
