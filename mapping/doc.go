// Package mapping knows what survives a move from Exchange Server (EWS) to
// Exchange Online (Microsoft Graph) and what does not.
//
// It holds three things, all pure functions over the neutral vocabulary of
// package mailbox, so that they can be tested without a server:
//
//   - the EWS-to-Graph capability map (Capabilities) that
//     `exmigrate capabilities` prints;
//   - inbox rule translation (TranslateRule): every EWS condition, exception
//     and action either mapped to its Graph messageRule field or named as a
//     gap with the reason;
//   - assessment findings (Assess, AssessPublicFolders) with stable codes
//     (Catalogue), a severity, a remedy and, where one exists, the
//     PowerShell or Graph call that fixes it.
//
// It also parses the folder mapping rules ("Old/Path -> New/Path") that the
// copy engine applies to folder paths.
package mapping
