package buildertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TaskCode is a valid task file; extra lines (fakewash directives) follow it.
func TaskCode(extra ...string) string {
	s := "package main\n\nfunc exec_task(arg string) string {\n\treturn arg\n}\n"
	for _, e := range extra {
		s += e + "\n"
	}
	return s
}

// Project writes a project of n processor_nats tasks c0 … c<n-1> (chained by
// topics) into a new temporary folder; code(i) is task i's file (tasks/c<i>.go).
func Project(t testing.TB, n int, code func(i int) string) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("project_name: build test\ntasks:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: Task %d\n    type: processor_nats\n    code: c%d.go\n    targets: [edge]\n    source_topic: topic_%d\n    dest_topic: topic_%d\n    component_name: c%d\n    version: 1.0.%d\n", i, i, i, i+1, i, i)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tasks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "workflow.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, "tasks", fmt.Sprintf("c%d.go", i)), []byte(code(i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
