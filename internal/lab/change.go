package lab

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Operations of a Change: what a mailbox's user (or the service) does
// between two copy passes.
const (
	ChangeAdd    = "add"    // Count new messages in Folder (created if missing)
	ChangeRead   = "read"   // mark Count unread messages of Folder read
	ChangeUnread = "unread" // mark Count read messages of Folder unread
	ChangeMove   = "move"   // move Count messages from Folder to To (created if missing)
	ChangeDelete = "delete" // delete Count messages of Folder
	ChangeExpire = "expire" // expire the mailbox's sync states (EWS) or the fake's delta tokens (Graph)
	ChangeEdit   = "edit"   // change the subject of Count messages of Folder (an update for sync)
	// ChangeRenameFolder renames Folder to the name in To (its id stays).
	ChangeRenameFolder = "rename-folder"
)

// Change is one change to the lab's organisation while it runs, so that
// an engineer can rehearse a delta pass and a cut-over.
type Change struct {
	Mailbox string `json:"mailbox"`
	// Side is "onprem" or "cloud"; empty: the fake that holds the
	// mailbox (an address both hold must name it).
	Side   string `json:"side,omitempty"`
	Op     string `json:"op"`
	Folder string `json:"folder,omitempty"` // default Inbox
	To     string `json:"to,omitempty"`
	Count  int    `json:"count,omitempty"`
}

// ChangeResult says what a Change did.
type ChangeResult struct {
	Change
	// Done is how many messages the change touched (1 for expire); fewer
	// than Count when the folder held fewer that qualified.
	Done int `json:"done"`
}

// ErrBadChange is returned for a change the lab cannot make (unknown
// mailbox, folder or operation); the message names what and the fix.
var ErrBadChange = errors.New("lab change")

// Apply makes one change to the running organisation. Messages are taken
// in the order the fake lists them: EWS oldest first, Graph least recently
// changed first.
func (l *Lab) Apply(c Change) (ChangeResult, error) {
	l.changeMu.Lock()
	defer l.changeMu.Unlock()
	if c.Folder == "" {
		c.Folder = "Inbox"
	}
	res := ChangeResult{Change: c}
	switch c.Op {
	case ChangeAdd, ChangeRead, ChangeUnread, ChangeDelete, ChangeEdit:
		if c.Count <= 0 {
			return res, fmt.Errorf("%w: %s needs a count of 1 or more", ErrBadChange, c.Op)
		}
	case ChangeMove:
		if c.Count <= 0 || c.To == "" {
			return res, fmt.Errorf("%w: move needs a count of 1 or more and a folder to move to", ErrBadChange)
		}
	case ChangeRenameFolder:
		if c.To == "" || strings.Contains(c.To, "/") {
			return res, fmt.Errorf("%w: rename-folder needs the new name (one level, no /)", ErrBadChange)
		}
	case ChangeExpire:
	default:
		return res, fmt.Errorf("%w: unknown operation %q: use add, read, unread, edit, move, delete, rename-folder or expire", ErrBadChange, c.Op)
	}
	onprem, inEWS := l.EWS.LookupMailbox(c.Mailbox)
	cloud := l.Graph.Mailbox(c.Mailbox)
	switch {
	case c.Side == "" && inEWS && cloud != nil:
		return res, fmt.Errorf("%w: %s is in both fakes: say which side (onprem or cloud)", ErrBadChange, c.Mailbox)
	case c.Side == "" && inEWS, c.Side == "onprem" && inEWS:
		res.Side = "onprem"
		n, err := l.applyEWS(onprem, c)
		res.Done = n
		return res, err
	case c.Side == "" && cloud != nil, c.Side == "cloud" && cloud != nil:
		res.Side = "cloud"
		n, err := l.applyGraph(cloud, c)
		res.Done = n
		return res, err
	case c.Side != "" && c.Side != "onprem" && c.Side != "cloud":
		return res, fmt.Errorf("%w: side %q: use onprem or cloud", ErrBadChange, c.Side)
	}
	return res, fmt.Errorf("%w: no mailbox %s in the lab%s: see mailboxes.csv in the lab's folder", ErrBadChange, c.Mailbox, sideText(c.Side))
}

