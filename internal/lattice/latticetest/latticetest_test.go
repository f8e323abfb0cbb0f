package latticetest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyTestsImportIt keeps the wadm double out of the binaries: no command
// depends on this package. (nats-server itself may be: pelato dev embeds it.)
func TestOnlyTestsImportIt(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("go command not found")
		}
		t.Skip("go command not found")
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
