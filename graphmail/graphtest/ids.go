package graphtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"
)

// Graph ids of Outlook items are an Exchange store entry id in URL-safe
// base64 with '=' padding, e.g. "AAMkADU1...AAEIAAA=" (learn.microsoft.com
// /graph/outlook-immutable-id shows the shape). The fake's ids have the same
// alphabet and padding, so a client that puts one into a URL unescaped, or
// splits a path on it, is caught here and not only against Graph.

// idPrefix is the start of every entry id the fake issues: the bytes
// behind Exchange's "AAMkA".
var idPrefix = [4]byte{0x00, 0x03, 0x24, 0x00}

// idKinds maps the prefixes older code passed to nextID to a kind byte,
// so that ids of different kinds differ in their first characters.
var idKinds = map[string]byte{"AAMkF": 1, "AAMkM": 2, "AAMkA": 3, "AQAAAJ": 4, "US": 5, "T": 6, "AAMkC": 7, "AAMkCF": 8, "AAMkCAL": 9, "AAMkE": 10, "AAMkTL": 11, "AAMkT": 12}

// nextID returns a new id of the kind named by prefix: 32 bytes (prefix,
// kind, sequence, 16 random bytes and 3 bytes that encode as "----__" in
// URL-safe base64), 44 characters ending in '='.
func (s *Server) nextID(prefix string) string {
	s.seq++
	var b [32]byte
	copy(b[:4], idPrefix[:])
	b[4] = idKinds[prefix]
	binary.BigEndian.PutUint64(b[5:13], uint64(s.seq))
	_, _ = rand.Read(b[13:27])
	// 0xFBEFBE is "----" and 0xFFFF "__8=": every id carries both
	// characters that standard base64 spells '+' and '/'.
	b[27], b[28], b[29], b[30], b[31] = 0xFB, 0xEF, 0xBE, 0xFF, 0xFF
	return base64.URLEncoding.EncodeToString(b[:])
}

// wellFormedID reports whether id could be a Graph id: base64 in either
// alphabet, padded or not. Exchange answers an id that does not decode
// with 400 ErrorInvalidIdMalformed "Id is malformed." (reported, e.g.
// microsoft-graph-docs-contrib#106, invictus-ir/Microsoft-Extractor-Suite#146),
// and one that decodes but names nothing with 404 ErrorItemNotFound.
func wellFormedID(id string) bool {
	if id == "" || strings.ContainsAny(id, " \t\r\n") {
		return false
	}
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.StdEncoding, base64.RawURLEncoding, base64.RawStdEncoding} {
		if b, err := enc.Strict().DecodeString(id); err == nil && len(b) > 0 {
			return true
		}
	}
	return false
}

// notFoundOrMalformed answers for an id the store does not hold: 400
// ErrorInvalidIdMalformed when it cannot be an id, else 404 ErrorItemNotFound.
func notFoundOrMalformed(w http.ResponseWriter, id string) {
	if !wellFormedID(id) {
		graphError(w, http.StatusBadRequest, "ErrorInvalidIdMalformed", "Id is malformed.")
		return
	}
	graphError(w, http.StatusNotFound, "ErrorItemNotFound", "The specified object was not found in the store.")
}
