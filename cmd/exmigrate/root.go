package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/logging"
)

// Streams are the command's standard streams; tests pass buffers.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// globalOptions are the flags every command shares, and what they build.
type globalOptions struct {
	ConfigPath string
	LogLevel   string
	LogFormat  string
	// CPUProfile is the hidden --cpu-profile: a CPU profile of the run,
	// to find where the client spends its time.
	CPUProfile  string
	stopProfile func()

	io     Streams
	logger *slog.Logger
	// newLogger builds a logger like logger on another writer (the copy's
	// progress bar, which must clear itself before a log line).
	newLogger func(w io.Writer) *slog.Logger
}

// loadConfig reads the --config file; a bad file is a usage error (exit 2).
func (g *globalOptions) loadConfig() (*config.Config, error) {
	if g.ConfigPath == "" {
		return nil, usageErrorf("--config is required: the YAML file that describes both sides (see the README, or run `exmigrate lab` for one)")
	}
	cfg, err := config.Load(g.ConfigPath)
	if err != nil {
		return nil, usageError(err)
	}
	return cfg, nil
}

// Main runs exmigrate with args and returns the exit code.
func Main(ctx context.Context, args []string, io Streams) int {
	g := &globalOptions{io: io, logger: logging.Discard()}
	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	err := root.ExecuteContext(ctx)
	if g.stopProfile != nil {
		g.stopProfile()
	}
	code := exitCode(err)
	if err != nil && !errors.Is(err, errSkipped) {
		if code == ExitInterrupted {
			fmt.Fprintln(io.Err, "exmigrate: interrupted; state is saved, run the same command again to resume")
		} else {
			fmt.Fprintf(io.Err, "exmigrate: %v\n", err)
		}
	}
	return code
}

func newRootCommand(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "exmigrate",
		Short: "Assess, copy and report on mailboxes in hybrid Exchange organisations",
		Long: `exmigrate assesses, copies and reports on mailboxes in hybrid Exchange
organisations: Exchange Server on-premises through EWS (pinned URL, NTLM), and
Exchange Online through Microsoft Graph.

Exit codes: 0 ok, 1 failed, 2 usage or configuration error,
3 finished with skipped items, 130 interrupted (rerun to resume).`,
		Example: `  exmigrate demo                       # everything end to end against a local lab
  exmigrate check  --config contoso.yaml
  exmigrate assess --config contoso.yaml --mailboxes wave1.csv --out assessment.json`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			level, err := logging.ParseLevel(g.LogLevel)
			if err != nil {
				return usageError(err)
			}
			format, err := logging.ParseFormat(g.LogFormat)
			if err != nil {
				return usageError(err)
			}
			g.newLogger = func(w io.Writer) *slog.Logger { return logging.New(w, level, format) }
			g.logger = g.newLogger(g.io.Err)
			if g.CPUProfile != "" {
				f, err := os.Create(g.CPUProfile)
				if err != nil {
					return usageErrorf("--cpu-profile: %w", err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					f.Close()
					return fmt.Errorf("--cpu-profile: %w", err)
				}
				g.stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if uerr, ok := flagValueError(err); ok {
			return uerr // names the flag, the value and the range already
		}
		return usageErrorf("%v (see `%s --help`)", err, cmd.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.ConfigPath, "config", os.Getenv("EXMIGRATE_CONFIG"), "configuration file (YAML; default $EXMIGRATE_CONFIG)")
	pf.StringVar(&g.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.StringVar(&g.LogFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&g.CPUProfile, "cpu-profile", "", "write a CPU profile of the run to this file (for `go tool pprof`)")
	_ = pf.MarkHidden("cpu-profile")

	root.AddCommand(
		newCheckCommand(g, nil),
		newAssessCommand(g, nil),
		newCopyCommand(g, nil),
		newReportCommand(g, nil),
		newLabCommand(g, nil),
		newDemoCommand(g, nil),
		newCapabilitiesCommand(g, nil),
		newVersionCommand(g),
	)
	// Unknown commands and stray arguments are usage errors (exit 2).
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unknown command %q; run `exmigrate --help` for the list", strings.Join(args, " "))
		}
		return nil
	}
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	return root
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
	}
	return nil
}
