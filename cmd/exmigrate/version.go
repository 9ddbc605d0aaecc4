package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Set at build time by a release, for example
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse HEAD) -X main.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" ./cmd/exmigrate
//
// Each one left empty is read from the build information Go stamps into
// the binary (module version, VCS revision and commit time). They are set
// only by the linker, never at run time.
var (
	version = ""
	commit  = ""
	date    = ""
)

// buildInfo is what `exmigrate version` and `--version` print.
type buildInfo struct {
	Version  string // module version, "devel" when unknown
	Commit   string // VCS revision, "" when unknown
	Modified bool   // built from a tree with uncommitted changes
	Date     string // build date (-X main.date) or else the commit time
	// DateIsCommit says Date is the commit time from the VCS stamp, not
	// the build date: only a release build sets that.
	DateIsCommit bool
	Go           string // Go version and platform
}

// readBuildInfo merges the linker's -X values with the build information
// read (debug.ReadBuildInfo; tests give their own).
func readBuildInfo(read func() (*debug.BuildInfo, bool)) buildInfo {
	return mergeBuildInfo(read, version, commit, date)
}

func mergeBuildInfo(read func() (*debug.BuildInfo, bool), ldVersion, ldCommit, ldDate string) buildInfo {
	b := buildInfo{Version: ldVersion, Commit: ldCommit, Date: ldDate,
		Go: fmt.Sprintf("%s %s/%s", runtime.Version(), runtime.GOOS, runtime.GOARCH)}
	bi, ok := read()
	if ok && bi != nil {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			b.Go = fmt.Sprintf("%s %s/%s", bi.GoVersion, runtime.GOOS, runtime.GOARCH)
		}
		var revision, vcsTime string
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		// The stamp describes the commit; -X values describe a release and
		// win, and a stamped "modified" means nothing for a commit named by
		// -X.
		if b.Commit == "" {
			b.Commit, b.Modified = revision, modified
		}
		if b.Date == "" && vcsTime != "" {
			b.Date, b.DateIsCommit = vcsTime, true
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	return b
}

// String is the version text: the version on the first line, so that
// `exmigrate --version | head -1` is enough for a script.
func (b buildInfo) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "exmigrate %s\n", b.Version)
	switch {
	case b.Commit == "":
		s.WriteString("commit  unknown (built without VCS information: go build -buildvcs=true in a git clone stamps it)\n")
	case b.Modified:
		fmt.Fprintf(&s, "commit  %s (with uncommitted changes)\n", b.Commit)
	default:
		fmt.Fprintf(&s, "commit  %s\n", b.Commit)
	}
	switch {
	case b.Date == "":
		s.WriteString("built   unknown\n")
	case b.DateIsCommit:
		fmt.Fprintf(&s, "built   from a commit of %s\n", b.Date)
	default:
		fmt.Fprintf(&s, "built   %s\n", b.Date)
	}
	fmt.Fprintf(&s, "go      %s\n", b.Go)
	return s.String()
}

// toolVersion is the version written into assessments and reports.
func toolVersion() string {
	return readBuildInfo(debug.ReadBuildInfo).Version
}

func newVersionCommand(g *globalOptions, bi buildInfo) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the exmigrate version, commit and build date",
		Long: `Print the module version, the VCS commit and the build date (or, for a build
without release information, the commit's date). exmigrate --version prints
the same.`,
		Example: "  exmigrate version\n  exmigrate --version",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(g.io.Out, bi.String())
			return err
		},
	}
}
