// Package testenv is for tests that need something from the machine (an editor, the
// go command, a reference file) and cannot run without it. Missing skips such a test
// with the reason — and, because `go test ./...` hides the output of passing packages
// (skip messages included) unless -v is given, also writes the reason to the terminal
// the tests were started from, so nobody takes a skipped test for a passed one. Under
// CI=true a missing requirement fails the test instead: CI installs everything.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CI reports whether the tests run in CI (CI=true), where nothing may be missing.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing stops t because of why (what is missing and how to get it): a skip, noted on
// the terminal, or under CI=true a failure.
func Missing(t testing.TB, why string) {
	t.Helper()
	if CI() {
		t.Fatalf("%s; CI=true, so this is a failure, not a skip", why)
	}
	tellTerminal(fmt.Sprintf("SKIP %s %s: %s\n", packageName(), t.Name(), why))
	t.Skip(why)
}

// tellTerminal writes msg to the controlling terminal, if the process has one; it is
// silent otherwise (output redirected with no terminal: the -v output still has it).
func tellTerminal(msg string) {
	if os.Getenv("PELATO_TEST_NO_TTY") != "" {
		return
	}
	tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer tty.Close()
	_, _ = tty.WriteString(msg)
}

// packageName names the test binary's package ("editors" for editors.test).
func packageName() string {
	return strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
}