// editedSuffix is what an edit adds to a subject.
const editedSuffix = " (edited)"

func sideText(side string) string {
	if side == "" {
		return ""
	}
	return " (" + side + ")"
}

func (l *Lab) generator(owner string) *generator {
	l.changes++
	return newGenerator(l.Scenario.Seed^uint64(l.changes)<<32^uint64(time.Now().UnixNano()), domainOf(owner))
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return d
}

func (l *Lab) applyEWS(mb *ewstest.MailboxFixture, c Change) (int, error) {
	if c.Op == ChangeExpire {
		mb.InvalidateSyncStates()
		return 1, nil
	}
	if c.Op == ChangeAdd {
		g := l.generator(c.Mailbox)
		f := mb.Folder(c.Folder)
		for i := range c.Count {
			msg := g.next(c.Mailbox, i, 0)
			msg.Received = time.Now().UTC().Truncate(time.Second)
			f.AddItem(ewsItem(msg))
		}
		return c.Count, nil
	}
	f, ok := mb.FindFolder(c.Folder)
	if !ok {
		return 0, fmt.Errorf("%w: %s has no folder %q", ErrBadChange, c.Mailbox, c.Folder)
	}
	if c.Op == ChangeRenameFolder {
		if !f.Rename(c.To) {
			return 0, fmt.Errorf("%w: %s: a folder named %q is already beside %q", ErrBadChange, c.Mailbox, c.To, c.Folder)
		}
		return 1, nil
	}
	var dst *ewstest.FolderFixture
	if c.Op == ChangeMove {
		dst = mb.Folder(c.To)
	}
	done := 0
	for _, it := range f.Items() {
		if done == c.Count {
			break
		}
		if mailbox.KindOf(it.Class) != mailbox.KindMail {
			continue
		}
		switch c.Op {
		case ChangeRead, ChangeUnread:
			want := c.Op == ChangeRead
			if it.IsRead == want {
				continue
			}
			f.SetRead(it.ID, want)
		case ChangeDelete:
			f.DeleteItem(it.ID)
		case ChangeEdit:
			f.SetSubject(it.ID, it.Subject+editedSuffix)
		case ChangeMove:
			if _, ok := f.MoveItem(it.ID, dst); !ok {
				continue
			}
		}
		done++
	}
	return done, nil
}

func (l *Lab) applyGraph(mb *graphtest.MailboxFixture, c Change) (int, error) {
	if c.Op == ChangeExpire {
		l.Graph.ExpireDeltaTokens()
		return 1, nil
	}
	if c.Op == ChangeAdd {
		g := l.generator(c.Mailbox)
		for i := range c.Count {
			msg := g.next(c.Mailbox, i, 0)
			msg.Received = time.Now().UTC().Truncate(time.Second)
			mb.AddMessage(c.Folder, cloudMessage(msg, c.Mailbox))
		}
		return c.Count, nil
	}
	if mb.FolderID(c.Folder) == "" {
		return 0, fmt.Errorf("%w: %s has no folder %q", ErrBadChange, c.Mailbox, c.Folder)
	}
	if c.Op == ChangeRenameFolder {
		if !mb.RenameFolder(c.Folder, c.To) {
			return 0, fmt.Errorf("%w: %s: a folder named %q is already beside %q", ErrBadChange, c.Mailbox, c.To, c.Folder)
		}
		return 1, nil
	}
	done := 0
	for _, m := range mb.Messages(c.Folder) {
		if done == c.Count {
			break
		}
		switch c.Op {
		case ChangeRead, ChangeUnread:
			want := c.Op == ChangeRead
			if m.IsRead == want || !mb.UpdateMessage(m.ID, func(m *graphtest.Message) { m.IsRead = want }) {
				continue
			}
		case ChangeDelete:
			if !mb.DeleteMessage(m.ID) {
				continue
			}
		case ChangeEdit:
			if !mb.UpdateMessage(m.ID, func(m *graphtest.Message) { m.Subject += editedSuffix; m.Modified = time.Now().UTC() }) {
				continue
			}
		case ChangeMove:
			if _, ok := mb.MoveMessage(m.ID, c.To); !ok {
				continue
			}
		}
		done++
	}
	return done, nil
}
