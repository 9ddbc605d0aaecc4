package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/internal/lab"
	"github.com/exmigrate/exmigrate/internal/logging"
)

// runEnv runs exmigrate in env: vars are its whole environment, dir its
// current folder (for config discovery) and userDir its user config
// folder, so that the machine's own never leak in.
func runEnv(t *testing.T, vars map[string]string, dir, userDir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := environment{
		Getenv:        func(k string) string { return vars[k] },
		Dir:           dir,
		UserConfigDir: func() (string, error) { return userDir, nil },
	}
	code = mainEnv(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, env)
	return code, out.String(), errb.String()
}

// Without --config, a command uses $EXMIGRATE_CONFIG, else ./exmigrate.yaml,
// else ./config.yaml (the lab writes one), else the user config folder's;
// debug logs name the file chosen.
func TestConfigDiscoveryInCommands(t *testing.T) {
	l, labDir := startSmallLab(t, lab.Options{})
	empty := t.TempDir()
	userDir := t.TempDir()
	// The user config folder's exmigrate/ is the lab's folder, so that
	// the config's relative paths (CA, password file) still resolve.
	if err := os.Symlink(labDir, filepath.Join(userDir, "exmigrate")); err != nil {
		t.Fatal(err)
	}
	userCfg := filepath.Join(userDir, "exmigrate", "config.yaml")
	broken := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(broken, []byte("not_exmigrate: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		vars    map[string]string
		dir     string
		user    string
		args    []string
		code    int
		wantErr []string
	}{
		{name: "config.yaml in the current folder", dir: labDir, user: empty, code: ExitOK,
			wantErr: []string{`msg="configuration file" path=` + filepath.Join(labDir, "config.yaml") + ` from="the current folder"`}},
		{name: "$EXMIGRATE_CONFIG", vars: map[string]string{"EXMIGRATE_CONFIG": l.ConfigPath}, dir: empty, user: empty, code: ExitOK,
			wantErr: []string{`path=` + l.ConfigPath + ` from=$EXMIGRATE_CONFIG`}},
		{name: "the user config folder", dir: empty, user: userDir, code: ExitOK,
			wantErr: []string{`path=` + userCfg + ` from="the user config folder"`}},
		{name: "--config wins over the variable", vars: map[string]string{"EXMIGRATE_CONFIG": broken}, dir: empty, user: empty,
			args: []string{"--config", l.ConfigPath}, code: ExitOK, wantErr: []string{`from=--config`}},
		{name: "none anywhere", dir: empty, user: empty, code: ExitUsage,
			wantErr: []string{"no configuration file: give --config FILE or set $EXMIGRATE_CONFIG, or put one at ./exmigrate.yaml, ./config.yaml, " + filepath.Join(empty, "exmigrate", "config.yaml")}},
		{name: "a found file that is not exmigrate's", dir: filepath.Dir(broken), user: empty, code: ExitUsage,
			wantErr: []string{"not_exmigrate", "(" + broken + " was found in the current folder; fix it, or give --config to use another file)"}},
		{name: "a named file that is missing", vars: map[string]string{"EXMIGRATE_CONFIG": filepath.Join(empty, "gone.yaml")}, dir: labDir, user: empty,
			code: ExitUsage, wantErr: []string{"gone.yaml (from $EXMIGRATE_CONFIG) does not exist: check the path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"check", "--log-level", "debug"}, tt.args...)
			code, out, stderr := runEnv(t, tt.vars, tt.dir, tt.user, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, stderr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// EXMIGRATE_LOG_LEVEL and EXMIGRATE_LOG_FORMAT stand for the global flags;
// a flag on the command line wins; a bad value names the variable.
func TestGlobalFlagsFromEnvironment(t *testing.T) {
	l, _ := startSmallLab(t, lab.Options{})
	empty := t.TempDir()
	tests := []struct {
		name      string
		vars      map[string]string
		args      []string
		code      int
		wantDebug bool
		wantJSON  bool
		wantErr   string
	}{
		{name: "level from the environment", vars: map[string]string{"EXMIGRATE_LOG_LEVEL": "debug"}, code: ExitOK, wantDebug: true},
		{name: "format from the environment", vars: map[string]string{"EXMIGRATE_LOG_LEVEL": "debug", "EXMIGRATE_LOG_FORMAT": "json"}, code: ExitOK, wantDebug: true, wantJSON: true},
		{name: "the flag wins", vars: map[string]string{"EXMIGRATE_LOG_LEVEL": "debug"}, args: []string{"--log-level", "warn"}, code: ExitOK},
		{name: "no variable, no debug", code: ExitOK},
		{name: "bad level", vars: map[string]string{"EXMIGRATE_LOG_LEVEL": "loud"}, code: ExitUsage,
			wantErr: `--log-level "loud": use debug, info, warn or error (from $EXMIGRATE_LOG_LEVEL: fix or unset it)`},
		{name: "bad format", vars: map[string]string{"EXMIGRATE_LOG_FORMAT": "xml"}, code: ExitUsage,
			wantErr: `--log-format "xml": use text or json (from $EXMIGRATE_LOG_FORMAT: fix or unset it)`},
		{name: "a bad variable does not matter when the flag is given", vars: map[string]string{"EXMIGRATE_LOG_LEVEL": "loud"},
			args: []string{"--log-level", "info"}, code: ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"check", "--config", l.ConfigPath}, tt.args...)
			code, _, stderr := runEnv(t, tt.vars, empty, empty, args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if tt.wantErr != "" && !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr)
			}
			if tt.code != ExitOK {
				return
			}
			debugLine := strings.Contains(stderr, "configuration file")
			if debugLine != tt.wantDebug {
				t.Errorf("debug line logged: %v, want %v; stderr:\n%s", debugLine, tt.wantDebug, stderr)
			}
			if tt.wantJSON {
				for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
					if !json.Valid([]byte(line)) {
						t.Errorf("log line is not JSON: %s", line)
					}
				}
			}
		})
	}
}

// The help names the variables and the discovery order.
func TestHelpDocumentsEnvironmentAndDiscovery(t *testing.T) {
	code, out, _ := runEnv(t, nil, t.TempDir(), t.TempDir(), "--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "the first found of: "+config.Order()+" (") {
		t.Errorf("--help does not give the discovery order %q:\n%s", config.Order(), out)
	}
	for _, want := range []string{"EXMIGRATE_CONFIG", "EXMIGRATE_LOG_LEVEL", "EXMIGRATE_LOG_FORMAT", "a flag on the command line\nwins",
		"($EXMIGRATE_LOG_LEVEL)", "($EXMIGRATE_LOG_FORMAT)", "Exit codes: 0 ok, 1 failed, 2 usage or configuration error"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q:\n%s", want, out)
		}
	}
}

func TestBuildInfo(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/exmigrate/exmigrate", Version: "v0.4.0-20261130015253-a0ad191e1e1e+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "a0ad191e1e1e"}, {Key: "vcs.time", Value: "2026-11-30T01:52:53Z"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name                        string
		bi                          *debug.BuildInfo
		ldVersion, ldCommit, ldDate string
		want                        []string
	}{
		{name: "stamped by go build in a clone", bi: stamped, want: []string{
			"exmigrate v0.4.0-20261130015253-a0ad191e1e1e+dirty\n", "commit  a0ad191e1e1e (with uncommitted changes)\n",
			"built   from a commit of 2026-11-30T01:52:53Z\n", "go      go1.26.8 "}},
		{name: "release build with -ldflags -X", bi: stamped, ldVersion: "v1.2.3", ldCommit: "0123456789ab", ldDate: "2026-12-01T10:00:00Z", want: []string{
			"exmigrate v1.2.3\n", "commit  0123456789ab\n", "built   2026-12-01T10:00:00Z\n"}},
		{name: "no build information", want: []string{"exmigrate devel\n", "commit  unknown (built without VCS information", "built   unknown\n"}},
		{name: "a devel module without VCS", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, want: []string{"exmigrate devel\n", "commit  unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read := func() (*debug.BuildInfo, bool) { return tt.bi, tt.bi != nil }
			got := mergeBuildInfo(read, tt.ldVersion, tt.ldCommit, tt.ldDate).String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("version text lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

// version and --version print the same, with commit and date lines.
func TestVersionCommandAndFlag(t *testing.T) {
	var outs []string
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		code, out, stderr := run(t, args...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d, stderr %s", args, code, stderr)
		}
		if !strings.HasPrefix(out, "exmigrate ") || !strings.Contains(out, "\ncommit  ") || !strings.Contains(out, "\nbuilt   ") || !strings.Contains(out, "\ngo      ") {
			t.Errorf("%v prints:\n%s", args, out)
		}
		outs = append(outs, out)
	}
	if outs[0] != outs[1] || outs[1] != outs[2] {
		t.Errorf("version, --version and -v differ:\n%s\n%s\n%s", outs[0], outs[1], outs[2])
	}
}

// Unknown commands are usage errors that suggest the nearest command.
func TestUnknownCommandSuggests(t *testing.T) {
	tests := []struct {
		args []string
		want string
		not  string
	}{
		{[]string{"cpy"}, `unknown command "cpy" for "exmigrate"; did you mean "copy"? (run ` + "`exmigrate --help`" + ` for the list)`, ""},
		{[]string{"asess", "--config", "x.yaml"}, `did you mean "assess"?`, ""},
		{[]string{"reprot"}, `did you mean "report"?`, ""},
		{[]string{"lab", "chnage"}, `unknown command "chnage" for "exmigrate lab"; did you mean "change"? (run ` + "`exmigrate lab --help`", ""},
		{[]string{"migrate-everything"}, `unknown command "migrate-everything" for "exmigrate" (run`, "did you mean"},
		{[]string{"version", "now"}, `exmigrate version takes no arguments, got "now"`, "unknown command"},
		{[]string{"help", "cpy"}, `unknown command "cpy" for "exmigrate"; did you mean "copy"?`, ""},
		{[]string{"help", "lab", "chnage"}, `did you mean "change"?`, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", stderr, tt.want)
			}
			if tt.not != "" && strings.Contains(stderr, tt.not) {
				t.Errorf("stderr %q has %q", stderr, tt.not)
			}
		})
	}
}

// help TOPIC is TOPIC --help.
func TestHelpCommand(t *testing.T) {
	for _, topic := range [][]string{{"copy"}, {"lab", "change"}} {
		code, out, stderr := run(t, append([]string{"help"}, topic...)...)
		_, want, _ := run(t, append(topic, "--help")...)
		if code != ExitOK || out != want {
			t.Errorf("help %v: exit %d, %s\n%s\nwant:\n%s", topic, code, stderr, out, want)
		}
	}
	if got, _ := complete(t, "help", "ca"); strings.Join(got, " ") != "capabilities" {
		t.Errorf("help ca completes %q, want capabilities", got)
	}
}

// complete asks cobra's hidden __complete command, as the shell scripts
// of `exmigrate completion` do, and returns the offers and the directive.
func complete(t *testing.T, args ...string) (offers []string, directive string) {
	t.Helper()
	code, out, stderr := run(t, append([]string{cobra.ShellCompRequestCmd}, args...)...)
	if code != ExitOK {
		t.Fatalf("__complete %v: exit %d, %s", args, code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		t.Fatalf("__complete %v: no directive in %q", args, out)
	}
	for _, l := range lines[:len(lines)-1] {
		offers = append(offers, strings.SplitN(l, "\t", 2)[0])
	}
	return offers, last
}

func TestFlagValueCompletion(t *testing.T) {
	const (
		noFile  = ":4"  // ShellCompDirectiveNoFileComp
		listEnd = ":6"  // NoSpace|NoFileComp: a list goes on after a comma
		fileExt = ":8"  // ShellCompDirectiveFilterFileExt
		dirs    = ":16" // ShellCompDirectiveFilterDirs
	)
	tests := []struct {
		args      []string
		want      []string
		directive string
	}{
		{[]string{"copy", "--direction", ""}, []string{"onboarding", "offboarding", "onprem-to-onprem", "cloud-to-cloud"}, noFile},
		{[]string{"check", "--direction", ""}, []string{"onboarding", "offboarding", "onprem-to-onprem", "cloud-to-cloud"}, noFile},
		{[]string{"copy", "--log-level", ""}, []string{"debug", "info", "warn", "error"}, noFile},
		{[]string{"version", "--log-format", ""}, []string{"text", "json"}, noFile},
		{[]string{"copy", "--stores", ""}, []string{"primary", "archive", "recoverable"}, listEnd},
		{[]string{"copy", "--stores", "primary,"}, []string{"primary,archive", "primary,recoverable"}, listEnd},
		{[]string{"copy", "--stores", "primary,re"}, []string{"primary,recoverable"}, listEnd},
		{[]string{"copy", "--recoverable-into", ""}, []string{"primary", "archive"}, noFile},
		{[]string{"report", "--format", "html,c"}, []string{"html,csv"}, listEnd},
		{[]string{"lab", "change", "--side", ""}, []string{"onprem", "cloud"}, noFile},
		{[]string{"copy", "--config", ""}, []string{"yaml", "yml"}, fileExt},
		{[]string{"copy", "--mailboxes", ""}, []string{"csv"}, fileExt},
		{[]string{"assess", "--out", ""}, []string{"json"}, fileExt},
		{[]string{"report", "--in", ""}, []string{"json"}, fileExt},
		{[]string{"report", "--out", ""}, nil, dirs},
		{[]string{"demo", "--scenario", ""}, []string{"yaml", "yml"}, fileExt},
		{[]string{"lab", "--dir", ""}, nil, dirs},
		{[]string{"check", "--mailbox", ""}, nil, noFile},
		{[]string{"lab", "change", "--to", ""}, nil, noFile},
		{[]string{"status", "--state", ""}, []string{"db"}, fileExt},
		{[]string{"status", "-o", ""}, []string{"table", "json", "csv"}, noFile},
		{[]string{"serve", "--listen", ""}, nil, noFile},
		{[]string{"state", "prune", "--older-than", ""}, nil, noFile},
		{[]string{"copy", "--batch", ""}, nil, noFile},
		{[]string{"report", "--csv-separator", ""}, []string{"comma", "semicolon", "tab", "pipe"}, noFile},
		{[]string{"report", "--csv-locale", ""}, nil, noFile},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, directive := complete(t, tt.args...)
			if strings.Join(got, " ") != strings.Join(tt.want, " ") || directive != tt.directive {
				t.Errorf("offers %q %s, want %q %s", got, directive, tt.want, tt.directive)
			}
		})
	}
}

// Every flag that takes a value says how it completes, so that the shell
// never offers file names for a value that is not a file.
func TestEveryFlagCompletes(t *testing.T) {
	walkCommands(newRootCommand(&globalOptions{}), func(c *cobra.Command) {
		check := func(f *pflag.Flag) {
			if f.NoOptDefVal != "" || f.Value.Type() == "bool" || f.Name == "help" || f.Name == "version" {
				return // takes no value
			}
			if _, ok := c.GetFlagCompletionFunc(f.Name); !ok {
				t.Errorf("%s --%s has no completion: add it to completions() in completion.go (values, file extensions, a folder, or none)", c.CommandPath(), f.Name)
			}
		}
		c.LocalNonPersistentFlags().VisitAll(check)
		c.PersistentFlags().VisitAll(check)
	})
}

// --from and --to complete the endpoint names of the config file.
func TestEndpointCompletion(t *testing.T) {
	l, _ := startSmallLab(t, lab.Options{})
	for _, flag := range []string{"--from", "--to"} {
		got, directive := complete(t, "copy", "--config", l.ConfigPath, flag, "")
		if strings.Join(got, " ") != "onprem cloud" || directive != ":4" {
			t.Errorf("copy %s offers %q %s, want the lab's endpoints cloud and onprem", flag, got, directive)
		}
	}
}

// Every flag's help shows a placeholder that reads as one: pflag takes a
// back-quoted phrase of the usage as the placeholder.
func TestFlagPlaceholders(t *testing.T) {
	walkCommands(newRootCommand(&globalOptions{}), func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			if strings.ContainsAny(name, " `'\"") {
				t.Errorf("%s --%s shows the placeholder %q", c.CommandPath(), f.Name, name)
			}
		})
	})
	code, out, _ := run(t, "assess", "--help")
	if code != ExitOK || strings.Contains(out, "--out exmigrate report") || !strings.Contains(out, "--out FILE") {
		t.Errorf("assess --help:\n%s", out)
	}
}

