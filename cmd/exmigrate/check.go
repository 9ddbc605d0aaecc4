package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/graphmail"
	"github.com/exmigrate/exmigrate/internal/backend"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/mailbox"
)

type checkOptions struct {
	Mailbox   string // optional: also resolve this mailbox on each side
	Mailboxes string // optional: the list to take its TargetAddress and Location from
	Rules     bool   // the copy will run with --rules: the role it needs is required, not a warning
	// Fidelity runs the fidelity probe for --mailbox (see engine.Probe).
	Fidelity  bool
	Direction string // with --fidelity: which way the copy goes

	g *globalOptions
}

func newCheckCommand(g *globalOptions, runF func(context.Context, *checkOptions) error) *cobra.Command {
	opts := &checkOptions{g: g}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that each configured endpoint can be reached and authenticates",
		Long: `Check that each configured endpoint can be reached and authenticates.

With --mailbox, also look the address up on each endpoint, and name the
mailbox a copy of it would write to (its TargetAddress in the --mailboxes
list, or the same address) on the other side, and whether that one exists.
A mailbox found on no endpoint, or a target that does not exist, fails the
check (exit 1).

With impersonation configured for an EWS endpoint, act as a mailbox through
ExchangeImpersonation with one cheap read (GetFolder of its root): the
first mailbox the --mailboxes list places on that endpoint, else --mailbox.
An account without the ApplicationImpersonation role fails the check.

For each Microsoft Graph endpoint, list the application roles in the app's
token against the roles the features need: Mail.ReadWrite and
MailboxSettings.Read (or .ReadWrite) for copy and assess, MailboxSettings.ReadWrite
for copy --rules, Mail.Send for report --mail-to. A role copy needs fails
the check; a role only an optional feature needs is a warning (exit 0),
unless --rules says the copy will create rules.

With --fidelity (and --mailbox), run the fidelity probe: export one item
of each kind from the mailbox, import it into a scratch folder named
"exmigrate fidelity probe <date>" on the target (its TargetAddress in
--mailboxes, or the same address, in --direction), read it back, compare
what matters for the kind, remove it without sending anything (an item
whose removal would send a cancellation is left, and said so), and print
the path each kind will take (full-fidelity, mime, typed or not carried)
and why.`,
		Example: `  exmigrate check --config contoso.yaml
  exmigrate check --config contoso.yaml --mailbox ann@contoso.com
  exmigrate check --config contoso.yaml --mailbox ann@contoso.com --mailboxes wave1.csv
  exmigrate check --config contoso.yaml --mailbox ann@contoso.com --rules
  exmigrate check --config contoso.yaml --mailbox ann@contoso.com --fidelity`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Mailboxes != "" && opts.Mailbox == "" {
				return usageErrorf("--mailboxes goes with --mailbox: the list to take that mailbox's TargetAddress and Location from")
			}
			if opts.Fidelity && opts.Mailbox == "" {
				return usageErrorf("--fidelity goes with --mailbox: the mailbox whose items the probe exports (one of each kind)")
			}
			if _, err := dispatch.ParseDirection(opts.Direction); err != nil {
				return usageError(err)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return checkRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Mailbox, "mailbox", "", "also look this address up on each endpoint, and the mailbox a copy of it would write to")
	cmd.Flags().StringVar(&opts.Mailboxes, "mailboxes", "", "with --mailbox: the CSV list to take its TargetAddress and Location from")
	cmd.Flags().BoolVar(&opts.Fidelity, "fidelity", false, "with --mailbox: export one item of each kind, import it into a scratch folder of the target, compare, remove it, and say which path each kind takes")
	cmd.Flags().StringVar(&opts.Direction, "direction", "onboarding", "with --fidelity: onboarding, offboarding, onprem-to-onprem or cloud-to-cloud")
	cmd.Flags().BoolVar(&opts.Rules, "rules", false, "the copy will run with --rules: a Graph app without MailboxSettings.ReadWrite fails the check instead of a warning")
	return cmd
}

// checkTimeout bounds a check that should answer in seconds.
const checkTimeout = 60 * time.Second

// The status column of check's lines.
const (
	checkOK   = "ok"
	checkNo   = "no" // looked up, not there: a fact, not a failure by itself
	checkFail = "FAIL"
	checkWarn = "warn" // an optional feature will not work: not a failure
	checkSkip = "-"    // not checked, or not for this command to check
)

