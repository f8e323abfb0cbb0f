package taskcode

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrepare(t *testing.T) {
	for in, want := range map[string]string{
		"//go:build ignore\n\npackage main\n":          "\n\npackage main\n",
		"// Doc\n// +build ignore\n\npackage main\n":   "// Doc\n\n\npackage main\n",
		"//go:build ignore\r\npackage main\r\n":        "\r\npackage main\r\n",
		"package main\n//go:build ignore\n":            "package main\n//go:build ignore\n",
		"//go:build linux\n\npackage main\n":           "//go:build linux\n\npackage main\n",
		"//go:build ignore && linux\n\npackage main\n": "//go:build ignore && linux\n\npackage main\n",
		"no package here":                              "no package here",
	} {
		got, off := Prepare([]byte(in))
		if string(got) != want {
			t.Errorf("Prepare(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(want, "package main") && string(got[off:off+7]) != "package" {
			t.Errorf("Prepare(%q): package offset %d wrong", in, off)
		}
		if strings.Count(string(got), "\n") != strings.Count(in, "\n") {
			t.Errorf("Prepare(%q) moved lines", in)
		}
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.go", "a.go", "a_test.go", "_skip.go", ".hidden.go", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	os.Mkdir(filepath.Join(dir, "sub.go"), 0o755)
	got, err := Files(dir)
	if err != nil || len(got) != 2 || filepath.Base(got[0]) != "a.go" || filepath.Base(got[1]) != "b.go" {
		t.Errorf("Files = %v, %v", got, err)
	}
	if _, err := Files(filepath.Join(dir, "notes.txt")); err == nil {
		t.Error("a non-Go file must be refused")
	}
	empty := t.TempDir()
	if _, err := Files(empty); err == nil || !strings.Contains(err.Error(), "no .go files") {
		t.Errorf("empty folder: %v", err)
	}
}
