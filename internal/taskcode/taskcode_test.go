package taskcode

import (
	"bytes"
	"go/format"
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

func TestCopy(t *testing.T) {
	for name, c := range map[string]struct{ in, want string }{
		"constraint and blank line": {"//go:build ignore\n\npackage main\n\nfunc exec_task(s string) string { return s }\n",
			"package main\n\nfunc exec_task(s string) string { return s }\n"},
		"no constraint": {"package main\n\nfunc f() {}\n", "package main\n\nfunc f() {}\n"},
		"doc comment kept": {"//go:build ignore\n\n// Package main converts.\npackage main\n",
			"// Package main converts.\npackage main\n"},
		"legacy pair": {"//go:build ignore\n// +build ignore\n\npackage main\n", "package main\n"},
		"header above the constraint": {"// Copyright x.\n\n//go:build ignore\n\npackage main\n",
			"// Copyright x.\n\npackage main\n"},
		"CRLF": {"//go:build ignore\r\n\r\npackage main\r\n\r\nfunc f() {}\r\n", "package main\n\nfunc f() {}\n"},
		"BOM":  {"\ufeff//go:build ignore\n\npackage main\n", "package main\n"},
		"unformatted": {"//go:build ignore\npackage main\nimport \"strings\"\nfunc exec_task(s string)string{\nreturn strings.ToUpper( s )}\n",
			"package main\n\nimport \"strings\"\n\nfunc exec_task(s string) string {\n\treturn strings.ToUpper(s)\n}\n"},
		"other constraint kept": {"//go:build linux\n\npackage main\n", "//go:build linux\n\npackage main\n"},
	} {
		got, err := Copy([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("%s: Copy = %q, want %q", name, got, c.want)
		}
		if again, err := format.Source(got); err != nil || !bytes.Equal(again, got) {
			t.Errorf("%s: the copy is not gofmt-clean", name)
		}
	}
	if _, err := Copy([]byte("package main\nfunc {")); err == nil || !strings.HasPrefix(err.Error(), "format: ") {
		t.Errorf("a file that does not parse: %v", err)
	}
}

func TestMapPositions(t *testing.T) {
	orig := []byte("//go:build ignore\n\n\npackage main\nimport \"strings\"\n\n\n\nfunc exec_task(s string)string{\n  return strings.ToUpper( s ); x := 1\n}\n")
	cp, err := Copy(orig)
	if err != nil {
		t.Fatal(err)
	}
	m := MapPositions(orig, cp)
	cpLines := strings.Split(string(cp), "\n")
	origLines := strings.Split(string(orig), "\n")
	checked := 0
	for i, l := range cpLines {
		trimmed := strings.TrimLeft(l, "\t ")
		if trimmed == "" {
			if _, _, ok := m.Map(i+1, 0); ok {
				t.Errorf("blank copy line %d maps somewhere", i+1)
			}
			continue
		}
		col := len(l) - len(trimmed) + 1
		// Both the line's first token (col 0) and its exact column map to the same
		// text in the task file.
		ol, _, ok := m.Map(i+1, 0)
		ol2, oc, ok2 := m.Map(i+1, col)
		if !ok || !ok2 || ol != ol2 {
			t.Errorf("copy line %d %q: Map = %d,%v / %d,%v", i+1, l, ol, ok, ol2, ok2)
			continue
		}
		word := strings.Fields(trimmed)[0]
		if got := origLines[ol-1][oc-1:]; !strings.HasPrefix(got, word) {
			t.Errorf("copy %d:%d %q maps to %d:%d %q", i+1, col, word, ol, oc, got)
		}
		checked++
	}
	if checked < 5 {
		t.Errorf("only %d lines checked:\n%s", checked, cp)
	}
	// A column inside a token keeps its offset: "ToUpper" in the copy.
	for i, l := range cpLines {
		if j := strings.Index(l, "ToUpper"); j >= 0 {
			ol, oc, ok := m.Map(i+1, j+1)
			if !ok || ol != 10 || !strings.HasPrefix(origLines[9][oc-1:], "ToUpper") {
				t.Errorf("ToUpper maps to %d:%d %v", ol, oc, ok)
			}
		}
	}
	if _, _, ok := MapPositions([]byte("package main\n"), []byte("package main\n\nfunc f() {}\n")).Map(3, 1); ok {
		t.Error("a token of the copy with no partner in the task file was mapped")
	}
}

func TestGenerateDirectives(t *testing.T) {
	src := "package main\r\n//go:generate echo one\r\n  //go:generate indented\n//go:generated no\n//go:generate\tsh -c 'x'\nvar s = `\n//go:generate in a raw string\n`"
	got := GenerateDirectives([]byte(src))
	want := []struct {
		line int
		cmd  string
	}{{2, "echo one"}, {5, "sh -c 'x'"}, {7, "in a raw string"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, w := range want {
		if got[i].Line != w.line || got[i].Command != w.cmd || !strings.HasPrefix(src[got[i].Start:got[i].End], "//go:generate") || strings.HasSuffix(src[got[i].Start:got[i].End], "\r") {
			t.Errorf("directive %d = %+v, want line %d %q", i, got[i], w.line, w.cmd)
		}
	}
	if GenerateDirectives(nil) != nil {
		t.Error("no directives in an empty file")
	}
}
