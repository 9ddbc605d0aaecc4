package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/internal/backend"
)

// addNotifyFlags adds --notify and --notify-from to a command that runs a
// wave (copy, finalize).
func addNotifyFlags(cmd *cobra.Command, opts *copyOptions) {
	f := cmd.Flags()
	f.StringSliceVar(&opts.Notify, "notify", nil, "mail the run's summary to these addresses when it finishes, fails or is stopped, through Graph (needs --notify-from)")
	f.StringVar(&opts.NotifyFrom, "notify-from", "", "the mailbox --notify sends from (its Sent Items keeps the mail; needs Mail.Send)")
}

func checkNotify(opts *copyOptions) error {
	switch {
	case len(opts.Notify) > 0 && opts.NotifyFrom == "":
		return usageErrorf("--notify needs --notify-from: the mailbox the summary is sent from")
	case len(opts.Notify) == 0 && opts.NotifyFrom != "":
		return usageErrorf("--notify-from without --notify: name who gets the summary")
	case len(opts.Notify) > 0 && opts.DryRun:
		return usageErrorf("--notify with --dry-run: a dry run writes nothing, mail included; drop one of them")
	}
	for _, a := range append(append([]string{}, opts.Notify...), opts.NotifyFrom) {
		if a != "" && !strings.Contains(a, "@") {
			return usageErrorf("--notify/--notify-from %q is not a mail address", a)
		}
	}
	return nil
}

// notifyRun mails a run's summary (the text the terminal showed) through
// Graph's sendMail, on record in the audit log like any other write. It
// runs whatever the run's outcome, with a bounded wait of its own, so that
// an unattended wave that fails or is stopped still says so.
func notifyRun(ctx context.Context, opts *copyOptions, s *backend.Sides, al *auditLog, what string, summary string, runErr error) error {
	if len(opts.Notify) == 0 {
		return nil
	}
	if s.Graph == nil {
		return fmt.Errorf("--notify sends through Microsoft Graph: configure the cloud side in the config")
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	ended := "finished"
	switch {
	case runErr == nil:
	case errors.Is(runErr, context.Canceled):
		ended = "stopped"
	case errors.Is(runErr, errSkipped):
		ended = "finished with skipped items"
	default:
		ended = "failed"
	}
	subject := fmt.Sprintf("exmigrate %s %s: %s", what, filepath.Base(opts.Mailboxes), ended)
	var body bytes.Buffer
	fmt.Fprintf(&body, "<p>exmigrate %s of %s %s at %s.</p>", html.EscapeString(what), html.EscapeString(opts.Mailboxes), ended, time.Now().Format(time.RFC1123))
	if runErr != nil {
		fmt.Fprintf(&body, "<p><b>%s</b></p>", html.EscapeString(stripURLQueries(runErr.Error())))
	}
	fmt.Fprintf(&body, "<pre style=\"font-family:Consolas,monospace;font-size:12px\">%s</pre>", html.EscapeString(summary))
	mail := graphmail.OutgoingMail{To: opts.Notify, Subject: subject, HTMLBody: body.String()}
	if al == nil {
		return errors.New("--notify: a run without an audit log sends nothing (every write is on record)")
	}
	if err := sendAudited(ctx, s, al, opts.NotifyFrom, mail); err != nil {
		return fmt.Errorf("--notify: mail the summary from %s: %w", opts.NotifyFrom, err)
	}
	fmt.Fprintf(opts.g.io.Err, "exmigrate: mailed the summary from %s to %s\n", opts.NotifyFrom, strings.Join(opts.Notify, ", "))
	return nil
}
