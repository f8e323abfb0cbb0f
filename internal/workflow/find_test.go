package workflow

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindProject(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "my-project")
	deep := filepath.Join(root, "tasks", "folder_task")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, FileName), []byte("project_name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, start := range []string{root, filepath.Join(root, "tasks"), deep} {
		got, err := FindProject(start)
		if err != nil || got != root {
			t.Errorf("FindProject(%s) = %q, %v; want %s", start, got, err, root)
		}
	}
	// A folder named workflow.yaml is not a project.
	fake := filepath.Join(base, "other")
	if err := os.MkdirAll(filepath.Join(fake, FileName), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := FindProject(fake); !errors.Is(err, ErrNoProject) {
		t.Errorf("a folder named workflow.yaml: %v", err)
	} else if !strings.Contains(err.Error(), fake) || !strings.Contains(err.Error(), "pelato init") {
		t.Errorf("message %q should name the folder and suggest pelato init", err)
	}
	if _, err := FindProject(filepath.Join(base, "missing")); err == nil || errors.Is(err, ErrNoProject) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := FindProject(filepath.Join(root, FileName)); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("a file: %v", err)
	}
}
