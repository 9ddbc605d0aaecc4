package graphtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
)

// Every item the fake holds has a MAPI search key (PR_SEARCH_KEY, 0x300B):
// 16 new random bytes when the item is created through the mail,
// calendar, contacts or To Do APIs (or a fixture), the stream's when an
// import brings one (a full-fidelity copy keeps it, as Exchange keeps an
// item's search key when it copies it). It is not stored among the
// item's ExtendedProperties, which hold what clients wrote: it is
// computed into the singleValueExtendedProperties a request expands, as
// Integer 0x0E08 is for messages.

// searchKeyProp is the search key's id in Graph's extended-property syntax.
const searchKeyProp = "Binary 0x300B"

// searchKeyLen is the length of the search keys the fake makes.
const searchKeyLen = 16

// newSearchKey is a fresh search key.
func newSearchKey() []byte {
	b := make([]byte, searchKeyLen)
	if _, err := rand.Read(b); err != nil {
		panic("graphtest: no randomness for a search key: " + err.Error())
	}
	return b
}

// ensureSearchKey gives an item its search key when it has none yet.
func ensureSearchKey(k *[]byte) {
	if len(*k) == 0 {
		*k = newSearchKey()
	}
}

// withSearchKey is ext with the search key added (base64, as Graph
// serializes Binary properties); ext itself is not changed.
func withSearchKey(ext map[string]string, key []byte) map[string]string {
	if len(key) == 0 {
		return ext
	}
	out := maps.Clone(ext)
	if out == nil {
		out = map[string]string{}
	}
	out[searchKeyProp] = base64.StdEncoding.EncodeToString(key)
	return out
}

// searchKeyFromStream reads a fakestream SearchKey (hex): "" is none (a
// new key is made), anything else must be hex of 1 to 255 bytes.
func searchKeyFromStream(h string) ([]byte, error) {
	if h == "" {
		return newSearchKey(), nil
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) == 0 || len(b) > 255 {
		return nil, fmt.Errorf("the stream's search key %q is not hex of 1 to 255 bytes", h)
	}
	return b, nil
}

// SearchKey is the search key (hex, lower case) of an item given by its
// id in the mail, contacts, calendar or To Do API, or "" when the mailbox
// holds no such item.
func (f *MailboxFixture) SearchKey(apiID string) string {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return hex.EncodeToString(searchKeyOf(f.mb.ieLookupAny(apiID)))
}

// ieLookupAny finds an item of any kind by its store id.
func (mb *mbox) ieLookupAny(apiID string) any {
	for _, k := range []byte{ieMessage, ieContact, ieEvent, ieTask} {
		if x := mb.ieLookup(k, apiID); x != nil {
			return x
		}
	}
	return nil
}

// searchKeyOf is the search key of an item of the store.
func searchKeyOf(x any) []byte {
	switch x := x.(type) {
	case *Message:
		return x.SearchKey
	case *Contact:
		return x.SearchKey
	case *calEvent:
		return x.SearchKey
	case *todoTask:
		return x.SearchKey
	}
	return nil
}
