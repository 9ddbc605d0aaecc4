package mailbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrBadTyped is wrapped by the errors of the typed decoders
// (DecodeContact, DecodeEvent, DecodeTask, DecodeContactGroup).
var ErrBadTyped = errors.New("malformed typed item")

// typedEnvelope names the kind and version of a typed body, so that a
// reader never takes one kind's JSON for another's.
type typedEnvelope struct {
	Kind    string          `json:"kind"`
	Version int             `json:"v"`
	Item    json.RawMessage `json:"item"`
}

// The typed shapes. A contact keeps the name it had before the others
// existed ("contacts"), so bodies written then still decode.
const (
	typedContact      = "contacts"
	typedContactGroup = "contactgroup"
	typedEvent        = "calendar"
	typedTask         = "tasks"
)

// maxTypedBytes bounds a typed body. The body carries the item's small
// attachments (see MaxTypedAttachmentBytes) and is decoded in memory, so it
// stays bounded whatever the item.
const maxTypedBytes = 16 << 20

// validator is a typed item that checks what both services refuse.
type validator interface{ Validate() error }

func encodeTyped(kind string, version int, v validator) ([]byte, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	item, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(typedEnvelope{Kind: kind, Version: version, Item: item})
}

// decodeTyped reads a body written by encodeTyped for kind and version;
// anything else fails with ErrBadTyped.
func decodeTyped[T validator](r io.Reader, kind string, version int) (T, error) {
	var zero T
	data, err := io.ReadAll(io.LimitReader(r, maxTypedBytes+1))
	if err != nil {
		return zero, err
	}
	if len(data) > maxTypedBytes {
		return zero, fmt.Errorf("%w: a typed %s item of more than %d bytes", ErrBadTyped, kind, maxTypedBytes)
	}
	var env typedEnvelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return zero, fmt.Errorf("%w: %v", ErrBadTyped, err)
	}
	if env.Kind != kind || env.Version != version {
		return zero, fmt.Errorf("%w: kind %q version %d, want %q version %d", ErrBadTyped, env.Kind, env.Version, kind, version)
	}
	var v T
	dec = json.NewDecoder(bytes.NewReader(env.Item))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return zero, fmt.Errorf("%w: %v", ErrBadTyped, err)
	}
	if err := v.Validate(); err != nil {
		return zero, err
	}
	return v, nil
}

// TypedKindOf names the shape of a typed body (contacts, contactgroup,
// calendar, tasks) without decoding the item, for a writer that takes
// more than one shape for a kind.
func TypedKindOf(data []byte) (string, error) {
	var env struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadTyped, err)
	}
	return env.Kind, nil
}

// Attachment is a file attached to a typed item (an appointment, a task),
// carried inside the typed body. Only attachments up to
// MaxTypedAttachmentBytes travel this way; a larger one is a loss the
// writer reports.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType,omitempty"`
	ContentID   string `json:"contentId,omitempty"`
	IsInline    bool   `json:"isInline,omitempty"`
	Data        []byte `json:"data"`
}

// MaxTypedAttachmentBytes is the largest attachment a typed body carries:
// the size Graph takes in one request without an upload session. Larger
// attachments are left out and reported as a loss.
const MaxTypedAttachmentBytes = 3 << 20

func validateAttachments(as []Attachment) error {
	var total int
	for _, a := range as {
		if a.Name == "" {
			return fmt.Errorf("%w: an attachment without a name", ErrBadTyped)
		}
		if len(a.Data) > MaxTypedAttachmentBytes {
			return fmt.Errorf("%w: attachment %q of %d bytes, at most %d in a typed body", ErrBadTyped, a.Name, len(a.Data), MaxTypedAttachmentBytes)
		}
		total += len(a.Data)
	}
	if total > maxTypedBytes/2 {
		return fmt.Errorf("%w: attachments of %d bytes in all, at most %d in a typed body", ErrBadTyped, total, maxTypedBytes/2)
	}
	return nil
}
