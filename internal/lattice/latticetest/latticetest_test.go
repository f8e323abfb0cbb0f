package latticetest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/pelato-dev/pelato/internal/testenv"
)

// TestOnlyTestsImportIt keeps the wadm double out of the binaries: no command
// depends on this package. (nats-server itself may be: pelato dev embeds it.)
func TestOnlyTestsImportIt(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "the go command is not on PATH; this test lists the commands' dependencies with it")
	}
	out, err := exec.Command(goTool, "list", "-deps", "../../../cmd/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasSuffix(pkg, "/internal/lattice/latticetest") {
			t.Errorf("a command depends on %s", pkg)
		}
	}
}
