package reports

import (
	"fmt"
	"strings"
)

// CSVFormat shapes the CSV files for the spreadsheet that opens them. The
// zero value is RFC 4180: comma-separated, "." decimals, CRLF line ends,
// with a UTF-8 byte order mark.
//
// Excel splits a CSV file it opens by double-click on the list separator
// of the Windows region, and reads numbers with its decimal separator: in
// regions that write 1,58 (German, French ...) the separator is ";", so a
// comma-separated file lands in one column and 1.58 is text or a date.
type CSVFormat struct {
	// Separator is the field separator; 0 means ','.
	Separator rune
	// DecimalComma writes decimals as 1,58 instead of 1.58.
	DecimalComma bool
	// NoBOM leaves out the UTF-8 byte order mark, which Excel needs to
	// read the file as UTF-8 rather than the local code page, and which
	// some scripts do not expect.
	NoBOM bool
}

func (f CSVFormat) separator() rune {
	if f.Separator == 0 {
		return ','
	}
	return f.Separator
}

// decimal writes a number formatted with a "." in the format's decimal
// separator.
func (f CSVFormat) decimal(s string) string {
	if f.DecimalComma {
		return strings.Replace(s, ".", ",", 1)
	}
	return s
}

// decimalCommaLanguages write decimals with a comma (CLDR), so Excel in
// those regions separates lists with ";".
var decimalCommaLanguages = map[string]bool{
	"af": true, "az": true, "be": true, "bg": true, "bs": true, "ca": true, "cs": true, "da": true, "de": true,
	"el": true, "es": true, "et": true, "eu": true, "fi": true, "fo": true, "fr": true, "gl": true, "hr": true,
	"hu": true, "hy": true, "id": true, "is": true, "it": true, "ka": true, "kk": true, "lt": true, "lv": true,
	"mk": true, "nb": true, "nl": true, "nn": true, "no": true, "pl": true, "pt": true, "ro": true, "ru": true,
	"sk": true, "sl": true, "sq": true, "sr": true, "sv": true, "tr": true, "uk": true, "uz": true, "vi": true,
}

// pointRegions write decimals with a point although their language
// usually does not: Switzerland and Liechtenstein, and the Spanish of
// Mexico, the United States and Central America.
var pointRegions = map[string]bool{
	"CH": true, "LI": true, "MX": true, "US": true, "PR": true, "DO": true, "GT": true, "HN": true,
	"NI": true, "PA": true, "SV": true, "PE": true,
}

// CSVFormatForLocale is the CSV format for a POSIX or BCP 47 locale name
// such as "de_DE.UTF-8", "fr-FR" or "en_US": ";" and "," for the locales
// that write decimals with a comma, RFC 4180 for the others. "", "C",
// "POSIX" and "rfc4180" are RFC 4180; a name that is not a locale at all
// is an error.
func CSVFormatForLocale(name string) (CSVFormat, error) {
	loc := strings.TrimSpace(name)
	if i := strings.IndexAny(loc, ".@"); i >= 0 {
		loc = loc[:i] // codeset and modifier
	}
	switch strings.ToLower(loc) {
	case "", "c", "posix", "rfc4180":
		return CSVFormat{}, nil
	}
	lang, region, _ := strings.Cut(strings.ReplaceAll(loc, "-", "_"), "_")
	if len(region) > 2 { // de_Latn_DE: a script subtag first
		if _, r, ok := strings.Cut(region, "_"); ok {
			region = r
		}
	}
	if !isLetters(lang, 2, 3) || (region != "" && !isLetters(region, 2, 3) && !isDigits(region, 3)) {
		return CSVFormat{}, fmt.Errorf("CSV locale %q: not a locale name such as de_DE, fr-FR or en_US (or C for RFC 4180)", name)
	}
	if decimalCommaLanguages[strings.ToLower(lang)] && !pointRegions[strings.ToUpper(region)] {
		return CSVFormat{Separator: ';', DecimalComma: true}, nil
	}
	return CSVFormat{}, nil
}

// LocaleFromEnv returns the locale that decides number formats, as POSIX
// ranks the variables: LC_ALL, then LC_NUMERIC, then LANG; the first that
// is set, and which one it was.
func LocaleFromEnv(getenv func(string) string) (locale, variable string) {
	for _, v := range []string{"LC_ALL", "LC_NUMERIC", "LANG"} {
		if l := getenv(v); l != "" {
			return l, v
		}
	}
	return "", ""
}

// ParseCSVSeparator reads a separator given by name or as itself: ",",
// ";", "tab" (or a tab), "|".
func ParseCSVSeparator(s string) (rune, error) {
	switch strings.ToLower(s) {
	case ",", "comma":
		return ',', nil
	case ";", "semicolon":
		return ';', nil
	case "\t", "tab", `\t`:
		return '\t', nil
	case "|", "pipe":
		return '|', nil
	}
	return 0, fmt.Errorf("CSV separator %q: use comma, semicolon, tab or pipe", s)
}

func isLetters(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