func walkCommands(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walkCommands(sub, fn)
	}
}

// errSkipped is not printed as an error: the command already said what
// was skipped.
func TestExitCodeMapping(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{nil, ExitOK},
		{errors.New("boom"), ExitFailed},
		{usageErrorf("bad"), ExitUsage},
		{errSkipped, ExitSkipped},
		{context.Canceled, ExitInterrupted},
		{errors.Join(errors.New("wrapped"), context.Canceled), ExitInterrupted},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.code {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.code)
		}
	}
}

// assess writes the assessment even when a mailbox cannot be read, and
// then exits 1 naming the mailbox, so that a script does not take it for
// complete.
func TestAssessUnreadableMailboxExits1(t *testing.T) {
	l, dir := startSmallLab(t, lab.Options{})
	list := filepath.Join(dir, "with-nobody.csv")
	if err := os.WriteFile(list, []byte("EmailAddress\nalex@fabrikam.com\nnobody@contoso.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, list string
		code       int
		wantErr    string
	}{
		{"every mailbox read", l.MailboxesCSV, ExitOK, ""},
		{"one unreadable", list, ExitFailed, "1 of 2 mailbox(es) could not be read (nobody@contoso.com): "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "assessment.json")
			code, stdout, stderr := run(t, "assess", "--config", l.ConfigPath, "--mailboxes", tt.list, "--out", out)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tt.code, stdout, stderr)
			}
			if tt.wantErr != "" && !strings.Contains(stderr, tt.wantErr+out+" marks them unreadable") {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr)
			}
			if _, err := os.Stat(out); err != nil {
				t.Errorf("the assessment was not written: %v", err)
			}
		})
	}
}

