package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/exmigrate/exmigrate/mailbox"
)

// maxAssessmentBytes bounds what ReadAssessment accepts: far above any real
// assessment (5,000 mailboxes with folder statistics are a few tens of MB),
// low enough that a wrong file cannot exhaust memory.
const maxAssessmentBytes = 1 << 30

// SchemaVersionError reports an assessment whose schema_version this build
// cannot read.
type SchemaVersionError struct {
	Got       int  // the version in the file; 0 when absent
	Supported int  // the newest version this build reads
	Missing   bool // the file has no schema_version at all
}

func (e *SchemaVersionError) Error() string {
	switch {
	case e.Missing:
		return fmt.Sprintf("assessment has no schema_version: it was not written by exmigrate assess (this build reads schema_version %d)", e.Supported)
	case e.Got > e.Supported:
		return fmt.Sprintf("assessment schema_version %d is newer than this exmigrate reads (%d): upgrade exmigrate to report on it", e.Got, e.Supported)
	}
	return fmt.Sprintf("assessment schema_version %d is not a valid version (this build reads 1 to %d)", e.Got, e.Supported)
}

// ErrNotAssessment is matched (errors.Is) by the error of ReadAssessment
// when the input is not an assessment at all: malformed JSON or the wrong
// shape.
var ErrNotAssessment = errors.New("not an exmigrate assessment")

// ReadAssessment reads the JSON that `exmigrate assess` writes. It checks
// the schema_version before anything else, so that a file from a newer
// exmigrate fails with a *SchemaVersionError telling to upgrade rather than
// with a confusing type error; unknown fields are ignored, since additive
// changes keep the version. Malformed JSON is reported with its line and
// column and matches ErrNotAssessment.
func ReadAssessment(r io.Reader) (*Assessment, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxAssessmentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read assessment: %w", err)
	}
	if len(data) > maxAssessmentBytes {
		return nil, fmt.Errorf("read assessment: larger than %d bytes: %w", maxAssessmentBytes, ErrNotAssessment)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("read assessment: the input is empty: %w", ErrNotAssessment)
	}
	// One full decode in the normal case. The version is looked at on its
	// own only when something is off, so that a file from a newer exmigrate
	// (whose shape may not fit) is told apart from a malformed one.
	a := new(Assessment)
	if err := json.Unmarshal(data, a); err != nil {
		if verr := checkVersion(data); verr != nil {
			return nil, verr
		}
		return nil, jsonError(data, err)
	}
	if a.SchemaVersion < 1 || a.SchemaVersion > AssessmentSchemaVersion {
		if err := checkVersion(data); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("read assessment: %w", &SchemaVersionError{Got: a.SchemaVersion, Supported: AssessmentSchemaVersion})
	}
	return a, nil
}

// checkVersion reads only schema_version and returns why it cannot be read,
// or nil when it is one this build reads.
func checkVersion(data []byte) error {
	var probe struct {
		SchemaVersion *json.RawMessage `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return jsonError(data, err)
	}
	if probe.SchemaVersion == nil || string(*probe.SchemaVersion) == "null" {
		return fmt.Errorf("read assessment: %w", &SchemaVersionError{Supported: AssessmentSchemaVersion, Missing: true})
	}
	var version int
	if err := json.Unmarshal(*probe.SchemaVersion, &version); err != nil {
		return fmt.Errorf("read assessment: schema_version must be an integer, found %s: %w", truncate(string(*probe.SchemaVersion), 40), ErrNotAssessment)
	}
	if version < 1 || version > AssessmentSchemaVersion {
		return fmt.Errorf("read assessment: %w", &SchemaVersionError{Got: version, Supported: AssessmentSchemaVersion})
	}
	return nil
}

// jsonError turns a decoding error into one that says where the problem is.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset-1) // Offset is just past the bad byte
		return fmt.Errorf("read assessment: malformed JSON at line %d, column %d: %v: %w", line, col, syn, ErrNotAssessment)
	case errors.As(err, &typ):
		line, col := lineCol(data, typ.Offset-1)
		field := typ.Field
		if field == "" {
			field = "the top level"
		}
		return fmt.Errorf("read assessment: at line %d, column %d, %s holds a JSON %s where %s was expected: %w", line, col, field, typ.Value, typ.Type, ErrNotAssessment)
	}
	return fmt.Errorf("read assessment: %v: %w", err, ErrNotAssessment)
}

func lineCol(data []byte, offset int64) (line, col int) {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// renderJSON writes the assessment in its versioned schema, indented by two
// spaces, exactly as encoding/json would indent the whole document. Lists
// that are empty are written as [] rather than null, so that scripts can
// iterate without a check; map keys are sorted by encoding/json.
//
// The two long lists are streamed one element at a time, so that memory
// stays bounded by the largest mailbox rather than the whole output: the
// top level is encoded with both lists empty, and each "[]" is replaced by
// the elements as they are encoded. Everything else at the top level comes
// from encoding/json, so a field added to Assessment appears here
// without a change.
func renderJSON(w io.Writer, a *Assessment) error {
	top := *a
	top.SchemaVersion = AssessmentSchemaVersion
	top.GeneratedAt = top.GeneratedAt.UTC()
	top.Mailboxes = []MailboxAssessment{}
	top.Findings = []Finding{}
	var head bytes.Buffer
	if err := newJSONEncoder(&head, "").Encode(&top); err != nil {
		return err
	}
	doc := head.Bytes()
	const (
		mailboxesKey = "\n  \"mailboxes\": []"
		findingsKey  = "\n  \"findings\": []"
	)
	// A string value cannot contain a raw newline, so these byte sequences
	// can only be the top-level keys.
	mi, fi := bytes.Index(doc, []byte(mailboxesKey)), bytes.Index(doc, []byte(findingsKey))
	if mi < 0 || fi < mi {
		return errors.New("encode assessment: unexpected layout of the top level")
	}
	mEnd, fEnd := mi+len(mailboxesKey)-2, fi+len(findingsKey)-2 // at the "[]"
	var buf bytes.Buffer
	elem := newJSONEncoder(&buf, "    ")
	writeList := func(n int, encode func(i int) error) error {
		if n == 0 {
			_, err := io.WriteString(w, "[]")
			return err
		}
		for i := range n {
			sep := ",\n    "
			if i == 0 {
				sep = "[\n    "
			}
			buf.Reset()
			buf.WriteString(sep)
			if err := encode(i); err != nil {
				return err
			}
			buf.Truncate(buf.Len() - 1) // the newline Encode appends
			if _, err := w.Write(buf.Bytes()); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, "\n  ]")
		return err
	}
	noKinds := map[mailbox.Kind]int64{}
	steps := []func() error{
		func() error { _, err := w.Write(doc[:mEnd]); return err },
		func() error {
			return writeList(len(a.Mailboxes), func(i int) error {
				m := a.Mailboxes[i]
				if m.ItemsByKind == nil {
					m.ItemsByKind = noKinds // {} rather than null
				}
				return elem.Encode(&m)
			})
		},
		func() error { _, err := w.Write(doc[mEnd+2 : fEnd]); return err },
		func() error {
			return writeList(len(a.Findings), func(i int) error { return elem.Encode(&a.Findings[i]) })
		},
		func() error { _, err := w.Write(doc[fEnd+2:]); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func newJSONEncoder(w io.Writer, prefix string) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent(prefix, "  ")
	// Addresses and subjects are data, not markup: keep them readable.
	enc.SetEscapeHTML(false)
	return enc
}
