// Package audit keeps the record of every write exmigrate makes to a
// mailbox: an append-only file of JSON lines, one per folder created, item
// created or updated, rule created or mail sent, naming who wrote what where
// and how it ended.
//
// A write has two lines: one with outcome "started", appended before the
// request is sent, and one with its outcome after. A process killed in
// between leaves the write on record by its started line, and the next run
// that finds the write done (an item's stamp on the target, a folder of that
// path) appends the outcome with a note (see Unfinished). So every write
// a service received has an ok line, once the run that follows a crash has
// looked at it.
//
// What goes in is fixed by Entry: names, paths, subjects and ids, never
// message bodies, attachments or credentials. Entry has no field that could
// carry a credential or a body, and Record scrubs the free-text fields
// (Object and Error) of the shapes a credential takes in an error message:
// URL query strings (Graph upload URLs carry a tempauth token), bearer
// tokens and key=value secrets.
//
// Durability: each entry is one write(2) on a file opened with O_APPEND, so
// it is in the kernel once Record returns and survives a crash of the
// process; lines of concurrent writers, in this process or another appending
// to the same file, never interleave. A background goroutine fsyncs the
// file after every syncEvery entries and every syncInterval while entries
// wait, and Close fsyncs last. An fsync per entry (or a writer waiting for
// one) would cap the copy at the disk's fsync rate for nothing a process
// crash needs; this bounds what an OS crash or power loss can take to about
// the last second, or the last syncEvery entries, whichever is less.
package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Actions: the writes exmigrate makes, and the decisions about an item
// that stand for a write (a skip, an adoption by stamp). This is the one
// vocabulary: the engine and the commands use these constants.
const (
	ActionFolderCreate   = "folder.create"
	ActionItemCreate     = "item.create"
	ActionItemUpdateRead = "item.update-read"
	// ActionItemUpdate: a typed item (contact, event, task) rewritten in
	// place with its source's new version.
	ActionItemUpdate = "item.update"
	// ActionItemSkip: an item was not written, for the reason in Error.
	ActionItemSkip = "item.skip"
	// ActionItemAdopt: an item written by an interrupted run was found on
	// the target by its stamp and recorded as copied without a new write.
	ActionItemAdopt = "item.adopt"
	// ActionItemDeleteIncomplete: a copy a failed or interrupted write
	// left half-done was removed before the item was written again.
	ActionItemDeleteIncomplete = "item.delete-incomplete"
	ActionRuleCreate           = "rule.create"
	ActionMailSend             = "mail.send"
)

// Outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeError   = "error"
	OutcomeSkipped = "skipped"
	// OutcomeStarted is the line written before a write is sent: a
	// process killed between the write and its outcome line still leaves
	// the write on record, and the next run, seeing the line unfinished,
	// confirms it (see Unfinished).
	OutcomeStarted = "started"
)

// Entry is one line of the audit log. It holds no secret and no message
// content by construction: there is no field for either (see the package
// comment), so none can be added to a line by mistake.
type Entry struct {
	// Time of the write, UTC. Record sets it to now when zero.
	Time time.Time `json:"time"`
	// Operator is the principal that did the write (CONTOSO\svc-migrate,
	// an app id). Record sets it to the Log's operator when empty.
	Operator string `json:"operator"`
	// Mailbox is the address of the mailbox written to.
	Mailbox string `json:"mailbox"`
	// Action is one of the Action constants.
	Action string `json:"action"`
	// Object names what was written: a folder path, a message subject, a
	// rule name. Never a body. Longer than maxObject runes is cut.
	Object string `json:"object,omitempty"`
	// TargetID is the id the target gave the object, when it gave one.
	TargetID string `json:"target_id,omitempty"`
	// Outcome is one of the Outcome constants.
	Outcome string `json:"outcome"`
	// Error is the message of a failed or skipped write.
	Error string `json:"error,omitempty"`
	// Note qualifies an outcome, e.g. that an ok line confirms a write an
	// interrupted run made. Fixed text from the program, never data.
	Note string `json:"note,omitempty"`

	// Optional context.
	Job      int64  `json:"job,omitempty"`       // the state store's job id
	SourceID string `json:"source_id,omitempty"` // the source identity stamped on the item
	Folder   string `json:"folder,omitempty"`    // the target folder path of an item
	Size     int64  `json:"size,omitempty"`      // bytes written
}

