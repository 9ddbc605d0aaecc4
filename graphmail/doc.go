// Package graphmail reaches Exchange Online mailboxes through Microsoft Graph
// v1.0 (msgraph-sdk-go and azidentity) and adapts them to the mailbox
// package's Source and Target interfaces, within Graph's per-mailbox limits.
package graphmail
