package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// EnvConfig is the environment variable that names the config file when
// --config is not given.
const EnvConfig = "EXMIGRATE_CONFIG"

// Lookup is what config discovery reads: the --config value and the
// process's environment. Tests give their own; nil functions and an empty
// Dir mean the process's.
type Lookup struct {
	Flag   string              // the --config value, "" when not given
	Getenv func(string) string // os.Getenv
	// Dir is the folder ./exmigrate.yaml and ./config.yaml are looked for
	// in: "" is the current folder.
	Dir string
	// UserConfigDir is os.UserConfigDir: the file there is
	// <dir>/exmigrate/config.yaml.
	UserConfigDir func() (string, error)
}

// Found is the config file discovery chose, and why.
type Found struct {
	Path string
	// From says where the choice came from: "--config",
	// "$EXMIGRATE_CONFIG", "the current folder" or "the user config
	// folder".
	From string
}

// NotFoundError is no config file anywhere discovery looks: it lists
// every place, in order, so the engineer knows where to put one.
type NotFoundError struct {
	Tried []string
}

func (e *NotFoundError) Error() string {
	return "no configuration file: give --config FILE or set $" + EnvConfig + ", or put one at " +
		strings.Join(e.Tried, ", ") + " (looked for in this order; the README's Configuration section has examples, and `exmigrate lab` writes one)"
}

// Order is the discovery order, as the help and the README say it.
func Order() string {
	return "--config, $" + EnvConfig + ", ./exmigrate.yaml, ./config.yaml, then exmigrate/config.yaml in the user config folder"
}

// Discover finds the config file: the --config value, else
// $EXMIGRATE_CONFIG, else the first of ./exmigrate.yaml, ./config.yaml and
// <user config folder>/exmigrate/config.yaml that exists. A file named by
// the flag or the variable must exist: falling back to another file when
// the named one is missing would run against the wrong organisation.
func Discover(l Lookup) (Found, error) {
	getenv := l.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if l.Flag != "" {
		return named(l.Flag, "--config")
	}
	if p := getenv(EnvConfig); p != "" {
		return named(p, "$"+EnvConfig)
	}
	var tried []string
	// The tool's own name first, so that a folder that also holds another
	// tool's config.yaml is read right when it has an exmigrate.yaml.
	for _, name := range []string{"exmigrate.yaml", "config.yaml"} {
		p := name
		if l.Dir != "" {
			p = filepath.Join(l.Dir, name)
		}
		tried = append(tried, "./"+name)
		if ok, err := isFile(p); err != nil {
			return Found{}, err
		} else if ok {
			return Found{Path: p, From: "the current folder"}, nil
		}
	}
	userDir := l.UserConfigDir
	if userDir == nil {
		userDir = os.UserConfigDir
	}
	// No user config folder ($HOME and $XDG_CONFIG_HOME unset, as in some
	// service accounts) only means there is nothing more to look at.
	if dir, err := userDir(); err == nil && dir != "" {
		p := filepath.Join(dir, "exmigrate", "config.yaml")
		tried = append(tried, p)
		if ok, err := isFile(p); err != nil {
			return Found{}, err
		} else if ok {
			return Found{Path: p, From: "the user config folder"}, nil
		}
	}
	return Found{}, &NotFoundError{Tried: tried}
}

// named checks a file the engineer named.
func named(p, from string) (Found, error) {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Found{}, fmt.Errorf("config file %s (from %s) does not exist: check the path, or leave %s out to use ./exmigrate.yaml", p, from, from)
	case err != nil:
		return Found{}, fmt.Errorf("config file %s (from %s): %w", p, from, err)
	case fi.IsDir():
		return Found{}, fmt.Errorf("config file %s (from %s) is a folder: name the YAML file in it", p, from)
	}
	return Found{Path: p, From: from}, nil
}

// isFile reports whether a looked-for file is there. A folder of that
// name, or one that cannot be read, is an error rather than skipped: the
// engineer meant it to be used.
func isFile(p string) (bool, error) {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("config file %s: %w", p, err)
	case fi.IsDir():
		return false, fmt.Errorf("config file %s is a folder, not a YAML file: rename it, or give --config", p)
	}
	return true, nil
}
