package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/logging"
)

// Streams are the command's standard streams; tests pass buffers.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// environment is what the process gives exmigrate besides its arguments
// and streams. The zero value is the process's own; tests give theirs.
type environment struct {
	Getenv func(string) string // nil: os.Getenv
	// Dir is where ./exmigrate.yaml and ./config.yaml are looked for: ""
	// is the current folder.
	Dir           string
	UserConfigDir func() (string, error) // nil: os.UserConfigDir
}

func (e environment) getenv(k string) string {
	if e.Getenv == nil {
		return os.Getenv(k)
	}
	return e.Getenv(k)
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
	env    environment
	logger *slog.Logger
	// newLogger builds a logger like logger on another writer (the copy's
	// progress bar, which must clear itself before a log line).
	newLogger func(w io.Writer) *slog.Logger
	// fromEnv names the EXMIGRATE_* variable a global flag's value came
	// from, so that a bad value is blamed on the variable, not the flag.
	fromEnv map[string]string
	// configFound is the config file loadConfig used, and why.
	configFound config.Found
}

// loadConfig reads the config file discovery finds (--config,
// $EXMIGRATE_CONFIG, ./exmigrate.yaml, ./config.yaml, the user config
// folder); no file, or a bad one, is a usage error (exit 2).
func (g *globalOptions) loadConfig() (*config.Config, error) {
	found := g.configFound
	if found.Path == "" || found.Path != g.ConfigPath {
		var err error
		found, err = config.Discover(config.Lookup{Flag: g.ConfigPath, Getenv: g.env.getenv, Dir: g.env.Dir, UserConfigDir: g.env.UserConfigDir})
		if err != nil {
			return nil, usageError(err)
		}
	}
	if g.logger != nil {
		g.logger.Debug("configuration file", "path", found.Path, "from", found.From)
	}
	cfg, err := config.Load(found.Path)
	if err != nil {
		if found.From != "--config" && found.From != "$"+config.EnvConfig {
			// A file nobody named may not be meant for exmigrate at all.
			err = fmt.Errorf("%w\n(%s was found in %s; fix it, or give --config to use another file)", err, found.Path, found.From)
		}
		return nil, usageError(err)
	}
	// Later messages name the file that was used, and a second load
	// still says where it came from.
	g.ConfigPath, g.configFound = found.Path, found
	return cfg, nil
}

// Main runs exmigrate with args and returns the exit code.
func Main(ctx context.Context, args []string, io Streams) int {
	return mainEnv(ctx, args, io, environment{})
}

