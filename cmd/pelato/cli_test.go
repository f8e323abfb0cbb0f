package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestProblemsCountedOnce: a Go error is reported in the task file and summed up by
// PL410 on the task's code: value, but counted once, with a correct plural.
func TestProblemsCountedOnce(t *testing.T) {
	dir := copyDir(t, "../../testdata/projects/task_type_error")
	code, out, _ := pelato(t, "check", dir)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "PL402") || !strings.Contains(out, "PL410") {
		t.Fatalf("both the Go error and its summary are shown:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := lines[len(lines)-1]; got != "1 error, 2 hints" {
		t.Errorf("summary %q, want %q", got, "1 error, 2 hints")
	}
	code, out, _ = pelato(t, "check", "--format", "json", dir)
	var doc struct {
		Summary     map[string]int `json:"summary"`
		Diagnostics []struct {
			Code    string `json:"code"`
			Derived bool   `json:"derived"`
		} `json:"diagnostics"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 1 {
		t.Fatalf("exit %d, %v\n%s", code, err, out)
	}
	if doc.Summary["error"] != 1 {
		t.Errorf("JSON summary counts %d errors, want 1", doc.Summary["error"])
	}
	for _, d := range doc.Diagnostics {
		if d.Derived != (d.Code == "PL410") {
			t.Errorf("%s: derived = %v", d.Code, d.Derived)
		}
	}
	code, _, errOut := pelato(t, "gen", dir)
	if code != 1 || !strings.Contains(errOut, "the project has 1 error;") {
		t.Errorf("gen: exit %d, %q", code, errOut)
	}
}
