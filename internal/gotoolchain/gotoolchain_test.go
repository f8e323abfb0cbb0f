package gotoolchain

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	if _, err := LookPath("go"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "https://go.dev/dl/") {
		t.Errorf("go missing: %v", err)
	}
	if _, err := LookPath(filepath.Join(dir, "nogo")); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nogo") {
		t.Errorf("a named go command missing: %v", err)
	}
	fake := filepath.Join(dir, "go")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if p, err := LookPath("go"); err != nil || p != fake {
		t.Errorf("go on PATH: %q %v", p, err)
	}
}