// Limits on the free-text fields, so that a caller passing a body or a
// huge error by mistake cannot bloat the log.
const (
	maxObject = 512
	maxError  = 2048
)

// Fsync policy; see the package comment.
const (
	syncEvery    = 100
	syncInterval = time.Second
)

// Log is an open audit file. It is safe for concurrent use.
type Log struct {
	operator string

	mu      sync.Mutex
	f       *os.File
	pending int   // entries written since the last fsync
	err     error // first fsync failure, reported by every later call
	closed  bool

	intents *intents // writes begun and not seen to finish; see Unfinished

	kick chan struct{} // asks syncLoop for an fsync now
	stop chan struct{}
	done chan struct{}
}

// ErrClosed is returned by Record and Close after Close.
var ErrClosed = errors.New("audit log is closed")

// Open opens the audit file at path for appending, creating it with mode
// 0600 (it names every mailbox touched). operator is the default principal
// for entries that do not name one.
func Open(path, operator string) (*Log, error) {
	operator = strings.TrimSpace(operator)
	if operator == "" {
		return nil, fmt.Errorf("audit: open %s: operator is required: name the principal that writes (a user or an app id)", path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open: %w", err)
	}
	// The log names mailboxes, subjects and principals: readable by its
	// owner only. A file others can read (made before, or by another tool)
	// is refused rather than silently appended to.
	if fi, err := f.Stat(); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit: open: %w", err)
	} else if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		f.Close()
		return nil, fmt.Errorf("audit: %s is readable or writable by others (mode %04o): run chmod 600 %s, or give another audit_log path", path, perm, path)
	}
	in, err := openIntents(path)
	if err != nil {
		f.Close()
		return nil, err
	}
	l := &Log{operator: operator, f: f, intents: in, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go l.syncLoop()
	return l, nil
}

// Record appends e as one line. It fills Time and Operator when empty and
// fails for an entry without mailbox, action or a known outcome.
//
// A canceled ctx does not stop the entry: it records a write that already
// happened, and a Ctrl-C must not lose it.
func (l *Log) Record(_ context.Context, e Entry) error {
	e, err := Prepare(e, l.operator)
	if err != nil {
		return err
	}
	line, err := Line(e)
	if err != nil {
		return err
	}

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("audit: record: %w", ErrClosed)
	}
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		return fmt.Errorf("audit: record: %w", err)
	}
	// One write call per line: with O_APPEND the kernel places it whole at
	// the end, so other processes appending to the file cannot split it.
	if _, err := l.f.Write(line); err != nil {
		l.mu.Unlock()
		return fmt.Errorf("audit: record %s on %s: %w", e.Action, e.Mailbox, err)
	}
	l.pending++
	due := l.pending >= syncEvery
	l.mu.Unlock()
	if due {
		// The fsync runs in syncLoop: no writer waits for the disk.
		select {
		case l.kick <- struct{}{}:
		default: // a sync is already asked for
		}
	}
	return nil
}

// Prepare makes e the entry Record keeps: Time set to now when zero and
// in UTC, Operator set to operator when empty, the free text scrubbed of
// credentials and clipped. It fails for an entry without mailbox, action,
// operator or a known outcome. Every store of the audit trail (this file,
// the PostgreSQL table) keeps what Prepare returns, so that they hold the
// same entries.
func Prepare(e Entry, operator string) (Entry, error) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	if e.Operator == "" {
		e.Operator = operator
	}
	e.normalize()
	if err := e.validate(); err != nil {
		return e, fmt.Errorf("audit: record %s on %s: %w", e.Action, e.Mailbox, err)
	}
	return e, nil
}

// Line is e as a line of the file, with its newline: the one format every
// reader of the audit trail takes (Read, an export of the table).
func Line(e Entry) ([]byte, error) {
	if y := e.Time.Year(); y >= 0 && y <= 9999 {
		return append(appendEntry(make([]byte, 0, 320), &e), '\n'), nil
	}
	line, err := json.Marshal(e) // a time JSON cannot hold: its error
	if err != nil {
		return nil, fmt.Errorf("audit: record %s on %s: %w", e.Action, e.Mailbox, err)
	}
	return append(line, '\n'), nil
}