func checkRun(ctx context.Context, opts *checkOptions) error {
	cfg, err := opts.g.loadConfig()
	if err != nil {
		return err
	}
	var entries []csvinput.Entry
	if opts.Mailboxes != "" {
		if entries, err = csvinput.LoadList(opts.Mailboxes); err != nil {
			return usageError(err)
		}
	}
	s, err := connectSides(ctx, cfg, opts.g.logger)
	if err != nil {
		return err
	}
	defer s.Close()
	out := opts.g.io.Out
	// Each line starts with the endpoint's name, in a column as wide as
	// the longest (at least "onprem" and a space, as before named endpoints).
	width := 7
	for _, e := range s.Endpoints {
		width = max(width, len(e.Name())+1)
	}
	failed := 0
	line := func(endpoint, status, text string) {
		if status == checkFail {
			failed++
		}
		fmt.Fprintf(out, "%-*s %-5s %s\n", width, endpoint, status, text)
	}
	report := func(endpoint, what string, err error) {
		if err != nil {
			line(endpoint, checkFail, fmt.Sprintf("%s: %v", what, err))
			return
		}
		line(endpoint, checkOK, what)
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	for _, e := range s.Endpoints {
		err := e.Check(ctx)
		var missing *graphmail.PermissionError
		if e.Graph != nil && errors.As(err, &missing) {
			// Signed in: the role lines below say what is missing.
			err = nil
		}
		report(e.Name(), e.Describe(), err)
		switch {
		case err != nil:
		case e.EWS != nil && e.Config.EWS.Impersonation:
			checkImpersonation(ctx, e, actAs(e.Name(), opts, entries), line)
		case e.Graph != nil:
			checkRoles(ctx, e, opts, missing, line)
		}
	}
	if opts.Mailbox != "" {
		checkMailbox(ctx, s, opts, entries, line)
	}
	if opts.Fidelity && failed == 0 {
		checkFidelity(ctx, s, opts, entries, line)
	}
	if err := ctx.Err(); err != nil && failed > 0 {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}

// checkMailbox looks the mailbox up on every endpoint, then the mailbox a
// copy of it would write to: on the other side of onprem and cloud, at its
// TargetAddress in the list or at the same address.
func checkMailbox(ctx context.Context, s *backend.Sides, opts *checkOptions, entries []csvinput.Entry, line func(endpoint, status, text string)) {
	addr := opts.Mailbox
	entry := csvinput.Entry{Address: addr, Target: addr, Location: mailbox.LocationAuto}
	fromList := false
	if opts.Mailboxes != "" {
		i := slices.IndexFunc(entries, func(e csvinput.Entry) bool { return strings.EqualFold(e.Address, addr) })
		if i < 0 {
			line("", checkFail, fmt.Sprintf("%s: not in %s: copy --mailboxes %s would not copy it", addr, opts.Mailboxes, opts.Mailboxes))
		} else {
			entry, fromList = entries[i], true
		}
	}

	var found, names []string // endpoints the mailbox is on; every endpoint looked at
	detail := map[string]string{}
	for _, e := range s.Endpoints {
		names = append(names, e.Name())
		p, err := e.Side().Detect(ctx, addr)
		switch {
		case err != nil:
			line(e.Name(), checkFail, addr+": "+err.Error())
			continue
		case p.Found:
			found = append(found, e.Name())
			line(e.Name(), checkOK, addr+": "+p.Detail)
		default:
			line(e.Name(), checkNo, addr+": "+p.Detail)
		}
		detail[e.Name()] = p.Detail
	}

	// Where a copy would read it from: the list's Location, else where it
	// was found (as copy's detection between onprem and cloud).
	sources := found
	if loc := string(entry.Location); loc != "" && entry.Location != mailbox.LocationAuto {
		if !slices.Contains(found, loc) {
			seen, looked := detail[loc]
			if !looked {
				seen = "the config has no such endpoint, or it did not answer"
			}
			line(loc, checkFail, fmt.Sprintf("%s: the list says Location %s, but the mailbox is not there (%s); fix Location in the list, or set it to auto",
				addr, loc, seen))
			return
		}
		sources = []string{loc}
	}
	switch {
	case len(found) == 0:
		// What to check: nothing was found, so the address, the list or
		// the accounts' view of the directory is wrong.
		line("", checkFail, fmt.Sprintf("%s: found on no endpoint (%s): check the address (the primary SMTP address, not an alias), "+
			"that the mailbox list has it as EmailAddress, and that each endpoint's account may see it (EWS: ApplicationImpersonation "+
			"or Full Access to the mailbox; Graph: User.Read.All and Mail.ReadWrite, within the app's RBAC scope or application access policy)",
			addr, strings.Join(names, ", ")))
		return
	case slices.Contains(sources, config.OnPremName) && slices.Contains(sources, config.CloudName):
		line("", checkFail, fmt.Sprintf("%s: found on both onprem and cloud: copy cannot tell which is the source; set Location in the list", addr))
		return
	}

	how := "TargetAddress in the list"
	if !fromList {
		how = "the same address: no --mailboxes list names another"
	} else if strings.EqualFold(entry.Target, addr) {
		how = "the same address: the list gives no other TargetAddress"
	}
	for _, src := range sources {
		other := counterpartName(src)
		if opts.Fidelity {
			// The probe writes where --direction copies to.
			if dir, err := dispatch.ParseDirection(opts.Direction); err == nil {
				other = dir.Way().To
			}
		}
		dst := s.Endpoint(other)
		if dst == nil {
			// A named endpoint's mailboxes go where copy --to says.
			line(src, "-", fmt.Sprintf("target %s (%s): on the endpoint copy --to names; check it there with --mailbox %s", entry.Target, how, entry.Target))
			continue
		}
		p, err := dst.Side().Detect(ctx, entry.Target)
		what := fmt.Sprintf("target %s (%s)", entry.Target, how)
		switch {
		case err != nil:
			line(other, checkFail, what+": "+err.Error())
		case p.Found:
			line(other, checkOK, what+": "+p.Detail)
		default:
			line(other, checkFail, fmt.Sprintf("%s: %s: a copy from %s would have no mailbox to write to; create it, or set TargetAddress in the list",
				what, p.Detail, src))
		}
	}
}

// counterpartName is the endpoint a mailbox on the endpoint src is copied
// to by default: the other side of onprem and cloud; "" for a named
// endpoint, whose target only copy --to names.
func counterpartName(src string) string {
	switch src {
	case config.OnPremName:
		return config.CloudName
	case config.CloudName:
		return config.OnPremName
	}
	return ""
}

// actAs is the mailbox check acts as on the EWS endpoint name: the first
// the list places there, else --mailbox; "" when there is neither.
func actAs(name string, opts *checkOptions, entries []csvinput.Entry) string {
	for _, en := range entries {
		if string(en.Location) == name {
			return en.Address
		}
	}
	return opts.Mailbox
}

// checkImpersonation acts as the mailbox addr through ExchangeImpersonation
// with one GetFolder of its root: Check alone (ResolveNames, not
// mailbox-scoped) passes without the ApplicationImpersonation role, and a
// copy would then fail on every mailbox.
func checkImpersonation(ctx context.Context, e *backend.Endpoint, addr string, line func(endpoint, status, text string)) {
	name := e.Name()
	if addr == "" {
		line(name, checkSkip, "impersonation not checked: give --mailbox (an on-prem mailbox) to act as it")
		return
	}
	found, err := e.EWS.Mailbox(addr).Exists(ctx)
	var re *ews.ResponseError
	switch {
	case errors.As(err, &re) && (re.Code == "ErrorImpersonateUserDenied" || re.Code == "ErrorImpersonationDenied"):
		o := e.Config.EWS
		line(name, checkFail, fmt.Sprintf("impersonation (acting as %s): %v: %s may not act as the mailboxes: "+
			"grant it the ApplicationImpersonation role: New-ManagementRoleAssignment -Role ApplicationImpersonation -User %s",
			addr, err, o.EWSUser(), o.Username))
	case err != nil:
		line(name, checkFail, fmt.Sprintf("impersonation (acting as %s): %v", addr, err))
	case !found:
		line(name, checkNo, fmt.Sprintf("impersonation not checked: %s has no mailbox on %s to act as; give --mailbox one that has", addr, name))
	default:
		line(name, checkOK, fmt.Sprintf("impersonation ok (acting as %s)", addr))
	}
}

// graphRole is an application role a feature needs.
type graphRole struct {
	role     string
	also     string // a role that includes this one
	uses     string // the features that need it
	without  string // what fails without it
	needless string // for a warning: who does not need it
	required func(*checkOptions) bool
}

// graphRoles are the application roles the features need: those copy needs
// (graphmail.RequiredRoles) fail the check; the others only when the
// options say the feature will be used.
var graphRoles = []graphRole{
	{role: "Mail.ReadWrite", uses: "copy", without: "copy cannot read or write mail without it",
		required: func(*checkOptions) bool { return true }},
	{role: "MailboxSettings.Read", also: "MailboxSettings.ReadWrite", uses: "copy, assess",
		without:  "copy and assess cannot tell shared, room and equipment mailboxes apart without it",
		required: func(*checkOptions) bool { return true }},
	{role: "MailboxSettings.ReadWrite", uses: "copy --rules", without: "copy --rules cannot create inbox rules without it",
		needless: "a copy without --rules does not need it", required: func(o *checkOptions) bool { return o.Rules }},
	{role: "Mail.Send", uses: "report --mail-to", without: "report --mail-to cannot mail the report without it",
		required: func(*checkOptions) bool { return false }},
	{role: "Contacts.ReadWrite", uses: "copy (contacts)", without: "copy leaves contacts behind without it (reported as not copied)",
		required: func(*checkOptions) bool { return false }},
	{role: "Calendars.ReadWrite", uses: "copy (calendars)", without: "copy leaves calendar items behind without it (reported as not copied)",
		required: func(*checkOptions) bool { return false }},
	{role: "Tasks.ReadWrite.All", uses: "copy (tasks, to Microsoft To Do)", without: "copy leaves tasks behind without it (reported as not copied)",
		required: func(*checkOptions) bool { return false }},
	{role: "MailboxItem.ImportExport.All", uses: "copy with full_fidelity (the mailbox import/export API)",
		without:  "full_fidelity cannot be used without it (with MailboxFolder.Read.All and MailboxItem.Read.All); the typed paths are",
		required: func(*checkOptions) bool { return false }},
	{role: "MailboxFolder.ReadWrite.All", uses: "copy with full_fidelity into Exchange Online, and archive: preview (folders are made through the import/export API)",
		without:  "the archive cannot be written through Graph without it (archive: preview), nor full-fidelity items into folders the copy must create",
		required: func(*checkOptions) bool { return false }},
}

// checkRoles says, role by role, whether the app's token carries what
// each feature needs. missing is Check's finding, if it had one.
func checkRoles(ctx context.Context, e *backend.Endpoint, opts *checkOptions, missing *graphmail.PermissionError, line func(endpoint, status, text string)) {
	name := e.Name()
	have, listed, err := e.Graph.Roles(ctx)
	switch {
	case err != nil:
		line(name, checkFail, "application roles: "+err.Error())
		return
	case !listed && missing != nil:
		line(name, checkFail, missing.Error())
		return
	case !listed:
		line(name, checkSkip, "application roles not checked: the token does not list them (a delegated or opaque token)")
		return
	}
	app := e.Config.Graph.ClientID
	if app == "" {
		app = "(the " + e.Config.Graph.Auth + " identity)"
	}
	for _, r := range graphRoles {
		switch {
		case slices.Contains(have, r.role):
			line(name, checkOK, fmt.Sprintf("role %s: present (%s)", r.role, r.uses))
		case r.also != "" && slices.Contains(have, r.also):
			line(name, checkOK, fmt.Sprintf("role %s: present as %s (%s)", r.role, r.also, r.uses))
		default:
			grant := fmt.Sprintf("grant it to app %s in Entra ID > App registrations > API permissions (Microsoft Graph, application permission) and give admin consent", app)
			if r.required(opts) {
				line(name, checkFail, fmt.Sprintf("role %s: missing: %s; %s", r.role, r.without, grant))
			} else if r.needless != "" {
				line(name, checkWarn, fmt.Sprintf("role %s: missing: %s (%s); %s", r.role, r.without, r.needless, grant))
			} else {
				line(name, checkWarn, fmt.Sprintf("role %s: missing: %s; %s", r.role, r.without, grant))
			}
		}
	}
}

// checkFidelity runs the fidelity probe for --mailbox and prints one line
// per kind: the path it will take and why.
func checkFidelity(ctx context.Context, s *backend.Sides, opts *checkOptions, entries []csvinput.Entry, line func(endpoint, status, text string)) {
	entry := csvinput.Entry{Address: opts.Mailbox, Target: opts.Mailbox, Location: mailbox.LocationAuto}
	for _, e := range entries {
		if strings.EqualFold(e.Address, opts.Mailbox) {
			entry = e
		}
	}
	dir, _ := dispatch.ParseDirection(opts.Direction)
	d := s.Dispatcher(opts.g.logger)
	route, err := d.Locate(ctx, entry)
	if err != nil {
		line("probe", checkFail, err.Error())
		return
	}
	src, dst, _, err := d.Open(route, dir)
	if err != nil {
		line("probe", checkFail, err.Error())
		return
	}
	res, err := engine.Probe(ctx, src, dst, time.Now())
	if err != nil {
		line("probe", checkFail, fmt.Sprintf("%s to %s: %v", entry.Address, entry.Target, err))
		return
	}
	if res.Folder != "" {
		line("probe", checkSkip, fmt.Sprintf("%s to %s: scratch folder %q on the target", entry.Address, entry.Target, res.Folder))
	}
	for _, k := range res.Kinds {
		status := checkOK
		if !k.Accepted {
			status = checkSkip
		}
		text := fmt.Sprintf("%s: %s (%s)", k.Kind, k.Path, k.Why)
		if k.Left != "" {
			status = checkWarn
			text += "; the scratch item " + k.Left
		}
		line("probe", status, text)
	}
}
