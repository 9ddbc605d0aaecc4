package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/internal/wavestatus"
)

type serveOptions struct {
	StatePath string
	Mailboxes string
	Listen    string
	Refresh   time.Duration

	g *globalOptions
	// ready, when set, is told the address the page listens on (tests
	// listen on port 0).
	ready func(addr string)
}

func newServeCommand(g *globalOptions, runF func(context.Context, *serveOptions) error) *cobra.Command {
	opts := &serveOptions{g: g}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a live, read-only web page of the copy jobs (status in a browser)",
		Long: `Serve a read-only web page of every copy job of a state file, what status
prints, with a page per mailbox (folders, counts, skipped items and why, the
last error). The page reads the state file again as it refreshes, so it follows
copies running in any number of other processes. It listens on 127.0.0.1 and
answers only to loopback names; --listen publishes it elsewhere (the page names
every mailbox of the wave: put it behind your own access control). Stop it
with Ctrl-C.`,
		Example: `  exmigrate serve --config contoso.yaml
  exmigrate serve --state contoso-state.db --mailboxes wave1.csv --listen 127.0.0.1:8080`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, _, err := net.SplitHostPort(opts.Listen); err != nil {
				return usageErrorf("--listen %q: give host:port, e.g. 127.0.0.1:8080 (port 0 picks a free one)", opts.Listen)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.StatePath, "state", "", "state file, which wins over the config (default: the config's state: state.path, or the PostgreSQL database of state.url)")
	f.StringVar(&opts.Mailboxes, "mailboxes", "", "CSV list of mailboxes: show its mailboxes only, with their batch")
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "address to listen on (host:port)")
	rangedDuration(cmd, &opts.Refresh, "refresh", 5*time.Second, time.Second, time.Hour, "how often the page reads the state again, {range}")
	return cmd
}

func serveRun(ctx context.Context, opts *serveOptions) error {
	ref, err := stateRefFor(opts.g, opts.StatePath)
	if err != nil {
		return err
	}
	list, err := loadListFor(opts.Mailboxes)
	if err != nil {
		return err
	}
	store, err := ref.openReadOnly(ctx, "serve")
	if err != nil {
		return err
	}
	defer store.Close()
	path := store.Where()

	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return usageErrorf("--listen %s: %w", opts.Listen, err)
	}
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	loopback := net.ParseIP(host).IsLoopback()
	log := opts.g.logger
	if !loopback {
		log.Warn("the status page is reachable from other machines: it names every mailbox of the wave", "listen", ln.Addr().String())
	}
	srv := &http.Server{
		Handler: wavestatus.NewServer(wavestatus.ServerOptions{
			Store: store, StateFile: path, StateName: stateName(ref, store), List: list, ListName: opts.Mailboxes,
			Refresh: opts.Refresh, MinRead: time.Second, AnyHost: !loopback, Log: log,
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(opts.g.io.Out, "serving the status of %s at http://%s/ (Ctrl-C stops)\n", path, ln.Addr())
	if opts.ready != nil {
		opts.ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Stopping the page is how it ends: not an interruption to report.
	return nil
}
