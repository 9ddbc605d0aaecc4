package mapping

import (
	"errors"
	"fmt"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// FolderMappingRule moves a source folder (and everything below it) to
// another path on the target. From and To are folder paths in the form of
// mailbox.Folder.Path: display names joined by "/", with "/" and "\" in a
// name escaped by a backslash.
type FolderMappingRule struct {
	From string
	To   string
}

// FolderMappings is an ordered list of rules. The rule with the longest
// matching From wins; among equally long ones, the first.
type FolderMappings []FolderMappingRule

// ErrFolderMapping is matched (errors.Is) by every error of
// ParseFolderMapping, so that a caller can tell a bad rule from other errors.
var ErrFolderMapping = errors.New("invalid folder mapping")

// FolderMappingError says what is wrong with one folder mapping rule.
type FolderMappingError struct {
	Rule   string
	Reason string
}

func (e *FolderMappingError) Error() string {
	return fmt.Sprintf("folder mapping %q: %s (write it as \"Old/Path -> New/Path\")", e.Rule, e.Reason)
}

// Is makes errors.Is(err, ErrFolderMapping) true.
func (e *FolderMappingError) Is(target error) bool { return target == ErrFolderMapping }

// ParseFolderMapping parses a rule written as "Old/Path -> New/Path".
//
// A backslash escapes the next character, so "Projects\/2024" is one folder
// named "Projects/2024" and "A \-> B" is a folder named "A -> B". Spaces
// around the arrow and around each folder name are ignored, and so are a
// leading or trailing "/". Names are compared without regard to case when
// the rule is applied, as Exchange does.
func ParseFolderMapping(s string) (FolderMappingRule, error) {
	fail := func(format string, a ...any) (FolderMappingRule, error) {
		return FolderMappingRule{}, &FolderMappingError{Rule: s, Reason: fmt.Sprintf(format, a...)}
	}
	arrow := -1
	escaped := false
	for i := 0; i < len(s); i++ {
		switch {
		case escaped:
			escaped = false
		case s[i] == '\\':
			escaped = true
		case s[i] == '-' && i+1 < len(s) && s[i+1] == '>':
			if arrow >= 0 {
				return fail(`more than one "->"; escape a "->" that belongs to a folder name as "\->"`)
			}
			arrow = i
			i++
		}
	}
	if escaped {
		return fail("it ends with a lone backslash")
	}
	if arrow < 0 {
		return fail(`no "->" between the source and the target path`)
	}
	from, err := parseMappingPath(s[:arrow])
	if err != nil {
		return fail("source path: %v", err)
	}
	to, err := parseMappingPath(s[arrow+2:])
	if err != nil {
		return fail("target path: %v", err)
	}
	return FolderMappingRule{From: from, To: to}, nil
}

// ParseFolderMappings parses several rules; the error names every bad one.
func ParseFolderMappings(specs []string) (FolderMappings, error) {
	var (
		m    FolderMappings
		errs []error
	)
	for _, s := range specs {
		r, err := ParseFolderMapping(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m = append(m, r)
	}
	return m, errors.Join(errs...)
}

// parseMappingPath turns the text on one side of the arrow into a
// canonical folder path.
func parseMappingPath(s string) (string, error) {
	var (
		names []string
		cur   strings.Builder
		raw   strings.Builder // the segment as written, to tell "" from `\ `
	)
	flush := func() {
		names = append(names, trimName(cur.String(), raw.String()))
		cur.Reset()
		raw.Reset()
	}
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			raw.WriteRune('x') // an escaped character is never trimmed away
			escaped = false
		case r == '\\':
			escaped = true
		case r == '/':
			flush()
		default:
			cur.WriteRune(r)
			raw.WriteRune(r)
		}
	}
	flush()
	// A leading or trailing "/" is forgiven; an empty name inside is not.
	if len(names) > 1 && names[0] == "" {
		names = names[1:]
	}
	if len(names) > 1 && names[len(names)-1] == "" {
		names = names[:len(names)-1]
	}
	path := ""
	for i, n := range names {
		if n == "" {
			if len(names) == 1 {
				return "", errors.New("it is empty")
			}
			return "", fmt.Errorf("folder name %d is empty", i+1)
		}
		if strings.ContainsFunc(n, isControl) {
			return "", fmt.Errorf("folder name %q contains a control character", n)
		}
		path = mailbox.JoinPath(path, n)
	}
	return path, nil
}

// trimName trims the unescaped white space around a name. raw is the name as
// written with every escaped character replaced by 'x', rune for rune.
func trimName(name, raw string) string {
	nr, rr := []rune(name), []rune(raw)
	start, end := 0, len(rr)
	for start < end && isSpace(rr[start]) {
		start++
	}
	for end > start && isSpace(rr[end-1]) {
		end--
	}
	return string(nr[start:end])
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' }

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// String writes the rule back in the form ParseFolderMapping reads.
func (r FolderMappingRule) String() string {
	return formatMappingPath(r.From) + " -> " + formatMappingPath(r.To)
}

// formatMappingPath escapes what the parser would otherwise take as syntax:
// "->" inside a name and white space at the ends of a name.
func formatMappingPath(path string) string {
	segs := splitPath(path)
	for i, seg := range segs {
		n := []rune(unescapeName(seg))
		var b strings.Builder
		for j, c := range n {
			switch {
			case c == '\\' || c == '/':
				b.WriteString(`\`)
			case c == '>' && j > 0 && n[j-1] == '-':
				b.WriteString(`\`)
			case isSpace(c) && (j == 0 || j == len(n)-1):
				b.WriteString(`\`)
			}
			b.WriteRune(c)
		}
		segs[i] = b.String()
	}
	return strings.Join(segs, "/")
}

// Apply returns the target path for a source folder path: the longest
// matching rule's To followed by the rest of the path, or path itself when
// no rule matches.
func (m FolderMappings) Apply(path string) string {
	out, _ := m.Lookup(path)
	return out
}

// Lookup is Apply that also says whether a rule matched, which comparing
// the result with path cannot tell (a rule may map a folder to itself or
// change only the case of its name).
func (m FolderMappings) Lookup(path string) (string, bool) {
	segs := splitPath(path)
	best, bestLen := -1, -1
	for i, r := range m {
		from := splitPath(r.From)
		if len(from) <= bestLen || len(from) > len(segs) {
			continue
		}
		match := true
		for j := range from {
			if !strings.EqualFold(unescapeName(from[j]), unescapeName(segs[j])) {
				match = false
				break
			}
		}
		if match {
			best, bestLen = i, len(from)
		}
	}
	if best < 0 {
		return path, false
	}
	out := m[best].To
	for _, s := range segs[bestLen:] {
		if out == "" {
			out = s
		} else {
			out += mailbox.PathSeparator + s
		}
	}
	return out, true
}

// splitPath splits a Folder.Path into its escaped names; the root is no
// names at all.
func splitPath(path string) []string {
	if path == "" {
		return nil
	}
	var (
		segs    []string
		start   int
		escaped bool
	)
	for i := 0; i < len(path); i++ {
		switch {
		case escaped:
			escaped = false
		case path[i] == '\\':
			escaped = true
		case path[i] == '/':
			segs = append(segs, path[start:i])
			start = i + 1
		}
	}
	return append(segs, path[start:])
}

// unescapeName undoes mailbox.EscapeName.
func unescapeName(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	escaped := false
	for _, r := range s {
		if !escaped && r == '\\' {
			escaped = true
			continue
		}
		escaped = false
		b.WriteRune(r)
	}
	return b.String()
}
