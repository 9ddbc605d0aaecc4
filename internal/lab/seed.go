package lab

import (
	"fmt"
	"mime"
	"sort"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// seed fills both fakes from the scenario. Folder maps are walked in sorted
// order so that the same scenario and seed give the same items.
func seed(l *Lab, sc *Scenario) error {
	for i, m := range sc.expand() {
		g := newGenerator(sc.Seed+uint64(i)*7919, sc.Domain)
		var err error
		if m.Location == "cloud" {
			err = seedCloud(l.Graph, g, m)
		} else {
			err = seedOnPrem(l, g, m, sc.Seed+uint64(i))
		}
		if err != nil {
			return fmt.Errorf("%s: %w", m.Address, err)
		}
	}
	g := newGenerator(sc.Seed^0xf00d, sc.Domain)
	for _, pf := range sc.PublicFolders {
		f := l.EWS.PublicFolder(pf.Path)
		if pf.Class != "" {
			f.SetClass(pf.Class)
		}
		for j := range pf.Items {
			msg := g.next("pf@"+sc.Domain, j, 1)
			f.AddItem(ewstest.Item{MIME: msg.MIME, Class: "IPM.Post", Subject: msg.Subject, InternetMessageID: msg.MessageID,
				Received: msg.Received, Sent: msg.Received, IsRead: true})
		}
	}
	return nil
}

// RoomListAddress is the room list the lab puts the scenario's on-prem
// rooms in, as an organisation's rooms are listed for Outlook's room
// finder: EWS tells a room from other mailboxes only by its room list.
func RoomListAddress(sc *Scenario) string { return "rooms@" + sc.Domain }

// seedRoomLists lists the scenario's on-prem rooms in a room list. Room
// lists belong to the directory, not to a mailbox, and snapshots keep
// mailboxes only, so this runs on every start, fresh or restored.
func seedRoomLists(s *ewstest.Server, sc *Scenario) {
	var rooms []string
	for _, m := range sc.expand() {
		if m.Location != "cloud" && mailbox.MailboxType(m.Type) == mailbox.TypeRoom {
			rooms = append(rooms, m.Address)
		}
	}
	if len(rooms) > 0 {
		s.AddRoomList(RoomListAddress(sc), "All rooms", rooms...)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func seedOnPrem(l *Lab, g *generator, m MailboxSpec, seedN uint64) error {
	mb := l.EWS.AddMailbox(m.Address)
	if m.Name != "" {
		mb.SetDisplayName(m.Name)
	}
	// In a hybrid organisation the user also exists in Entra ID, and Graph
	// answers MailboxNotEnabledForRESTAPI for its on-prem mailbox.
	l.Graph.AddOnPremUser(m.Address)
	if m.Target != "none" && m.Target != "" {
		target := l.Graph.AddMailbox(m.Target, mailbox.MailboxType(m.Type))
		if err := setSizeLimits(target, m); err != nil {
			return err
		}
		if l.archivePrev && m.Archive != nil {
			target.AddArchive() // enabled by the admin before the copy
		}
	}
	for _, path := range sortedKeys(m.FolderClasses) {
		mb.Folder(path).SetClass(m.FolderClasses[path])
	}
	for _, path := range sortedKeys(m.Folders) {
		f := mb.Folder(path)
		for j := range m.Folders[path] {
			msg := g.next(m.Address, j, *m.ReadRatio)
			f.AddItem(ewsItem(msg))
		}
	}
	for _, path := range sortedKeys(m.NonMailItems) {
		f := mb.Folder(path)
		n := m.NonMailItems[path]
		switch typedKindOf(path) {
		case mailbox.KindCalendar:
			for j := range n {
				f.AddEvent(labEvent(g, m.Address, j))
			}
		case mailbox.KindContacts:
			var made []mailbox.Contact
			for j := range contactsOf(n) {
				c := labContact(g, j)
				made = append(made, c)
				f.AddContact(c)
			}
			if groupOf(n) {
				f.AddContactGroup(labGroup(made))
			}
		case mailbox.KindTasks:
			for j := range n {
				f.AddTask(labTask(g, j))
			}
		case mailbox.KindNotes:
			for j := range n {
				f.AddItem(labNote(g, j))
			}
		case mailbox.KindOther:
			for j := range n {
				f.AddItem(labJournal(g, j))
			}
		default:
			for j := range n {
				f.AddItem(nonMailItem(g, m.Address, path, j))
			}
		}
	}
	for j, li := range m.LargeItems {
		open, size, subject := largeMessage(m.Address, g.domain, li.Size.Bytes(), seedN*100+uint64(j))
		mb.Folder(li.Folder).AddItem(ewstest.Item{Open: open, Size: size, Subject: subject, StreamKey: largeKey(m.Address, j),
			InternetMessageID: fmt.Sprintf("<large-%d-%d@%s>", seedN, j, g.domain),
			Received:          time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC), Sent: time.Date(2024, 3, 1, 8, 59, 0, 0, time.UTC), IsRead: true})
	}
	if m.Archive != nil {
		f := mb.ArchiveFolder("Inbox")
		for j := range *m.Archive {
			f.AddItem(ewsItem(g.next(m.Address, j, 1)))
		}
	}
	if m.Recoverable > 0 {
		f := mb.RecoverableFolder("Deletions")
		for j := range m.Recoverable {
			f.AddItem(ewsItem(g.next(m.Address, j, 1)))
		}
	}
	var rules []mailbox.Rule
	for i, rs := range m.Rules {
		rules = append(rules, ruleOf(mb, i, rs))
	}
	if len(rules) > 0 {
		mb.SetRules(rules)
	}
	var delegates []mailbox.Delegate
	for _, d := range m.Delegates {
		perms := map[string]string{}
		if d.Calendar != "" {
			perms["Calendar"] = d.Calendar
		}
		if d.Inbox != "" {
			perms["Inbox"] = d.Inbox
		}
		delegates = append(delegates, mailbox.Delegate{User: d.User, Permissions: perms, ViewPrivateItems: d.ViewPrivateItems,
			DeliverMeetingRequestsTo: "DelegatesAndSendInformationToMe"})
	}
	if len(delegates) > 0 {
		mb.SetDelegates(delegates, "DelegatesAndSendInformationToMe")
	}
	for i, h := range m.Holds {
		l.EWS.AddHold(mailbox.Hold{ID: fmt.Sprintf("hold-%s-%d", strings.Split(m.Address, "@")[0], i), Name: h.Name, Query: h.Query, Status: "Active"}, m.Address)
	}
	return nil
}

func ewsItem(msg message) ewstest.Item {
	return ewstest.Item{MIME: msg.MIME, Class: msg.Class, Subject: msg.Subject, InternetMessageID: msg.MessageID,
		Received: msg.Received, Sent: msg.Received.Add(-time.Minute), IsRead: msg.IsRead,
		Categories: msg.Categories, Importance: msg.Importance, Flag: msg.Flag}
}

// nonMailItem makes a calendar or contact item for a standard folder.
func nonMailItem(g *generator, owner, folder string, i int) ewstest.Item {
	name, addr := g.person()
	start := g.start.Add(time.Duration(g.rng.IntN(500*24)) * time.Hour)
	if strings.EqualFold(folder, "Contacts") {
		mimeText := fmt.Sprintf("Subject: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/vcard; charset=\"utf-8\"\r\n\r\n"+
			"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:%s\r\nEMAIL:%s\r\nEND:VCARD\r\n", name, name, addr)
		return ewstest.Item{MIME: []byte(mimeText), Class: mailbox.ClassContact, Subject: name, Received: start, IsRead: true}
	}
	subject := fmt.Sprintf("Meeting %d with %s", i+1, name)
	mimeText := fmt.Sprintf("Subject: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/calendar; charset=\"utf-8\"; method=PUBLISH\r\n\r\n"+
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//exmigrate lab//EN\r\nBEGIN:VEVENT\r\nUID:cal-%d-%x\r\nDTSTART:%s\r\nDTEND:%s\r\n"+
		"SUMMARY:%s\r\nORGANIZER:mailto:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		subject, i, g.rng.Uint64(), start.Format("20060102T150405Z"), start.Add(time.Hour).Format("20060102T150405Z"), subject, owner)
	return ewstest.Item{MIME: []byte(mimeText), Class: mailbox.ClassAppointment, Subject: subject, Received: start, IsRead: true}
}

// noteFirstLines are what users put on sticky notes.
var noteFirstLines = []string{"Call %s back", "Lunch with %s", "Ask %s about the budget", "Send %s the slides", "Book a room for %s"}

// labNote makes the i-th sticky note (IPM.StickyNote) as Outlook stores
// it: no subject of its own, the first line of its text standing for one.
func labNote(g *generator, i int) ewstest.Item {
	name, _ := g.person()
	first := fmt.Sprintf(noteFirstLines[g.rng.IntN(len(noteFirstLines))], name) + fmt.Sprintf(" (%d)", i+1)
	text := first + "\r\n" + g.sentence(6) + "\r\n"
	when := g.start.Add(time.Duration(g.rng.IntN(500*24)) * time.Hour)
	return ewstest.Item{MIME: textMIME(first, text, when), Class: mailbox.ClassStickyNote, Subject: first, Received: when, IsRead: true}
}

// labJournal makes the i-th journal entry (IPM.Activity): a phone call
// logged with its contact and a line of notes.
func labJournal(g *generator, i int) ewstest.Item {
	name, _ := g.person()
	subject := fmt.Sprintf("Phone call with %s (%d)", name, i+1)
	when := g.start.Add(time.Duration(g.rng.IntN(500*24)) * time.Hour)
	text := "Entry type: Phone call\r\nContact: " + name + "\r\n\r\n" + g.sentence(8) + "\r\n"
	return ewstest.Item{MIME: textMIME(subject, text, when), Class: classJournal, Subject: subject, Received: when, IsRead: true}
}

// classJournal is the item class of a journal entry.
const classJournal = "IPM.Activity"

// textMIME is a plain-text MIME item, the form Exchange gives GetItem's
// MimeContent of a note or a journal entry.
func textMIME(subject, text string, date time.Time) []byte {
	return []byte("Subject: " + mime.QEncoding.Encode("utf-8", subject) + "\r\nDate: " + date.Format(time.RFC1123Z) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text)
}

func ruleOf(mb *ewstest.MailboxFixture, i int, rs RuleSpec) mailbox.Rule {
	r := mailbox.Rule{ID: fmt.Sprintf("rule-%d", i+1), Name: rs.Name, Priority: i + 1, Enabled: !rs.Disabled,
		IsInError: rs.InError, IsNotSupported: rs.NotSupported}
	c := &r.Conditions
	c.FromAddresses = rs.From
	c.ContainsSubjectStrings = rs.SubjectContains
	c.ContainsBodyStrings = rs.BodyContains
	c.SentToMe = rs.SentToMe
	c.HasAttachments = rs.HasAttachments
	c.ItemClasses = rs.ItemClasses
	c.FromConnectedAccounts = rs.FromConnectedAccounts
	if rs.WithinDays > 0 {
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		c.WithinDateRange = &mailbox.DateRange{StartDateTime: start.Format(time.RFC3339), EndDateTime: start.AddDate(0, 0, rs.WithinDays).Format(time.RFC3339)}
	}
	r.Exceptions.ContainsSubjectStrings = rs.ExceptSubjectContains
	a := &r.Actions
	if rs.MoveTo != "" {
		a.MoveToFolder = mb.Folder(rs.MoveTo).ID()
	}
	if rs.CopyTo != "" {
		a.CopyToFolder = mb.Folder(rs.CopyTo).ID()
	}
	a.MarkAsRead = rs.MarkAsRead
	a.AssignCategories = rs.Categories
	a.ForwardToRecipients = rs.ForwardTo
	a.Delete = rs.Delete
	a.SendSMSAlertToRecipients = rs.SendSMSAlertTo
	a.StopProcessingRules = rs.StopProcessing
	return r
}

func seedCloud(s *graphtest.Server, g *generator, m MailboxSpec) error {
	fx := s.AddMailbox(m.Address, mailbox.MailboxType(m.Type))
	if err := setSizeLimits(fx, m); err != nil {
		return err
	}
	for _, path := range sortedKeys(m.Folders) {
		fx.Folder(path)
		for j := range m.Folders[path] {
			fx.AddMessage(path, cloudMessage(g.next(m.Address, j, *m.ReadRatio), m.Address))
		}
	}
	for _, path := range sortedKeys(m.NonMailItems) {
		n := m.NonMailItems[path]
		switch typedKindOf(path) {
		case mailbox.KindCalendar:
			for j := range n {
				fx.AddEvent(fx.CalendarID(), labEvent(g, m.Address, j))
			}
		case mailbox.KindContacts:
			// Graph holds no contact groups: a cloud mailbox has contacts only.
			for j := range n {
				fx.AddContact(fx.ContactsFolderID(), labContact(g, j))
			}
		case mailbox.KindTasks:
			for j := range n {
				// A task made in Microsoft To Do: it has no percent
				// complete, owner, delegator or sensitivity.
				k := labTask(g, j)
				k.PercentComplete, k.Owner, k.Delegator, k.Sensitivity = 0, "", "", ""
				fx.AddTask(fx.TaskListID(), k)
			}
		case mailbox.KindNotes, mailbox.KindOther:
			return fmt.Errorf("non_mail_items: %q in a cloud mailbox: Microsoft Graph has no API for notes or journal entries, so the lab cannot make them in Exchange Online; use them in on-prem mailboxes", path)
		default:
			return fmt.Errorf("non_mail_items: %q in a cloud mailbox: use Calendar, Contacts or Tasks", path)
		}
	}
	return nil
}

// typedKindOf is the kind of the standard folder a non_mail_items key
// names (Calendar, Contacts, Tasks, Notes; Journal is other); others are
// mail.
func typedKindOf(path string) mailbox.Kind {
	switch strings.ToLower(path) {
	case "calendar":
		return mailbox.KindCalendar
	case "contacts":
		return mailbox.KindContacts
	case "tasks":
		return mailbox.KindTasks
	case "notes":
		return mailbox.KindNotes
	case "journal":
		return mailbox.KindOther
	}
	return mailbox.KindMail
}

// contactsOf and groupOf split a Contacts count: from three items on, the
// last is a contact group of the first contacts.
func contactsOf(n int) int {
	if groupOf(n) {
		return n - 1
	}
	return n
}

func groupOf(n int) bool { return n >= 3 }

// setSizeLimits gives a cloud mailbox the scenario's message size limits;
// a limit not set keeps the fake's default (35 MB).
func setSizeLimits(fx *graphtest.MailboxFixture, m MailboxSpec) error {
	if m.MaxSendSize == 0 && m.MaxReceiveSize == 0 {
		return nil
	}
	send, recv := fx.MessageSizeLimits()
	if m.MaxSendSize != 0 {
		send = int64(m.MaxSendSize)
	}
	if m.MaxReceiveSize != 0 {
		recv = int64(m.MaxReceiveSize)
	}
	return fx.SetMessageSizeLimits(send, recv)
}

// cloudMessage is a generated message as the Graph fake stores it.
func cloudMessage(msg message, owner string) graphtest.Message {
	return graphtest.Message{
		Subject: msg.Subject, BodyType: "text", Body: "Generated by the exmigrate lab.", From: msg.From, To: []string{owner},
		Importance: strings.ToLower(msg.Importance), FlagStatus: lowerFirst(msg.Flag), Categories: msg.Categories,
		InternetMessageID: msg.MessageID, IsRead: msg.IsRead,
		Received: msg.Received, Sent: msg.Received.Add(-time.Minute), MIME: msg.MIME,
	}
}

// lowerFirst spells a flag status as Graph does: Flagged -> flagged.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
