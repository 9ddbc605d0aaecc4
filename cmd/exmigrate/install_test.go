package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The README's install steps from a clone work, and the binary says what
// it is: go install ./cmd/exmigrate (stamped with the commit by the Go
// toolchain), and a release build with -ldflags -X.
func TestInstallFromCheckoutAndVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("links the exmigrate binary twice; skipped with -short")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	exe := "exmigrate"
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	goCmd := func(env []string, args ...string) {
		t.Helper()
		cmd := exec.Command(gobin, args...)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	version := func(bin string, args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
		}
		return string(out)
	}

	// The README says to run exactly what this test runs.
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, install, _ := strings.Cut(string(readme), "\n## Install\n")
	install, _, _ = strings.Cut(install, "\n## ")
	for _, step := range []string{"\ngo install ./cmd/exmigrate ", "\ngo build -o exmigrate ./cmd/exmigrate ", "\ngo install github.com/exmigrate/exmigrate/cmd/exmigrate@latest\n"} {
		if !strings.Contains(install, step) {
			t.Errorf("the README's Install section lacks the step %q", strings.TrimSpace(step))
		}
	}

	t.Run("go install from the clone", func(t *testing.T) {
		bin := t.TempDir()
		// Go's default stamps the commit; a machine may have turned that
		// off (go env -w GOFLAGS=-buildvcs=false), a reader of the README
		// has not.
		goCmd([]string{"GOBIN=" + bin, "GOFLAGS=-buildvcs=auto"}, "install", "./cmd/exmigrate")
		out := version(filepath.Join(bin, exe), "version")
		if !strings.HasPrefix(out, "exmigrate ") || !strings.Contains(out, "\ngo      "+runtime.Version()) {
			t.Errorf("version:\n%s", out)
		}
		// In a git clone the toolchain stamps the commit; a tarball has none.
		if _, err := os.Stat(filepath.Join(repoRoot, ".git")); err == nil {
			// Others may commit meanwhile: the stamp must be a commit of
			// this history, and the version must be built from it.
			_, rest, _ := strings.Cut(out, "\ncommit  ")
			rev, _, _ := strings.Cut(rest, " ")
			rev = strings.TrimSpace(strings.SplitN(rev, "\n", 2)[0])
			if len(rev) != 40 || exec.Command("git", "-C", repoRoot, "merge-base", "--is-ancestor", rev, "HEAD").Run() != nil {
				t.Errorf("version does not name a commit of this clone (%q):\n%s", rev, out)
			}
			// A pseudo-version of the commit, or its tag: never "devel".
			if first := strings.SplitN(out, "\n", 2)[0]; first == "exmigrate devel" {
				t.Errorf("no module version from the clone: %q", first)
			}
			if !strings.Contains(out, "built   from a commit of ") {
				t.Errorf("version has no commit date:\n%s", out)
			}
		}
		if flag := version(filepath.Join(bin, exe), "--version"); flag != out {
			t.Errorf("--version differs from version:\n%s\n%s", flag, out)
		}
	})

	t.Run("release build with -ldflags -X", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), exe)
		goCmd(nil, "build", "-o", bin,
			"-ldflags", "-X main.version=v9.8.7 -X main.commit=0123456789abcdef -X main.date=2026-12-01T10:00:00Z", "./cmd/exmigrate")
		out := version(bin, "--version")
		for _, want := range []string{"exmigrate v9.8.7\n", "commit  0123456789abcdef\n", "built   2026-12-01T10:00:00Z\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("--version lacks %q:\n%s", want, out)
			}
		}
	})
}
