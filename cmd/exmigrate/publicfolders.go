package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/exmigrate/exmigrate/dispatch"
	"github.com/exmigrate/exmigrate/engine"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/csvinput"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Public folders belong to the organisation, not to a mailbox: copy
// --public-folders copies the tree once, as one more job, through the
// public folder mailbox each Exchange Server endpoint names
// (public_folder_mailbox). Exchange Online has no public folder API in
// Graph: into it the tree is reported with its remedy instead.

// pfRemedy is how public folders reach Exchange Online.
const pfRemedy = "move the public folder tree with a public folder migration batch (New-MigrationBatch -PublicFolderToUnifiedGroup, or the public folder migration scripts), or to Microsoft 365 Groups"

// publicFolderEntry is the list entry that stands for the public folder
// job: the source endpoint's public folder mailbox to the target's.
func publicFolderEntry(cfg *config.Config, way dispatch.Way) (csvinput.Entry, string, error) {
	from, to := cfg.Endpoint(way.From), cfg.Endpoint(way.To)
	if from == nil || to == nil {
		return csvinput.Entry{}, "", fmt.Errorf("--public-folders: the config has no endpoint %q or %q", way.From, way.To)
	}
	if from.Type != config.TypeEWS || from.EWS == nil {
		return csvinput.Entry{}, "", fmt.Errorf("--public-folders: public folders are read from Exchange Server, and the endpoint %s is %s", way.From, from.Type)
	}
	if to.Type != config.TypeEWS || to.EWS == nil {
		return csvinput.Entry{}, fmt.Sprintf("Graph has no public folder API, so exmigrate cannot write public folders to %s: %s", way.To, pfRemedy), nil
	}
	if from.EWS.PublicFolderMailbox == "" {
		return csvinput.Entry{}, "", fmt.Errorf("--public-folders: set %s.public_folder_mailbox (the public folder hierarchy mailbox) to copy public folders from %s", from.Key, way.From)
	}
	if to.EWS.PublicFolderMailbox == "" {
		return csvinput.Entry{}, "", fmt.Errorf("--public-folders: set %s.public_folder_mailbox (the public folder mailbox to write through) to copy public folders to %s", to.Key, way.To)
	}
	// Public folder mailboxes are hidden from address lists, so they are
	// not looked up (ResolveNames would not find them): the endpoint says
	// where they are.
	return csvinput.Entry{Address: from.EWS.PublicFolderMailbox, Target: to.EWS.PublicFolderMailbox, Location: mailbox.Location(way.From)}, "", nil
}

// copyPublicFolders runs the public folder job, or reports why the target
// cannot take the tree. The result names the source public folder mailbox.
func copyPublicFolders(ctx context.Context, cfg *config.Config, d *dispatch.Dispatcher, way dispatch.Way, base *engine.Copier, log *slog.Logger) (csvinput.Entry, *engine.MailboxResult) {
	entry, notCarried, err := publicFolderEntry(cfg, way)
	named := csvinput.Entry{Address: "public folders (" + way.From + ")", Target: way.To}
	if err != nil {
		return named, &engine.MailboxResult{Key: engine.JobKey{SourceAddress: named.Address, TargetAddress: named.Target}, Err: usageError(err)}
	}
	if notCarried != "" {
		return named, &engine.MailboxResult{Key: engine.JobKey{SourceAddress: named.Address, TargetAddress: named.Target},
			Gaps: []mailbox.Gap{{Store: mailbox.ScopePublicFolders, Code: mailbox.CodeStoreNotCarried, Reason: notCarried}}}
	}
	opts := base.Options
	opts.Stores, opts.StoreInto = []mailbox.Scope{mailbox.ScopePublicFolders}, nil
	copier := &engine.Copier{Store: base.Store, Audit: base.Audit, Progress: base.Progress, Log: base.Log, Options: opts, LeaseTTL: base.LeaseTTL}
	route, err := d.LocateFor(ctx, entry, way)
	if err != nil {
		return entry, &engine.MailboxResult{Key: engine.JobKey{SourceAddress: entry.Address, TargetAddress: entry.Target}, Err: err}
	}
	src, dst, key, err := d.OpenWay(route, way)
	if err != nil {
		return entry, &engine.MailboxResult{Key: engine.JobKey{SourceAddress: entry.Address, TargetAddress: entry.Target}, Err: err}
	}
	log.Info("public folders started", "from", entry.Address, "to", entry.Target)
	res := copier.Copy(ctx, key, src, dst)
	if res.Err != nil {
		log.Error("public folders failed", "err", res.Err, "copied", res.ItemsCopied)
	} else {
		log.Info("public folders finished", "copied", res.ItemsCopied, "skipped", res.Skipped)
	}
	return entry, res
}