// appendEntry writes e as json.Marshal does (TestLineAsMarshal and
// FuzzLineAsMarshal hold the two together): two lines per item written,
// and reflection was half of what an audit line cost.
func appendEntry(b []byte, e *Entry) []byte {
	b = append(b, `{"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","operator":`...)
	b = appendJSONString(b, e.Operator)
	b = append(b, `,"mailbox":`...)
	b = appendJSONString(b, e.Mailbox)
	b = append(b, `,"action":`...)
	b = appendJSONString(b, e.Action)
	b = appendOptional(b, `,"object":`, e.Object)
	b = appendOptional(b, `,"target_id":`, e.TargetID)
	b = append(b, `,"outcome":`...)
	b = appendJSONString(b, e.Outcome)
	b = appendOptional(b, `,"error":`, e.Error)
	b = appendOptional(b, `,"note":`, e.Note)
	if e.Job != 0 {
		b = strconv.AppendInt(append(b, `,"job":`...), e.Job, 10)
	}
	b = appendOptional(b, `,"source_id":`, e.SourceID)
	b = appendOptional(b, `,"folder":`, e.Folder)
	if e.Size != 0 {
		b = strconv.AppendInt(append(b, `,"size":`...), e.Size, 10)
	}
	return append(b, '}')
}

func appendOptional(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendJSONString(append(b, key...), v)
}

// appendJSONString writes s as a JSON string: as it is when it holds only
// printable ASCII that encoding/json leaves alone (nearly every value),
// else through encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// syncLoop does the fsyncs: when Record has written syncEvery entries, and
// every syncInterval while any wait. A failure is kept in l.err and fails
// every later Record, so a broken audit disk stops the writes it records.
func (l *Log) syncLoop() {
	defer close(l.done)
	t := time.NewTicker(syncInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		case <-l.kick:
		}
		l.mu.Lock()
		due := l.pending > 0
		l.pending = 0
		l.mu.Unlock()
		if !due {
			continue
		}
		// Outside the lock: writers go on during the fsync.
		if err := l.f.Sync(); err != nil {
			l.mu.Lock()
			if l.err == nil {
				l.err = fmt.Errorf("fsync %s: %w", l.f.Name(), err)
			}
			l.mu.Unlock()
		}
	}
}

// Close syncs and closes the file. Calls after the first return ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("audit: close: %w", ErrClosed)
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done

	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if cerr := l.intents.close(); err == nil {
		err = cerr
	}
	l.mu.Lock()
	if l.err != nil {
		err = errors.Join(l.err, err)
	}
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("audit: close: %w", err)
	}
	return nil
}

// normalize makes the free-text fields what the file holds: scrubbed of
// credentials and clipped.
func (e *Entry) normalize() {
	e.Object = clip(scrub(e.Object), maxObject)
	e.Error = clip(scrub(e.Error), maxError)
	e.Note = clip(scrub(e.Note), maxError)
}

func (e *Entry) validate() error {
	switch {
	case strings.TrimSpace(e.Mailbox) == "":
		return errors.New("mailbox is required")
	case strings.TrimSpace(e.Action) == "":
		return errors.New("action is required")
	case strings.TrimSpace(e.Operator) == "":
		return errors.New("operator is required")
	case e.Time.IsZero():
		return errors.New("time is required")
	}
	switch e.Outcome {
	case OutcomeOK, OutcomeError, OutcomeSkipped, OutcomeStarted:
		return nil
	}
	return fmt.Errorf("unknown outcome %q: use ok, error, skipped or started", e.Outcome)
}

