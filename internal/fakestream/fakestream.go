// Package fakestream is the full-fidelity item stream of exmigrate's two
// fakes: what the EWS fake's ExportItems and the Graph fake's exportItems
// return as an item's opaque data, and what their UploadItems and import
// take back. The real services' stream (a FastTransfer stream,
// MS-OXCFXICS) is opaque to clients, and so is this one: only the fakes
// import this package; the clients pass the bytes through untouched.
//
// One format serves both fakes so that a lab can rehearse both outcomes of
// the fidelity probe: whether the Graph fake accepts a stream the EWS fake
// exported is the lab's switch, not an accident of formats.
package fakestream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Dialects: which fake exported a stream.
const (
	DialectEWS   = "ews"
	DialectGraph = "graph"
)

// Item is everything a fake holds of one item, in a form both fakes map
// their own store to and from. A field a fake does not hold stays empty.
type Item struct {
	Dialect    string             `json:"dialect"`
	Class      string             `json:"class"`
	Subject    string             `json:"subject,omitempty"`
	IsRead     bool               `json:"isRead,omitempty"`
	IsDraft    bool               `json:"isDraft,omitempty"`
	Received   time.Time          `json:"received,omitzero"`
	Sent       time.Time          `json:"sent,omitzero"`
	Created    time.Time          `json:"created,omitzero"`
	Importance mailbox.Importance `json:"importance,omitempty"`
	Categories []string           `json:"categories,omitempty"`
	Flag       mailbox.FlagStatus `json:"flag,omitempty"`
	// SearchKey is the item's MAPI search key (PR_SEARCH_KEY, hex): a
	// full-fidelity import keeps it, as Exchange keeps it when it copies
	// an item; every other write gets a new one.
	SearchKey string `json:"searchKey,omitempty"`
	// MIME is the item's RFC 5322 content, for mail and the items a fake
	// keeps as MIME (notes, journal entries).
	MIME []byte `json:"mime,omitempty"`
	// The typed properties of a calendar item, task, contact or group.
	Event   *mailbox.Event        `json:"event,omitempty"`
	Task    *mailbox.Task         `json:"task,omitempty"`
	Contact *mailbox.Contact      `json:"contact,omitempty"`
	Group   *mailbox.ContactGroup `json:"group,omitempty"`
	// Ext are the item's extended (MAPI) properties by the fake's own key,
	// the properties only a full-fidelity path carries.
	Ext map[string]string `json:"ext,omitempty"`
}

// magic starts every stream, so that a fake refuses bytes that are not one.
var magic = []byte("EXMFF1\n")

// ErrNotAStream is wrapped by Decode's errors.
var ErrNotAStream = errors.New("not a full-fidelity item stream of the exmigrate fakes")

// Encode is the stream of it.
func Encode(it Item) ([]byte, error) {
	if it.Dialect != DialectEWS && it.Dialect != DialectGraph {
		return nil, fmt.Errorf("fakestream: unknown dialect %q", it.Dialect)
	}
	body, err := json.Marshal(it)
	if err != nil {
		return nil, err
	}
	return append(append([]byte{}, magic...), body...), nil
}

// Decode reads a stream written by Encode.
func Decode(data []byte) (Item, error) {
	rest, ok := bytes.CutPrefix(data, magic)
	if !ok {
		return Item{}, ErrNotAStream
	}
	var it Item
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&it); err != nil {
		return Item{}, fmt.Errorf("%w: %v", ErrNotAStream, err)
	}
	if it.Dialect != DialectEWS && it.Dialect != DialectGraph {
		return Item{}, fmt.Errorf("%w: dialect %q", ErrNotAStream, it.Dialect)
	}
	if it.Class == "" {
		return Item{}, fmt.Errorf("%w: no item class", ErrNotAStream)
	}
	return it, nil
}
