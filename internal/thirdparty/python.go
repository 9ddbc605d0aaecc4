// Package thirdparty runs clients exmigrate did not write (exchangelib,
// MSAL Python) against the lab's fakes, for the tests that prove the fakes
// answer as the services do.
package thirdparty

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// SystemPython is Debian's interpreter, the one python3-exchangelib and
// python3-msal are installed for; a python3 earlier on PATH (pyenv, a
// venv) has its own packages and is not what the tests mean to run.
const SystemPython = "/usr/bin/python3"

// RequireEnv makes a missing third-party client a failure instead of a
// skip: CI sets it to 1 so that these tests cannot silently stop running.
const RequireEnv = "EXMIGRATE_REQUIRE_THIRD_PARTY"

// Python returns the interpreter after checking that it imports module,
// or skips the test (fails it when RequireEnv is 1) saying which Debian
// package to install.
func Python(t testing.TB, module, debPackage string) string {
	t.Helper()
	missing := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...) + "; install it with: apt-get install " + debPackage
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s (%s=1: third-party client tests must run)", msg, RequireEnv)
		}
		t.Skip(msg)
	}
	if _, err := os.Stat(SystemPython); err != nil {
		missing("%s is missing (%v)", SystemPython, err)
	}
	out, err := exec.Command(SystemPython, "-c", "import "+module+"; print("+module+".__version__)").CombinedOutput()
	if err != nil {
		missing("%s cannot import %s: %v: %s", SystemPython, module, err, bytes.TrimSpace(out))
	}
	t.Logf("%s %s", module, bytes.TrimSpace(out))
	return SystemPython
}
