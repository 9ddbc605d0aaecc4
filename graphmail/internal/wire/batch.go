package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A JSON $batch of creates is built and read here by hand: its answer holds
// every created message in full (bodies included), of which a copy needs
// only the id. encoding/json would check and copy every byte of those
// bodies twice; the scanner below skips them with a search for the next
// quote, at memory speed.

// BatchStep is one request of a $batch.
type BatchStep struct {
	ID      string
	Method  string
	URL     string // relative to the version root: /users/...
	Headers map[string]string
	Body    []byte // a JSON value, sent as it is; nil for none
}

// AppendBatch appends the JSON $batch request of steps to dst.
func AppendBatch(dst []byte, steps []BatchStep) []byte {
	dst = append(dst, `{"requests":[`...)
	for i, s := range steps {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"id":`...)
		dst = appendString(dst, s.ID)
		dst = append(dst, `,"method":`...)
		dst = appendString(dst, s.Method)
		dst = append(dst, `,"url":`...)
		dst = appendString(dst, s.URL)
		if len(s.Headers) > 0 {
			dst = append(dst, `,"headers":{`...)
			first := true
			for _, k := range slices.Sorted(maps.Keys(s.Headers)) {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = appendString(dst, k)
				dst = append(dst, ':')
				dst = appendString(dst, s.Headers[k])
			}
			dst = append(dst, '}')
		}
		if s.Body != nil {
			dst = append(dst, `,"body":`...)
			dst = append(dst, s.Body...)
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // strings always marshal
	return append(dst, b...)
}

// BatchAnswer is one step's answer in a $batch response.
type BatchAnswer struct {
	ID      string
	Status  int
	Headers map[string]string // the string-valued headers
	Body    []byte            // the raw JSON value (aliases the input), nil when absent
}

// Header returns the header named name, compared without case.
func (a BatchAnswer) Header(name string) string {
	if v, ok := a.Headers[name]; ok {
		return v
	}
	for k, v := range a.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// ErrBatchAnswer is a $batch answer that is not one: not JSON, or without
// its responses.
var ErrBatchAnswer = errors.New("malformed $batch answer")

// ParseBatchAnswers reads a $batch response: {"responses":[{id, status,
// headers, body}, ...]}. Members other than these are skipped; a member
// given twice counts as its last.
func ParseBatchAnswers(data []byte) ([]BatchAnswer, error) {
	s := scanner{b: data}
	var out []BatchAnswer
	found := false
	err := s.object(func(key string) error {
		if key != "responses" {
			return s.skip()
		}
		found = true
		out = out[:0]
		return s.array(func() error {
			var a BatchAnswer
			var idSeen, statusSeen bool
			err := s.object(func(key string) error {
				var err error
				switch key {
				case "id":
					a.ID, err = s.str()
					idSeen = true
				case "status":
					a.Status, err = s.integer()
					statusSeen = true
				case "headers":
					a.Headers, err = s.headers()
				case "body":
					start := s.ws()
					if err = s.skip(); err == nil {
						a.Body = s.b[start:s.i]
					}
				default:
					err = s.skip()
				}
				return err
			})
			if err != nil {
				return err
			}
			if !idSeen || !statusSeen {
				return fmt.Errorf("%w: a response without its id or status", ErrBatchAnswer)
			}
			out = append(out, a)
			return nil
		})
	})
	if err == nil {
		s.ws()
		if s.i != len(s.b) {
			err = fmt.Errorf("%w: data after the answer at byte %d", ErrBatchAnswer, s.i)
		}
	}
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: no responses", ErrBatchAnswer)
	}
	return out, nil
}

// BodyID returns the string member "id" of a JSON object (a created
// item's answer); "" when it has none. An id that is not a string is an
// error (the last of a repeated member counts).
func BodyID(body []byte) (string, error) {
	s := scanner{b: body}
	var id string
	notString := false
	err := s.object(func(key string) error {
		if key != "id" {
			return s.skip()
		}
		if notString = s.peek() != '"'; notString {
			return s.skip()
		}
		var err error
		id, err = s.str()
		return err
	})
	if err == nil && notString {
		err = fmt.Errorf("%w: the id is not a string", ErrBatchAnswer)
	}
	if err == nil {
		s.ws()
		if s.i != len(s.b) {
			err = fmt.Errorf("%w: data after the body at byte %d", ErrBatchAnswer, s.i)
		}
	}
	if err != nil {
		return "", err
	}
	return id, nil
}

// scanner reads JSON from b at i. It checks the structure and the strings
// it decodes; the values it skips are checked for their delimiters only.
type scanner struct {
	b     []byte
	i     int
	depth int
}

// maxDepth bounds the nesting the scanner follows (encoding/json's bound).
const maxDepth = 10000

func (s *scanner) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", ErrBatchAnswer, what, s.i)
}

// ws skips white space and returns where the next token starts.
func (s *scanner) ws() int {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return s.i
		}
	}
	return s.i
}

func (s *scanner) peek() byte {
	if s.ws() < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// object reads an object, calling member with each key; member reads
// the value.
func (s *scanner) object(member func(key string) error) error {
	if s.peek() != '{' {
		return s.fail("want an object")
	}
	s.i++
	if s.depth++; s.depth > maxDepth {
		return s.fail("nested too deep")
	}
	defer func() { s.depth-- }()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return s.fail("want ':'")
		}
		s.i++
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail("want ',' or '}'")
		}
	}
}

// array reads an array, calling elem for each element.
func (s *scanner) array(elem func() error) error {
	if s.peek() != '[' {
		return s.fail("want an array")
	}
	s.i++
	if s.depth++; s.depth > maxDepth {
		return s.fail("nested too deep")
	}
	defer func() { s.depth-- }()
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.fail("want ',' or ']'")
		}
	}
}

// stringEnd returns the index of the quote closing the string whose
// opening quote is at s.i, and whether it holds an escape.
func (s *scanner) stringEnd() (int, bool, error) {
	escaped := false
	j := s.i + 1
	for {
		k := bytes.IndexByte(s.b[j:], '"')
		if k < 0 {
			return 0, false, s.fail("unterminated string")
		}
		q := j + k
		n := 0 // backslashes before the quote
		for p := q - 1; p > s.i && s.b[p] == '\\'; p-- {
			n++
		}
		if !escaped && bytes.IndexByte(s.b[j:q], '\\') >= 0 {
			escaped = true
		}
		if n%2 == 0 {
			return q, escaped, nil
		}
		j = q + 1
	}
}

// str reads a string.
func (s *scanner) str() (string, error) {
	if s.peek() != '"' {
		return "", s.fail("want a string")
	}
	end, escaped, err := s.stringEnd()
	if err != nil {
		return "", err
	}
	raw := s.b[s.i : end+1]
	s.i = end + 1
	if !escaped {
		for _, c := range raw {
			if c < 0x20 {
				return "", s.fail("control character in a string")
			}
		}
		if !utf8.Valid(raw) {
			// encoding/json replaces invalid bytes; so does its decoder here.
			var v string
			_ = json.Unmarshal(raw, &v)
			return v, nil
		}
		return string(raw[1 : len(raw)-1]), nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", s.fail("bad string escape")
	}
	return v, nil
}

// integer reads a number that is a whole int.
func (s *scanner) integer() (int, error) {
	start := s.ws()
	if err := s.number(); err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(string(s.b[start:s.i]))
	if err != nil {
		return 0, s.fail("want a whole number")
	}
	return n, nil
}

func (s *scanner) number() error {
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			s.i++
			continue
		}
		break
	}
	if !json.Valid(s.b[start:s.i]) {
		return s.fail("bad number")
	}
	return nil
}

// headers reads an object of headers, keeping those whose values are
// strings.
func (s *scanner) headers() (map[string]string, error) {
	h := map[string]string{}
	err := s.object(func(key string) error {
		if s.peek() != '"' {
			delete(h, key)
			return s.skip()
		}
		v, err := s.str()
		h[key] = v
		return err
	})
	return h, err
}

// skip passes over one value.
func (s *scanner) skip() error {
	switch c := s.peek(); {
	case c == '{':
		return s.object(func(string) error { return s.skip() })
	case c == '[':
		return s.array(s.skip)
	case c == '"':
		end, _, err := s.stringEnd()
		s.i = end + 1
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return s.number()
	}
	return s.fail("want a value")
}

func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(lit)) {
		return s.fail("bad literal")
	}
	s.i += len(lit)
	return nil
}
