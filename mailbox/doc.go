// Package mailbox is the neutral vocabulary that both protocol adapters (ews
// for Exchange Server, graphmail for Exchange Online) and the engines above
// them (dispatch, mapping, reports) speak: folders, items, rules, findings,
// and the small interfaces the copy engine reads from and writes to.
//
// It imports nothing from the protocol packages; they adapt themselves to it.
package mailbox
