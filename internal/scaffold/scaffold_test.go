package scaffold

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitRefusesControlCharacters: a name with a terminal escape, a line break, a
// bidirectional override or invalid UTF-8 is refused with a clear error and nothing
// is written; a printable name (accents included) is accepted.
func TestInitRefusesControlCharacters(t *testing.T) {
	for _, c := range []struct{ name, shown string }{
		{"evil\x1b]0;pwned\x07", `evil\x1b]0;pwned\x07`},
		{"two\nlines", `two\nlines`},
		{"cr\rname", `cr\rname`},
		{"trojan\u202esource", `trojan\u202esource`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"nul\x00", `nul\x00`},
	} {
		dir := t.TempDir()
		_, err := Init(dir, c.name)
		if err == nil {
			t.Fatalf("Init(%q) succeeded", c.name)
		}
		msg := err.Error()
		if !strings.Contains(msg, c.shown) || !strings.Contains(msg, "--name") || !strings.Contains(msg, "control characters") {
			t.Errorf("Init(%q): unclear error %q", c.name, msg)
		}
		if strings.ContainsAny(msg, "\x1b\n\r\x00\u202e") {
			t.Errorf("Init(%q): the error carries the raw control character: %q", c.name, msg)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("Init(%q) wrote %d files", c.name, len(entries))
		}
	}
	dir := t.TempDir()
	if _, err := Init(dir, "Café Pipeline"); err != nil {
		t.Fatalf("printable name refused: %v", err)
	}
	wf, _ := os.ReadFile(filepath.Join(dir, "workflow.yaml"))
	if !strings.Contains(string(wf), "project_name: Café Pipeline\n") {
		t.Errorf("workflow.yaml:\n%s", wf)
	}
}

// TestInitRefusesControlCharactersInFolderName: without --name, the folder's name is
// the project's name, and is held to the same rule (the error points at --name).
func TestInitRefusesControlCharactersInFolderName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bad\x1b[2Jname")
	_, err := Init(dir, "")
	if err == nil || !strings.Contains(err.Error(), "folder's name") || !strings.Contains(err.Error(), "--name") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("the folder was created")
	}
}
