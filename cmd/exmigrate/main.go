// Command exmigrate assesses, copies and reports on mailboxes in hybrid
// Exchange organisations: Exchange Server through EWS, Exchange Online
// through Microsoft Graph.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// SIGINT and SIGTERM cancel the context that every network call takes,
	// so a copy stops cleanly, saves its state and exits 130.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
