package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenPlatformFlag: --platform picks what gen writes, over the project's key, and
// an unknown value is a usage error naming the platforms.
func TestGenPlatformFlag(t *testing.T) {
	dir := copyDir(t, "../../examples/temperature-wasmcloud2")
	code, _, errOut := pelato(t, "gen", "--platform", "wasmcloud3", dir)
	if code != exitUsage || !strings.Contains(errOut, `unknown platform "wasmcloud3"; expected one of wasmcloud1, wasmcloud2`) {
		t.Errorf("unknown platform: exit %d, %q", code, errOut)
	}
	if code, out, errOut := pelato(t, "gen", "--platform", "wasmcloud1", dir); code != 0 {
		t.Fatalf("gen --platform wasmcloud1: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "gen", "temp-filter", "wadm.yaml")); err != nil {
		t.Errorf("--platform wasmcloud1 did not write wadm.yaml: %v", err)
	}
	if code, out, errOut := pelato(t, "gen", dir); code != 0 {
		t.Fatalf("gen: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "gen", "temp-filter", "workloaddeployment.yaml")); err != nil {
		t.Errorf("the project's platform: %v", err)
	}
}
