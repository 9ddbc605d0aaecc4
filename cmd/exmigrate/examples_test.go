package main

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// repoRoot is the repository, from this package's folder.
var repoRoot = filepath.Join("..", "..")

// example is one command line from a command's Example or the README.
type example struct {
	where string // "copy --help" or "README.md:123"
	line  string
}

// helpExamples are the example lines of every command's help.
func helpExamples(t *testing.T) []example {
	t.Helper()
	var out []example
	walkCommands(newRootCommand(&globalOptions{}), func(c *cobra.Command) {
		for _, line := range strings.Split(c.Example, "\n") {
			if strings.TrimSpace(line) != "" {
				out = append(out, example{where: c.CommandPath() + " --help", line: line})
			}
		}
	})
	return out
}

// readmeExamples are the command lines of the README's shell blocks
// (continuation lines joined) and of its command table.
func readmeExamples(t *testing.T) []example {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []example
	sc := bufio.NewScanner(f)
	inBlock, n, pending, start := false, 0, "", 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock
			continue
		}
		if inBlock {
			if pending != "" {
				pending += " " + strings.TrimSpace(line)
			} else if l := strings.TrimPrefix(strings.TrimSpace(line), "$ "); strings.HasPrefix(l, "exmigrate ") {
				pending, start = l, n
			}
			if pending != "" {
				if strings.HasSuffix(pending, "\\") {
					pending = strings.TrimSuffix(pending, "\\")
					continue
				}
				out = append(out, example{where: "README.md:" + itoa(int64(start)), line: pending})
				pending = ""
			}
			continue
		}
		// The command table: | `cmd` | what | `exmigrate cmd ...` |
		if strings.HasPrefix(line, "| `") {
			cells := strings.Split(line, "|")
			last := strings.TrimSpace(cells[len(cells)-2])
			if strings.HasPrefix(last, "`exmigrate ") {
				out = append(out, example{where: "README.md:" + itoa(int64(n)), line: strings.Trim(last, "`")})
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// splitCommandLine splits a shell command line into words: quotes group,
// a # starts a comment. It refuses what the examples should not need
// (pipes, substitutions, unbalanced quotes).
func splitCommandLine(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '#' && !inWord:
			return finishWord(words, &cur, inWord), nil
		case r == ' ' || r == '\t':
			words = finishWord(words, &cur, inWord)
			inWord = false
		case r == '>' && !inWord && quote == 0:
			// Output redirected to a file: the command's words end here.
			return finishWord(words, &cur, inWord), nil
		case r == '|' || r == '$' || r == '`' || r == ';' || r == '&' || r == '<':
			return nil, errors.New("has shell syntax (" + string(r) + "); an example is one plain command")
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, errors.New("has an unbalanced quote")
	}
	return finishWord(words, &cur, inWord), nil
}

func finishWord(words []string, cur *strings.Builder, inWord bool) []string {
	if inWord {
		words = append(words, cur.String())
	}
	cur.Reset()
	return words
}

// checkExample parses an example with the real command tree and flag
// sets, and returns what is wrong with it: an unknown command or flag, a
// value the flag refuses or does not offer, an argument the command does
// not take, or a file of this repository that does not exist.
func checkExample(line string) []string {
	words, err := splitCommandLine(line)
	if err != nil {
		return []string{err.Error()}
	}
	if len(words) == 0 || words[0] != "exmigrate" {
		return []string{"does not start with exmigrate"}
	}
	root := newRootCommand(&globalOptions{})
	cmd, rest, err := root.Find(words[1:])
	if err != nil {
		return []string{err.Error()}
	}
	// Execute adds these; the examples may use them.
	root.InitDefaultVersionFlag()
	cmd.InitDefaultHelpFlag()
	if err := cmd.ParseFlags(rest); err != nil {
		return []string{err.Error()}
	}
	var problems []string
	positional := cmd.Flags().Args()
	if cmd.Args != nil {
		if err := cmd.Args(cmd, positional); err != nil {
			problems = append(problems, err.Error())
		}
	}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		v := f.Value.String()
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			v = strings.Join(sv.GetSlice(), ",")
		}
		// A flag that completes a fixed set of values must get one of
		// them (each, in a comma-separated list); the set is the one the
		// shell offers, from whichever file registered it.
		if complete, ok := cmd.GetFlagCompletionFunc(f.Name); ok {
			offered, directive := complete(cmd, nil, "")
			if len(offered) > 0 && directive&cobra.ShellCompDirectiveFilterFileExt == 0 {
				for _, p := range strings.Split(v, ",") {
					if !slices.Contains(offered, p) {
						problems = append(problems, "--"+f.Name+" "+p+": not one of "+strings.Join(offered, ", "))
					}
				}
			}
		}
		problems = append(problems, missingRepoFile(v)...)
	})
	for _, p := range positional {
		problems = append(problems, missingRepoFile(p)...)
	}
	return problems
}