// The shapes a credential takes inside an error message or a name.
var (
	// The query and fragment of a URL: Graph upload sessions, SAS URLs and
	// OAuth redirects carry tokens there. The path stays, for diagnosis.
	urlQuery = regexp.MustCompile(`(?i)(\b[a-z][a-z0-9+.-]*://[^\s?#"'<>]*)[?#][^\s"'<>]*`)
	// URL user info: scheme://user:password@host.
	urlUser = regexp.MustCompile(`(?i)(\b[a-z][a-z0-9+.-]*://)[^\s/@"'<>]+@`)
	// Authorization schemes followed by their credential.
	authScheme = regexp.MustCompile(`(?i)\b(bearer|basic|ntlm|negotiate)\s+[A-Za-z0-9+/=._~-]{8,}`)
	// key=value and key: value pairs whose key names a secret.
	// The key is a secret's name, alone or as the last part of a compound
	// (client_secret, x-api-key), so that "Design: ..." is left alone.
	secretPair = regexp.MustCompile(`(?i)\b((?:[a-z0-9]+[_-])*(?:password|passwd|pwd|secret|token|tempauth|assertion|apikey|api[_-]key|sig|signature))(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s&,;]+)`)
)

const redacted = "REDACTED"

// scrub removes credentials from free text. It errs on the side of removing
// too much: an audit line that lost a query string is still useful.
func scrub(s string) string {
	if s == "" {
		return s
	}
	// Each pattern runs only where its literal parts occur: most entries
	// are a folder and a subject with none, and four regexp passes over
	// every entry were a sixth of a copy's audit cost.
	// Case folding lets two runes outside ASCII match ASCII letters of
	// the patterns (ſ matches s, the Kelvin sign k: foldsIntoASCII), which
	// the literal checks would miss: with either, every pattern runs.
	lower, all := strings.ToLower(s), !isASCII(s) && strings.ContainsAny(s, foldsIntoASCII)
	if all || strings.Contains(s, "://") {
		s = urlQuery.ReplaceAllString(s, "${1}?"+redacted)
		s = urlUser.ReplaceAllString(s, "${1}"+redacted+"@")
	}
	if all || containsAny(lower, "bearer", "basic", "ntlm", "negotiate") {
		s = authScheme.ReplaceAllString(s, "${1} "+redacted)
	}
	if all || strings.ContainsAny(s, "=:") && containsAny(lower, "pass", "pwd", "secret", "token", "tempauth", "assertion", "api", "sig") {
		s = secretPair.ReplaceAllString(s, "${1}${2}"+redacted)
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// foldsIntoASCII are the runes outside ASCII whose case folding reaches an
// ASCII letter (TestFoldsIntoASCII derives them from the Unicode tables).
const foldsIntoASCII = "\u017f\u212a"

func containsAny(s string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// clip cuts s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// maxLine bounds one line when reading, so a damaged file cannot make Read
// hold an unbounded buffer. Record writes lines far shorter.
const maxLine = 1 << 20

// ErrLineTooLong is returned by Read for a line over 1 MiB.
var ErrLineTooLong = errors.New("line longer than 1 MiB")

// LineError is a line Read could not take.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("audit log line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Read calls fn for each entry of an audit log, in file order, streaming.
// Blank lines are skipped. It stops at the first line that is not a valid
// entry (a *LineError) or the first error from fn (returned as is).
func Read(r io.Reader, fn func(Entry) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line that did not fit the reader's buffer
	for n := 1; ; n++ {
		line, err := readLine(br, &long)
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return &LineError{Line: n, Err: err}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return &LineError{Line: n, Err: err}
		}
		if err := e.validate(); err != nil {
			return &LineError{Line: n, Err: err}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// readLine returns the next line without its newline; the last line of a
// file may lack one. The result is valid until the next call.
func readLine(br *bufio.Reader, long *[]byte) ([]byte, error) {
	*long = (*long)[:0]
	for {
		frag, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if len(*long) == 0 {
				return frag[:len(frag)-1], nil
			}
			if len(*long)+len(frag)-1 > maxLine {
				return nil, ErrLineTooLong
			}
			*long = append(*long, frag[:len(frag)-1]...)
			return *long, nil
		case errors.Is(err, bufio.ErrBufferFull):
			if len(*long)+len(frag) > maxLine {
				return nil, ErrLineTooLong
			}
			*long = append(*long, frag...)
		default: // io.EOF or a read error: whatever came before it is the last line
			*long = append(*long, frag...)
			return *long, err
		}
	}
}
