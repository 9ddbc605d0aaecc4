package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// intents follows the file's started lines to their outcome, so that a run
// can ask whether a write was begun by a process that died before saying
// how it ended. It reads the file itself, not this process's Records, so
// that it sees the lines of every process appending to the same file.
//
// Memory: only unfinished writes are held, a handful per crash; a line
// that is not a started line is decoded only while some write is open.
type intents struct {
	mu   sync.Mutex
	f    *os.File // read side of the log
	off  int64    // bytes read and applied
	open map[string]struct{}
	br   *bufio.Reader
	long []byte
	bad  int // lines that were not JSON entries, skipped
}

func openIntents(path string) (*intents, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit: open %s for reading: %w", path, err)
	}
	in := &intents{f: f, open: map[string]struct{}{}, br: bufio.NewReaderSize(f, 64<<10)}
	if err := in.catchUp(); err != nil {
		f.Close()
		return nil, err
	}
	return in, nil
}

func (in *intents) close() error {
	if err := in.f.Close(); err != nil {
		return fmt.Errorf("audit: close: %w", err)
	}
	return nil
}

var startedMark = []byte(`"outcome":"` + OutcomeStarted + `"`)

// catchUp applies the lines appended since the last call. A last line
// without its newline is being written: it is read again next time.
// Caller holds in.mu (or owns in).
func (in *intents) catchUp() error {
	if _, err := in.f.Seek(in.off, io.SeekStart); err != nil {
		return fmt.Errorf("audit: read back %s: %w", in.f.Name(), err)
	}
	in.br.Reset(in.f)
	for {
		line, err := readLine(in.br, &in.long)
		switch {
		case errors.Is(err, io.EOF):
			return nil // a complete last line ends with '\n': what is left is partial or nothing
		case errors.Is(err, ErrLineTooLong):
			return fmt.Errorf("audit: read back %s at byte %d: %w", in.f.Name(), in.off, err)
		case err != nil:
			return fmt.Errorf("audit: read back %s: %w", in.f.Name(), err)
		}
		in.off += int64(len(line)) + 1
		started := bytes.Contains(line, startedMark)
		if !started && len(in.open) == 0 {
			continue // nothing to close: skip the decoding
		}
		e, ok := keyFieldsOf(line)
		if !ok {
			in.bad++
			continue
		}
		in.apply(e)
	}
}

// keyFieldsOf takes from a line the fields intentKey and apply look at.
// A pass over a long log is one field scan per line instead of a full
// decode (about five times faster): a key pattern such as "action":" can
// only occur as a key, since inside a JSON string its quotes are escaped.
func keyFieldsOf(line []byte) (Entry, bool) {
	var e Entry
	var ok bool
	if e.Action, ok = stringField(line, `"action":"`); !ok {
		return e, false
	}
	if e.Outcome, ok = stringField(line, `"outcome":"`); !ok {
		return e, false
	}
	if e.Mailbox, ok = stringField(line, `"mailbox":"`); !ok {
		return e, false
	}
	e.Object, _ = stringField(line, `"object":"`)
	e.SourceID, _ = stringField(line, `"source_id":"`)
	e.TargetID, _ = stringField(line, `"target_id":"`)
	return e, true
}

// stringField returns the value of the string field whose key and opening
// quote are pat, unescaped.
func stringField(line []byte, pat string) (string, bool) {
	i := bytes.Index(line, []byte(pat))
	if i < 0 {
		return "", false
	}
	start := i + len(pat)
	escaped := false
	for j := start; j < len(line); j++ {
		switch line[j] {
		case '\\':
			escaped = true
			j++ // the escaped byte cannot end the string
		case '"':
			if !escaped {
				return string(line[start:j]), true
			}
			var v string
			if json.Unmarshal(line[start-1:j+1], &v) != nil {
				return "", false
			}
			return v, true
		}
	}
	return "", false
}

// apply moves a write's key in or out of the open set.
func (in *intents) apply(e Entry) {
	key, ok := intentKey(e)
	if !ok {
		return
	}
	switch {
	case Opens(e.Outcome):
		in.open[key] = struct{}{}
	case Closes(e.Outcome):
		delete(in.open, key)
	}
}

// Opens reports whether an entry of this outcome opens its write: a
// started line.
func Opens(outcome string) bool { return outcome == OutcomeStarted }

// Closes reports whether an entry of this outcome closes the write a
// started line opened: ok or skipped. An error leaves the write in doubt
// (a lost answer is an error and may have been carried out): it stays open
// until seen done or retried.
func Closes(outcome string) bool { return outcome == OutcomeOK || outcome == OutcomeSkipped }

// IntentKey names the write e describes, as Unfinished matches a started
// line with its outcome: the same key for the started line, the outcome
// and any later line about the same thing (see intentKey). ok is false for
// an entry no other line can close (an unknown action, no stamp, path or
// id). e is normalized first, as Record keeps it.
func IntentKey(e Entry) (string, bool) {
	e.normalize()
	return intentKey(e)
}

// intentKey names what a write changes, so that its started line and
// every later line about the same thing meet. An item's creation, skip
// and adoption share its stamp; a folder is its path; a read update or a
// removal is the target's id; a rule or mail its name.
func intentKey(e Entry) (string, bool) {
	var family, what string
	switch e.Action {
	case ActionItemCreate, ActionItemAdopt, ActionItemSkip:
		family, what = "item", e.SourceID
	case ActionFolderCreate:
		family, what = "folder", e.Object
	case ActionItemUpdateRead:
		family, what = "read", e.TargetID
	case ActionItemDeleteIncomplete:
		family, what = "delete", e.TargetID
	case ActionRuleCreate:
		family, what = "rule", e.Object
	case ActionMailSend:
		family, what = "mail", e.Object
	default:
		return "", false
	}
	if what == "" {
		return "", false
	}
	return family + "\x00" + strings.ToLower(strings.TrimSpace(e.Mailbox)) + "\x00" + what, true
}

// Unfinished reports whether the log holds a started line for the write e
// describes (same action family, mailbox and stamp, path or id) that no ok
// or skipped line has closed: the write was begun by a process that did
// not live to record its outcome, or ended in an error that leaves it in
// doubt. It reads what other processes appended since the last call.
//
// A caller that finds the write done on the target records its ok line
// (with a Note) instead of an adoption, so the write is on record once.
func (l *Log) Unfinished(e Entry) (bool, error) {
	key, ok := IntentKey(e)
	if !ok {
		return false, nil
	}
	in := l.intents
	in.mu.Lock()
	defer in.mu.Unlock()
	if err := in.catchUp(); err != nil {
		return false, err
	}
	_, open := in.open[key]
	return open, nil
}
