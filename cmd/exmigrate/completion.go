package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/exmigrate/exmigrate/dispatch"
)

// Shell completion (exmigrate completion bash|zsh|fish|powershell) of flag
// values: a flag with a fixed set of values completes those, a file flag
// completes files of its kind, a free-text flag completes nothing; without
// this the shell offers file names for --direction.

// flagCompletion says how one flag's value completes.
type flagCompletion struct {
	values []string // fixed values; with list, a comma-separated list of them
	list   bool
	exts   []string // file extensions, without the dot
	dir    bool     // a folder
	none   bool     // free text: no completion
	// endpoint: an endpoint name from the config file.
	endpoint bool
}

// completions are the flags by name; a flag of the same name means the same
// thing in every command that has it, except where byCommand says otherwise.
func completions() map[string]flagCompletion {
	directions := []string{string(dispatch.Onboarding), string(dispatch.Offboarding), string(dispatch.OnPremToOnPrem), string(dispatch.CloudToCloud)}
	return map[string]flagCompletion{
		"config":                    {exts: []string{"yaml", "yml"}},
		"log-level":                 {values: []string{"debug", "info", "warn", "error"}},
		"log-format":                {values: []string{"text", "json"}},
		"cpu-profile":               {exts: []string{"pprof", "prof", "out"}},
		"direction":                 {values: directions},
		"stores":                    {values: []string{"primary", "archive", "recoverable"}, list: true},
		"recoverable-into":          {values: []string{"primary", "archive"}},
		"format":                    {values: []string{"html", "csv", "json", "md"}, list: true},
		"side":                      {values: []string{"onprem", "cloud"}},
		"mailboxes":                 {exts: []string{"csv"}},
		"mailbox-export":            {exts: []string{"csv"}},
		"permissions-export":        {exts: []string{"csv"}},
		"folder-permissions-export": {exts: []string{"csv"}},
		"scenario":                  {exts: []string{"yaml", "yml"}},
		"in":                        {exts: []string{"json"}},
		"copy-results":              {exts: []string{"db"}},
		"state":                     {exts: []string{"db"}},
		"audit-log":                 {exts: []string{"jsonl"}},
		"dir":                       {dir: true},
		"mailbox":                   {none: true},
		"from":                      {endpoint: true},
		"folder":                    {none: true},
		"rename-folder":             {none: true},
		"title":                     {none: true},
		"organisation":              {none: true},
		"mail-to":                   {none: true},
		"mail-from":                 {none: true},
		"teams-workflow-env":        {none: true},
		"batch":                     {none: true},
		"csv-separator":             {values: []string{"comma", "semicolon", "tab", "pipe"}},
		"csv-locale":                {none: true}, // any locale name, or auto
		"listen":                    {none: true},
		"older-than":                {none: true},
		"note":                      {none: true},
		"notify":                    {none: true},
		"notify-from":               {none: true},
		"queue-timeout":             {none: true}, // a duration
		"grace":                     {none: true}, // a duration
	}
}

// byCommand are the flags whose meaning depends on the command.
func byCommand() map[string]map[string]flagCompletion {
	return map[string]map[string]flagCompletion{
		"exmigrate assess":     {"out": {exts: []string{"json"}}},
		"exmigrate report":     {"out": {dir: true}},
		"exmigrate copy":       {"to": {endpoint: true}, "output": {values: []string{"table", "json"}}},
		"exmigrate finalize":   {"to": {endpoint: true}},
		"exmigrate lab change": {"to": {none: true}}, // a folder
	}
}

// registerCompletions gives every flag in the tree the completion its
// name says, unless its command registered one itself.
func registerCompletions(root *cobra.Command, g *globalOptions) {
	all, special := completions(), byCommand()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalNonPersistentFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				fc, ok := special[c.CommandPath()][f.Name]
				if !ok {
					fc, ok = all[f.Name]
				}
				if !ok && isNumberFlag(f) {
					// A number: nothing to offer, and never a file name.
					fc, ok = flagCompletion{none: true}, true
				}
				if !ok {
					return
				}
				if _, done := c.GetFlagCompletionFunc(f.Name); done {
					return
				}
				fn := fc.complete
				if fc.endpoint {
					fn = g.completeEndpoints
				}
				_ = c.RegisterFlagCompletionFunc(f.Name, fn)
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// isNumberFlag: the numeric flags of flagrange.go and pflag's own.
func isNumberFlag(f *pflag.Flag) bool {
	switch f.Value.Type() {
	case "int", "int64", "uint", "uint64", "float64", "duration":
		return true
	}
	return false
}

// completeEndpoints offers the endpoint names of the config file the
// command would use (--config, or the one discovery finds).
func (g *globalOptions) completeEndpoints(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return cfg.EndpointNames(), cobra.ShellCompDirectiveNoFileComp
}

// complete is the cobra completion function of the flag.
func (fc flagCompletion) complete(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	switch {
	case fc.dir:
		return nil, cobra.ShellCompDirectiveFilterDirs
	case len(fc.exts) > 0:
		return fc.exts, cobra.ShellCompDirectiveFilterFileExt
	case fc.none:
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	if !fc.list {
		return fc.values, cobra.ShellCompDirectiveNoFileComp
	}
	// A list completes its last element; the values already given are
	// not offered again.
	done, last := "", toComplete
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		done, last = toComplete[:i+1], toComplete[i+1:]
	}
	given := map[string]bool{}
	for _, v := range strings.Split(strings.TrimSuffix(done, ","), ",") {
		given[strings.TrimSpace(v)] = true
	}
	var out []string
	for _, v := range fc.values {
		if !given[v] && strings.HasPrefix(v, last) {
			out = append(out, done+v)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}