// mainEnv is Main in a given environment.
func mainEnv(ctx context.Context, args []string, io Streams, env environment) int {
	g := &globalOptions{io: io, env: env, logger: logging.Discard()}
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

// envPrefix prefixes the environment variable of each global flag:
// --log-level is EXMIGRATE_LOG_LEVEL.
const envPrefix = "EXMIGRATE_"

func envName(flag string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func newRootCommand(g *globalOptions) *cobra.Command {
	bi := readBuildInfo(debug.ReadBuildInfo)
	root := &cobra.Command{
		Use:   "exmigrate",
		Short: "Assess, copy and report on mailboxes in hybrid Exchange organisations",
		Long: `exmigrate assesses, copies and reports on mailboxes in hybrid Exchange
organisations: Exchange Server on-premises through EWS (pinned URL, NTLM), and
Exchange Online through Microsoft Graph.

Configuration file, the first found of: --config, $EXMIGRATE_CONFIG,
./exmigrate.yaml, ./config.yaml, then exmigrate/config.yaml in the user
config folder (--log-level debug says which).

Environment: EXMIGRATE_CONFIG, EXMIGRATE_LOG_LEVEL and EXMIGRATE_LOG_FORMAT
stand for --config, --log-level and --log-format; a flag on the command line
wins over its variable.

Exit codes: 0 ok, 1 failed, 2 usage or configuration error,
3 finished with skipped items, 130 interrupted (rerun to resume).`,
		Example: `  exmigrate demo                       # everything end to end against a local lab
  exmigrate check  --config contoso.yaml
  exmigrate assess --config contoso.yaml --mailboxes wave1.csv --out assessment.json`,
		Version:       bi.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.applyEnv(cmd.Root().PersistentFlags()); err != nil {
				return err
			}
			level, err := logging.ParseLevel(g.LogLevel)
			if err != nil {
				return g.flagError("log-level", err)
			}
			format, err := logging.ParseFormat(g.LogFormat)
			if err != nil {
				return g.flagError("log-format", err)
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
	// --version prints what `exmigrate version` prints.
	root.SetVersionTemplate(bi.String())
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if uerr, ok := flagValueError(err); ok {
			return uerr // names the flag, the value and the range already
		}
		return usageErrorf("%v (see `%s --help`)", err, cmd.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.StringVar(&g.ConfigPath, "config", "", "configuration file (YAML; default $"+config.EnvConfig+", else ./exmigrate.yaml, ./config.yaml, then exmigrate/config.yaml in the user config folder)")
	pf.StringVar(&g.LogLevel, "log-level", "info", "log level: debug, info, warn, error ($"+envName("log-level")+")")
	pf.StringVar(&g.LogFormat, "log-format", "text", "log format: text or json ($"+envName("log-format")+")")
	pf.StringVar(&g.CPUProfile, "cpu-profile", "", "write a CPU profile of the run to this file (for go tool pprof)")
	_ = pf.MarkHidden("cpu-profile")

	root.AddCommand(
		newCheckCommand(g, nil),
		newAssessCommand(g, nil),
		newCopyCommand(g, nil),
		newFinalizeCommand(g, nil),
		newReportCommand(g, nil),
		newLabCommand(g, nil),
		newDemoCommand(g, nil),
		newCapabilitiesCommand(g, nil),
		newVersionCommand(g, bi),
		newStatusCommand(g, nil),
		newServeCommand(g, nil),
		newStateCommand(g),
		newAuditCommand(g),
		newWorkerCommand(g, nil),
	)
	root.Args = noArgs
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	root.SetHelpCommand(newHelpCommand(root))
	// cobra's completion command, made now rather than at Execute so that
	// its argument errors are usage errors (exit 2) like every other
	// command's, with a suggestion: "completion bsh" means bash.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
			c.Args = noArgs
			for _, sh := range c.Commands() {
				sh.Args = noArgs
			}
		}
	}
	plainFlagPlaceholders(root)
	registerCompletions(root, g)
	return root
}

// newHelpCommand is cobra's help command, except that an unknown topic is
// a usage error with suggestions (cobra's prints the root help and exits 0).
func newHelpCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help about any command: exmigrate help copy is exmigrate copy --help.",
		Args:  cobra.ArbitraryArgs,
		ValidArgsFunction: func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			c, _, err := root.Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []cobra.Completion
			for _, sub := range c.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(_ *cobra.Command, args []string) error {
			c, rest, err := root.Find(args)
			if err != nil {
				return usageError(err)
			}
			if len(rest) > 0 {
				return noArgs(c, rest)
			}
			// As cobra's help does: the flags Execute adds are shown too.
			c.InitDefaultHelpFlag()
			c.InitDefaultVersionFlag()
			return c.Help()
		},
	}
}

// applyEnv sets each global flag not given on the command line from its
// EXMIGRATE_* variable. --config is left to config discovery, which says
// where the file came from.
func (g *globalOptions) applyEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Hidden || f.Name == "config" {
			return
		}
		name := envName(f.Name)
		v := g.env.getenv(name)
		if v == "" {
			return
		}
		if serr := f.Value.Set(v); serr != nil {
			err = usageErrorf("$%s %q: %v", name, v, serr)
			return
		}
		if g.fromEnv == nil {
			g.fromEnv = map[string]string{}
		}
		g.fromEnv[f.Name] = name
	})
	return err
}

// flagError is a bad global flag value as a usage error, blaming the
// EXMIGRATE_* variable when the value came from it.
func (g *globalOptions) flagError(flag string, err error) error {
	if name, ok := g.fromEnv[flag]; ok {
		return usageErrorf("%v (from $%s: fix or unset it)", err, name)
	}
	return usageError(err)
}

// plainFlagPlaceholders keeps help readable: pflag takes the first
// back-quoted word of a flag's usage as its value placeholder, so a usage
// that quotes a command (the input of `exmigrate report`) would print
// "--out exmigrate report". Such quotes become plain ones; one upper-case
// word (`FILE`) stays a placeholder.
func plainFlagPlaceholders(root *cobra.Command) {
	fix := func(f *pflag.Flag) {
		name, _ := pflag.UnquoteUsage(f)
		if strings.Contains(f.Usage, "`") && !isPlaceholder(name) {
			f.Usage = strings.ReplaceAll(f.Usage, "`", "'")
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(fix)
		c.PersistentFlags().VisitAll(fix)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// isPlaceholder reports whether s reads as a value placeholder in help:
// one upper-case word such as FILE or ADDRESS.
func isPlaceholder(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && r != '_' && r != '-' {
			return false
		}
	}
	return true
}

// noArgs rejects positional arguments with a usage error; on a command
// with subcommands the argument is an unknown subcommand, and the error
// suggests the nearest ones.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasAvailableSubCommands() {
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if cmd.SuggestionsMinimumDistance <= 0 {
			cmd.SuggestionsMinimumDistance = 2 // cobra's own default, set only on its path
		}
		if sugg := cmd.SuggestionsFor(args[0]); len(sugg) > 0 {
			msg += "; did you mean " + quoteList(sugg) + "?"
		}
		return usageErrorf("%s (run `%s --help` for the list)", msg, cmd.CommandPath())
	}
	return usageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " "))
}

// quoteList is "a", "a" or "b", "a", "b" or "c".
func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
