// Package mailbox is the contract between the backends (ews for Exchange
// Server, graphmail for Exchange Online, memory for tests) and the engines
// above them: stores, folders and items of every kind, content formats,
// the capabilities each side declares, the sentinel errors and the one
// retry decision, and the small interfaces the copy engine reads from and
// writes to. mailbox/mailboxtest holds every backend to it.
//
// It imports nothing from the protocol packages; they adapt themselves to
// it. The assessment and report schema lives in package reports.
package mailbox