// Each command exits as the README's exit code table says. Copy's 3 is
// TestMaxSkippedFailsTheMailbox's, the demo's 3 TestDemo's.
func TestExitCodesPerCommand(t *testing.T) {
	l, dir := startSmallLab(t, lab.Options{})
	notJSON := filepath.Join(dir, "not-an-assessment.json")
	if err := os.WriteFile(notJSON, []byte("{\"hello\": 1"), 0o600); err != nil {
		t.Fatal(err)
	}
	assessment := filepath.Join(dir, "assessment.json")
	if code, _, stderr := run(t, "assess", "--config", l.ConfigPath, "--mailboxes", l.MailboxesCSV, "--out", assessment); code != ExitOK {
		t.Fatalf("assess: exit %d: %s", code, stderr)
	}
	missing := filepath.Join(dir, "missing.yaml")
	noLab := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"check ok", []string{"check", "--config", l.ConfigPath}, ExitOK},
		{"check of a mailbox nowhere", []string{"check", "--config", l.ConfigPath, "--mailbox", "nobody@contoso.com"}, ExitFailed},
		{"check with a missing config", []string{"check", "--config", missing}, ExitUsage},
		{"copy ok", []string{"copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV}, ExitOK},
		{"copy with a bad direction", []string{"copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV, "--direction", "sideways"}, ExitUsage},
		{"report ok", []string{"report", "--in", assessment, "--out", filepath.Join(dir, "report")}, ExitOK},
		{"report of no file", []string{"report", "--in", missing}, ExitUsage},
		{"report of a file that is not an assessment", []string{"report", "--in", notJSON, "--out", filepath.Join(dir, "report2")}, ExitFailed},
		{"lab with a missing scenario", []string{"lab", "--dir", t.TempDir(), "--scenario", missing}, ExitUsage},
		{"lab writes with no lab", []string{"lab", "writes", "--dir", noLab}, ExitFailed},
		{"lab change with nothing to change", []string{"lab", "change", "--dir", noLab, "--mailbox", "a@b.c"}, ExitUsage},
		{"demo with a missing scenario", []string{"demo", "--dir", t.TempDir(), "--scenario", missing}, ExitUsage},
		{"status after the copy", []string{"status", "--config", l.ConfigPath}, ExitOK},
		{"status of a state file that does not exist", []string{"status", "--state", filepath.Join(dir, "none.db")}, ExitUsage},
		{"state prune without what to prune", []string{"state", "prune", "--config", l.ConfigPath, "--older-than", "30d"}, ExitUsage},
		{"state prune, a dry run", []string{"state", "prune", "--config", l.ConfigPath, "--completed", "--older-than", "30d"}, ExitOK},
		{"serve with a bad --listen", []string{"serve", "--config", l.ConfigPath, "--listen", "nowhere"}, ExitUsage},
		{"capabilities", []string{"capabilities"}, ExitOK},
		{"capabilities with an argument", []string{"capabilities", "all"}, ExitUsage},
		{"version", []string{"version"}, ExitOK},
		{"completion", []string{"completion", "bash"}, ExitOK},
		{"completion with an argument", []string{"completion", "bash", "now"}, ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, stderr)
			}
		})
	}
	t.Run("copy interrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var out, errb bytes.Buffer
		code := Main(ctx, []string{"copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV}, Streams{Out: &out, Err: &errb})
		if code != ExitInterrupted || !strings.Contains(errb.String(), "interrupted; state is saved") {
			t.Errorf("exit %d, want %d; stderr %s", code, ExitInterrupted, errb.String())
		}
	})
}

