package check

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bigWorkflow writes a project of n tasks (one task file each) and returns its folder
// and workflow text.
func bigWorkflow(tb testing.TB, n int) (string, string) {
	tb.Helper()
	root := tb.TempDir()
	var b strings.Builder
	b.WriteString("project_name: Big workflow\ntasks:\n")
	if err := os.MkdirAll(filepath.Join(root, "tasks"), 0o755); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		fmt.Fprintf(&b, "  - name: Task %d\n    type: processor_nats\n    code: t%04d.go\n    targets: [edge, cloud]\n", i, i)
		fmt.Fprintf(&b, "    source_topic: topic.%d\n    dest_topic: topic.%d\n    component_name: task_%04d\n    version: 1.0.0\n", i, i+1, i)
		src := fmt.Sprintf("package main\n\nimport \"strings\"\n\n// exec_task of task %d.\nfunc exec_task(arg string) string {\n\treturn strings.ToUpper(arg)\n}\n", i)
		if err := os.WriteFile(filepath.Join(root, "tasks", fmt.Sprintf("t%04d.go", i)), []byte(src), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "workflow.yaml"), []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return root, b.String()
}

// BenchmarkProjectEdit1000 measures a re-check of a 1000-task project after an edit
// of one task's version in workflow.yaml, as the language server runs it (the
// workflow from the editor, one long-lived task checker): "full" checks from scratch
// each time (no Session: the whole file parsed, every task file read, every task's
// rules run); "stat" and "incremental" keep a Session (the edited task re-parsed and
// checked alone), reading task files again when their size or time changed (FilesStat)
// or only when told (FilesNotified, as the language server does). The modes alternate
// in one run: compare their ratio on a loaded machine.
func BenchmarkProjectEdit1000(b *testing.B) {
	root, text := bigWorkflow(b, 1000)
	wf := filepath.Join(root, "workflow.yaml")
	tasks := NewTaskChecker(TaskCheckerOptions{})
	run := func(b *testing.B, s *Session, i int) {
		edited := strings.Replace(text, "version: 1.0.0", fmt.Sprintf("version: 1.0.%d", i), 1)
		opts := Options{Root: root, Tasks: tasks, Session: s, Overlay: func(p string) ([]byte, bool) {
			if p == wf {
				return []byte(edited), true
			}
			return nil, false
		}}
		res, err := Project(context.Background(), opts)
		if err != nil || res.Err != nil || len(res.Tasks) != 1000 {
			b.Fatal(err, res.Err)
		}
	}
	run(b, nil, 0) // loads the imports once
	for _, mode := range []struct {
		name  string
		files FileMode
	}{{"full", -1}, {"stat", FilesStat}, {"incremental", FilesNotified}, {"full", -1}, {"stat", FilesStat}, {"incremental", FilesNotified}} {
		b.Run(mode.name, func(b *testing.B) {
			var s *Session
			if mode.files >= 0 {
				s = NewSession(mode.files)
			}
			run(b, s, 0) // warm the memos
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run(b, s, i+1)
			}
		})
	}
}
