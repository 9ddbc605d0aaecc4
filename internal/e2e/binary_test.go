package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
	buildDir  string
)

// TestMain removes the binary built for the process tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// exmigrateBinary builds ./cmd/exmigrate once per test process: the crash
// test must kill a real process, and the dry run is checked through the
// real command line.
func exmigrateBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "exmigrate-e2e-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "exmigrate")
		cmd := exec.Command("go", "build", "-o", binPath, "../../cmd/exmigrate")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/exmigrate: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// runBinary runs exmigrate to completion and returns its exit code and output.
func runBinary(t testing.TB, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(exmigrateBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}