// The README's exit code table has a row for every command, and names no
// command that does not exist.
func TestReadmeExitCodeTableCoversEveryCommand(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "### Exit codes\n")
	if !ok {
		t.Fatal("README.md has no ### Exit codes section")
	}
	section, _, _ = strings.Cut(section, "\n#")
	documented := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, c := range strings.Split(first, ",") {
			documented[strings.Trim(strings.TrimSpace(c), "`")] = true
		}
	}
	root := newRootCommand(&globalOptions{})
	walkCommands(root, func(c *cobra.Command) {
		if c == root || c.Hidden || c.Name() == "help" || (c.Parent() != nil && c.Parent().Name() == "completion") {
			return
		}
		name := strings.TrimPrefix(c.CommandPath(), "exmigrate ")
		if !documented[name] && !isGroup(c) {
			t.Errorf("the README's exit code table has no row for %s", name)
		}
		delete(documented, name)
	})
	for name := range documented {
		t.Errorf("the README's exit code table names %q, which is no command", name)
	}
}

// status finds the state file through the config that discovery finds,
// like every command, not only through --config.
func TestStatusFindsTheConfigWithoutFlag(t *testing.T) {
	l, labDir := startSmallLab(t, lab.Options{})
	if code, _, stderr := run(t, "copy", "--config", l.ConfigPath, "--mailboxes", l.CopyCSV); code != ExitOK {
		t.Fatalf("copy: exit %d: %s", code, stderr)
	}
	code, out, stderr := runEnv(t, nil, labDir, t.TempDir(), "status", "-o", "json")
	if code != ExitOK || !strings.Contains(out, "alex@fabrikam.com") {
		t.Errorf("status in the lab's folder: exit %d\n%s\n%s", code, out, stderr)
	}
	code, _, stderr = runEnv(t, nil, t.TempDir(), t.TempDir(), "status")
	if code != ExitUsage || !strings.Contains(stderr, "no state file: give --state, or --config whose state.path names it (no configuration file: ") {
		t.Errorf("status with no config anywhere: exit %d: %s", code, stderr)
	}
}

// A second load (status reads the config for its state file, completion
// for endpoint names) still knows where the file came from.
func TestLoadConfigTwiceKeepsItsSource(t *testing.T) {
	_, labDir := startSmallLab(t, lab.Options{})
	var logs bytes.Buffer
	g := &globalOptions{
		env:    environment{Getenv: func(string) string { return "" }, Dir: labDir, UserConfigDir: func() (string, error) { return t.TempDir(), nil }},
		logger: logging.New(&logs, slog.LevelDebug, logging.Text),
	}
	for range 2 {
		if _, err := g.loadConfig(); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), `from="the current folder"`); n != 2 {
		t.Errorf("the two loads logged their source %d times as the current folder:\n%s", n, logs.String())
	}
}
