// Package engine runs copy passes between two mailboxes through the
// mailbox contract alone, blind to protocols: it plans each store and kind
// from the sides' declared capabilities, copies items with a stamp and a
// record in the state store so that no crash loses or duplicates anything,
// and reports what it could not carry with the reason.
package engine
