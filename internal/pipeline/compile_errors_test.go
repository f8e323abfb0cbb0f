package pipeline

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCompileErrorsPaths: compiler lines name the task's copy in gen/<c>/ as the
// container prints it (/src/…), relative to the folder, or — from the local
// builder's tools — by its absolute path; each is mapped to the task file.
func TestCompileErrorsPaths(t *testing.T) {
	root := t.TempDir()
	code := "package main\n\nfunc exec_task(arg string) string {\n\treturn frobnicate(arg)\n}\n"
	for _, p := range []string{filepath.Join(root, "tasks", "shout.go"), filepath.Join(root, GenDir, "c0", "task_shout.go")} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(code), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rec := Record{Sources: map[string]string{"task_shout.go": "tasks/shout.go"}}
	want := CompileError{File: "tasks/shout.go", Line: 4, Column: 9, Message: "undefined: frobnicate"}
	for _, line := range []string{
		"/src/task_shout.go:4:9: undefined: frobnicate",
		"task_shout.go:4:9: undefined: frobnicate",
		"./task_shout.go:4:9: undefined: frobnicate",
		filepath.ToSlash(filepath.Join(root, GenDir, "c0", "task_shout.go")) + ":4:9: undefined: frobnicate",
	} {
		got := compileErrors("# building\n"+line+"\n", rec, root, "c0")
		if len(got) != 1 || got[0] != want {
			t.Errorf("%q: %+v, want %+v", line, got, want)
		}
	}
	// An error in generated code keeps the copy's path in gen/.
	got := compileErrors(filepath.ToSlash(filepath.Join(root, GenDir, "c0", "main.go"))+":12:2: undefined: x\n", rec, root, "c0")
	if len(got) != 1 || got[0].File != "gen/c0/main.go" || got[0].Line != 12 {
		t.Errorf("generated code: %+v", got)
	}
}