// missingRepoFile: a path whose first element is a folder of this
// repository (testdata/lab/load.yaml) must exist; other paths
// (contoso.yaml, lab/config.yaml) are the user's.
func missingRepoFile(p string) []string {
	if !strings.Contains(p, "/") || filepath.IsAbs(p) {
		return nil
	}
	first := strings.Split(filepath.ToSlash(p), "/")[0]
	if fi, err := os.Stat(filepath.Join(repoRoot, first)); err != nil || !fi.IsDir() {
		return nil
	}
	if _, err := os.Stat(filepath.Join(repoRoot, p)); err != nil {
		return []string{p + " does not exist in the repository"}
	}
	return nil
}

// Every example of every command's help, and every command line of the
// README, parses with the real flags and names only files that exist.
func TestExamplesParse(t *testing.T) {
	help, readme := helpExamples(t), readmeExamples(t)
	t.Logf("%d help examples, %d README command lines", len(help), len(readme))
	all := append(help, readme...)
	if len(help) < 25 || len(readme) < 15 {
		t.Fatalf("found %d examples; the extraction is broken", len(all))
	}
	for _, ex := range all {
		for _, p := range checkExample(ex.line) {
			t.Errorf("%s: %q: %s", ex.where, strings.TrimSpace(ex.line), p)
		}
	}
}

// Every command a person runs has examples in its help.
func TestEveryCommandHasExamples(t *testing.T) {
	walkCommands(newRootCommand(&globalOptions{}), func(c *cobra.Command) {
		if c.Hidden || !c.Runnable() || isGroup(c) || c.Name() == "help" || (c.Parent() != nil && c.Parent().Name() == "completion") {
			return
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s has no Example", c.CommandPath())
		}
	})
}

// isGroup: a command that only groups subcommands (state, completion): no
// flags of its own, and it prints its help.
func isGroup(c *cobra.Command) bool {
	return c.HasAvailableSubCommands() && !c.LocalNonPersistentFlags().HasFlags()
}

// The examples that need no server run, and succeed.
func TestHarmlessExamplesRun(t *testing.T) {
	ran := 0
	for _, ex := range helpExamples(t) {
		words, err := splitCommandLine(ex.line)
		if err != nil || len(words) < 2 {
			continue
		}
		switch words[1] {
		case "version", "--version", "capabilities":
		default:
			continue
		}
		ran++
		code, _, stderr := run(t, words[1:]...)
		if code != ExitOK {
			t.Errorf("%s: %q exits %d: %s", ex.where, ex.line, code, stderr)
		}
	}
	if ran < 3 {
		t.Errorf("ran %d examples, want the version and capabilities ones", ran)
	}
}

// The checker itself finds broken examples.
func TestExampleCheckerFindsBrokenExamples(t *testing.T) {
	tests := []struct {
		line string
		want string
	}{
		{"exmigrate lab --dir lab/ --scenario testdata/lab/large.yaml", "testdata/lab/large.yaml does not exist in the repository"},
		{"exmigrate cpy --config contoso.yaml", `unknown command "cpy"`},
		{"exmigrate copy --paralel 4", "unknown flag: --paralel"},
		{"exmigrate copy --parallel 0", "--parallel 0 is out of range"},
		{"exmigrate copy --direction sideways", "--direction sideways: not one of onboarding"},
		{"exmigrate copy --stores primary,attic", "--stores attic: not one of primary, archive, recoverable"},
		{"exmigrate version now", "takes no arguments"},
		{"exmigrate assess --out $(date).json", "has shell syntax"},
		{"exmigrate lab --dir 'lab", "unbalanced quote"},
		{"exmigrate capabilities --json > caps.json", ""},
		{"exmigrate --version", ""},
		{"go run ./cmd/exmigrate", "does not start with exmigrate"},
	}
	for _, tt := range tests {
		got := strings.Join(checkExample(tt.line), "; ")
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("%q: problems %q, want %q", tt.line, got, tt.want)
		}
	}
	if got := checkExample("exmigrate lab --dir lab/ --scenario testdata/lab/load.yaml --latency 20ms"); len(got) != 0 {
		t.Errorf("a good example has problems: %q", got)
	}
}
