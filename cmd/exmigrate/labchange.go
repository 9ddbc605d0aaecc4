package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/internal/lab"
)

type labChangeOptions struct {
	Dir     string
	Mailbox string
	Side    string
	Folder  string
	Add     int
	Read    int
	Unread  int
	Edit    int
	Move    int
	To      string
	Delete  int
	Expire  bool
	Rename  string

	g *globalOptions
}

// newLabChangeCommand changes a running lab's organisation from another
// terminal, so that a delta pass or a cut-over can be rehearsed.
func newLabChangeCommand(g *globalOptions) *cobra.Command {
	opts := &labChangeOptions{g: g}
	cmd := &cobra.Command{
		Use:   "change",
		Short: "Change a mailbox of a running lab as its user would: new, read, moved, deleted mail; expired sync states",
		Long: `Change one mailbox of the lab running in --dir, as its user (or the service)
would between two copy passes. The changes are made in this order: --add,
--read, --unread, --edit, --move, --delete, --rename-folder, --expire.
Messages are taken oldest first (in the Graph fake, least recently changed first). A move gives the message a new id, as
Exchange and Graph do; an edit changes the subject (an update for sync).`,
		Example: `  exmigrate lab change --dir lab/ --mailbox alex@fabrikam.com --add 50 --read 10
  exmigrate lab change --dir lab/ --mailbox alex@fabrikam.com --move 5 --to "Inbox/Projects" --delete 5
  exmigrate lab change --dir lab/ --mailbox alex@fabrikam.com --expire`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return labChangeRun(cmd.Context(), opts) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.Dir, "dir", "exmigrate-lab", "folder of the running lab")
	f.StringVar(&opts.Mailbox, "mailbox", "", "the mailbox to change (required)")
	f.StringVar(&opts.Side, "side", "", "onprem or cloud, for an address both fakes hold")
	f.StringVar(&opts.Folder, "folder", "Inbox", "the folder to change (created by --add when missing)")
	rangedInt(cmd, &opts.Add, "add", 0, 0, 100000, "add N new unread messages")
	rangedInt(cmd, &opts.Read, "read", 0, 0, 100000, "mark N unread messages read")
	rangedInt(cmd, &opts.Unread, "unread", 0, 0, 100000, "mark N read messages unread")
	rangedInt(cmd, &opts.Edit, "edit", 0, 0, 100000, "change the subject of N messages")
	rangedInt(cmd, &opts.Move, "move", 0, 0, 100000, "move N messages to --to")
	f.StringVar(&opts.To, "to", "", "the folder --move moves to (created when missing)")
	rangedInt(cmd, &opts.Delete, "delete", 0, 0, 100000, "delete N messages")
	f.StringVar(&opts.Rename, "rename-folder", "", "give --folder this new name (one level)")
	f.BoolVar(&opts.Expire, "expire", false, "expire the mailbox's EWS sync states, or the Graph fake's delta tokens")
	return cmd
}

func (o *labChangeOptions) changes() ([]lab.Change, error) {
	if o.Mailbox == "" {
		return nil, usageErrorf("--mailbox is required: the address of a mailbox of the lab (see mailboxes.csv in %s)", o.Dir)
	}
	if o.Move > 0 && o.To == "" {
		return nil, usageErrorf("--move needs --to, the folder to move to")
	}
	if o.Side != "" && o.Side != "onprem" && o.Side != "cloud" {
		return nil, usageErrorf("--side %q: use onprem or cloud", o.Side)
	}
	var out []lab.Change
	add := func(op string, n int) {
		if n > 0 {
			out = append(out, lab.Change{Mailbox: o.Mailbox, Side: o.Side, Op: op, Folder: o.Folder, To: o.To, Count: n})
		}
	}
	add(lab.ChangeAdd, o.Add)
	add(lab.ChangeRead, o.Read)
	add(lab.ChangeUnread, o.Unread)
	add(lab.ChangeEdit, o.Edit)
	add(lab.ChangeMove, o.Move)
	add(lab.ChangeDelete, o.Delete)
	if o.Rename != "" {
		out = append(out, lab.Change{Mailbox: o.Mailbox, Side: o.Side, Op: lab.ChangeRenameFolder, Folder: o.Folder, To: o.Rename})
	}
	if o.Expire {
		out = append(out, lab.Change{Mailbox: o.Mailbox, Side: o.Side, Op: lab.ChangeExpire})
	}
	if len(out) == 0 {
		return nil, usageErrorf("nothing to change: give --add, --read, --unread, --edit, --move, --delete, --rename-folder or --expire")
	}
	return out, nil
}

func labChangeRun(ctx context.Context, o *labChangeOptions) error {
	changes, err := o.changes()
	if err != nil {
		return err
	}
	c, err := lab.DialAdmin(o.Dir)
	if err != nil {
		return err
	}
	done, err := c.Change(ctx, changes)
	tw := tabwriter.NewWriter(o.g.io.Out, 0, 4, 2, ' ', 0)
	for _, r := range done {
		what := fmt.Sprintf("%d of %d", r.Done, r.Count)
		switch r.Op {
		case lab.ChangeExpire:
			what = "sync states expired"
		case lab.ChangeMove:
			what += " to " + r.To
		case lab.ChangeRenameFolder:
			what = "renamed to " + r.To
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Side, r.Mailbox, r.Folder, r.Op, what)
	}
	tw.Flush()
	return err
}

// newLabWritesCommand prints what the fakes of a running lab received.
func newLabWritesCommand(g *globalOptions) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:     "writes",
		Short:   "Print the writes each fake of a running lab has received since it started",
		Example: "  exmigrate lab writes --dir lab/",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := lab.DialAdmin(dir)
			if err != nil {
				return err
			}
			w, err := c.Writes(cmd.Context())
			if err != nil {
				return err
			}
			printLabWrites(g, w)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "exmigrate-lab", "folder of the running lab")
	return cmd
}

func printLabWrites(g *globalOptions, w lab.Writes) {
	fmt.Fprintf(g.io.Out, "writes received since the lab started: EWS %d, Graph %d\n", w.EWS, w.Graph)
}
