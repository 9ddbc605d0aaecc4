package mailbox

import (
	"errors"
	"fmt"
	"testing"
)

func TestFolderPaths(t *testing.T) {
	tests := []struct {
		parent, name, path string
		depth              int
	}{
		{"", "Inbox", "Inbox", 1},
		{"Inbox", "Projects", "Inbox/Projects", 2},
		{"Inbox/Projects", "A/B", `Inbox/Projects/A\/B`, 3},
		{"", `C:\Temp`, `C:\\Temp`, 1},
		{`C:\\Temp`, "x", `C:\\Temp/x`, 2},
	}
	for _, tt := range tests {
		got := JoinPath(tt.parent, tt.name)
		if got != tt.path {
			t.Errorf("JoinPath(%q, %q) = %q, want %q", tt.parent, tt.name, got, tt.path)
		}
		if d := (Folder{Path: got}).Depth(); d != tt.depth {
			t.Errorf("Depth(%q) = %d, want %d", got, d, tt.depth)
		}
	}
	if (Folder{}).Depth() != 0 {
		t.Error("the root has depth 0")
	}
}

func TestKinds(t *testing.T) {
	tests := map[string]Kind{
		"": KindMail, "IPM.Note": KindMail, "ipm.note.smime": KindMail, "IPM.Schedule.Meeting.Request": KindMail,
		"REPORT.IPM.Note.NDR": KindMail, "IPM.Post": KindMail, "IPM.Appointment": KindCalendar,
		"IPM.Contact": KindContacts, "IPM.DistList": KindContacts, "IPM.Task": KindTasks,
		"IPM.StickyNote": KindNotes, "IPM.Notebook": KindOther, "IPM.Activity": KindOther,
	}
	for class, want := range tests {
		if got := KindOf(class); got != want {
			t.Errorf("KindOf(%q) = %s, want %s", class, got, want)
		}
	}
	for class, want := range map[string]bool{"": true, "IPF.Note": true, "IPF.Note.OutlookHomepage": true, "IPF.Appointment": false, "IPF.Notes": false} {
		if got := (Folder{Class: class}).IsMail(); got != want {
			t.Errorf("Folder{Class: %q}.IsMail() = %v", class, got)
		}
	}
}

func TestPermanentErrors(t *testing.T) {
	tooLarge := fmt.Errorf("create: %w", &ItemTooLargeError{Size: 160 << 20, Limit: 150 << 20})
	tests := []struct {
		err  error
		want bool
	}{
		{tooLarge, true},
		{fmt.Errorf("x: %w", ErrItemRejected), true},
		{ErrNotFound, true},
		{ErrMailboxBusy, false},
		{ErrQuotaExceeded, false},
		{errors.New("connection reset"), false},
	}
	for _, tt := range tests {
		if got := IsPermanent(tt.err); got != tt.want {
			t.Errorf("IsPermanent(%v) = %v", tt.err, got)
		}
	}
	var tl *ItemTooLargeError
	if !errors.As(tooLarge, &tl) || tl.Error() != "item of 167772160 bytes is over the limit of 157286400 bytes" {
		t.Errorf("ItemTooLargeError: %v", tooLarge)
	}
}

func TestParseLocation(t *testing.T) {
	for in, want := range map[string]Location{"": LocationAuto, "AUTO": LocationAuto, "On-Prem": LocationOnPrem, "exo": LocationCloud, " cloud ": LocationCloud} {
		if got, err := ParseLocation(in); err != nil || got != want {
			t.Errorf("ParseLocation(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseLocation("mars"); err == nil || err.Error() != `unknown location "mars": use onprem, cloud or auto` {
		t.Errorf("ParseLocation(mars): %v", err)
	}
}
