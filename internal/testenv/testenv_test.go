package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissing runs this package's test binary again on a helper test that calls
// Missing, with and without CI=true.
func TestMissing(t *testing.T) {
	if os.Getenv("TESTENV_HELPER") == "1" {
		Missing(t, "frobnicator not found on PATH; install it")
		t.Error("Missing returned")
		return
	}
	for _, ci := range []string{"", "true"} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_HELPER=1", "CI="+ci, "PELATO_TEST_NO_TTY=1")
		out, err := cmd.CombinedOutput()
		switch ci {
		case "":
			if err != nil || !strings.Contains(string(out), "--- SKIP: TestMissing") || !strings.Contains(string(out), "frobnicator not found on PATH; install it") {
				t.Errorf("without CI: %v\n%s", err, out)
			}
		case "true":
			if err == nil || !strings.Contains(string(out), "--- FAIL: TestMissing") || !strings.Contains(string(out), "CI=true, so this is a failure") {
				t.Errorf("with CI=true: %v\n%s", err, out)
			}
		}
	}
}
