package lsp

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

// bigProject writes a project of n tasks (one task file each) and returns its folder
// and workflow text.
func bigProject(tb testing.TB, n int) (string, string) {
	tb.Helper()
	root := filepath.Join(tb.TempDir(), "big")
	var b strings.Builder
	b.WriteString("project_name: Big workflow\ntasks:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: Task %d\n    type: processor_nats\n    code: t%03d.go\n    targets: [edge, cloud]\n", i, i)
		fmt.Fprintf(&b, "    source_topic: topic.%d\n    dest_topic: topic.%d\n    component_name: task_%03d\n    version: 1.0.0\n", i, i+1, i)
		write(tb, filepath.Join(root, "tasks", fmt.Sprintf("t%03d.go", i)), fmt.Sprintf("package main\n\nimport \"strings\"\n\n// exec_task of task %d.\nfunc exec_task(arg string) string {\n\treturn strings.ToUpper(arg)\n}\n", i))
	}
	write(tb, workflowPath(root), b.String())
	return root, b.String()
}

// reportMedian reports the median of ds.
func reportMedian(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "ms/median")
}

// BenchmarkDidChangeWorkflow100 measures a didChange of a 100-task workflow.yaml until
// its diagnostics are published.
func BenchmarkDidChangeWorkflow100(b *testing.B) {
	root, text := bigProject(b, 100)
	c := newClient(b, clientOptions{})
	c.initialize(fullCaps(), "", root)
	wf := workflowPath(root)
	c.open(wf, text, 1)
	c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 1 })
	var ds []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.reset()
		v := int32(i + 2)
		start := time.Now()
		c.replace(wf, strings.Replace(text, "version: 1.0.0", fmt.Sprintf("version: 1.0.%d", v), 1), v)
		c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == v })
		ds = append(ds, time.Since(start))
	}
	reportMedian(b, ds)
}

// BenchmarkDidChangeWorkflow1000 measures a didChange of one task's version in a
// 1000-task workflow.yaml until its diagnostics are published (issue 21: < 50 ms).
func BenchmarkDidChangeWorkflow1000(b *testing.B) {
	root, text := bigProject(b, 1000)
	c := newClient(b, clientOptions{})
	c.initialize(fullCaps(), "", root)
	wf := workflowPath(root)
	c.open(wf, text, 1)
	c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 1 })
	// The first check may leave tasks waiting for type information: wait until a
	// check has every task's type information, so the loop measures re-checks.
	c.mustCall(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: CmdCheck})
	var ds []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.reset()
		v := int32(i + 2)
		start := time.Now()
		c.replace(wf, strings.Replace(text, "version: 1.0.0", fmt.Sprintf("version: 1.0.%d", v), 1), v)
		c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == v })
		ds = append(ds, time.Since(start))
	}
	reportMedian(b, ds)
}

// BenchmarkTaskEdit measures an edit of an open task file until diagnostics are
// published (the import cache is warm after the first check).
func BenchmarkTaskEdit(b *testing.B) {
	root, _ := bigProject(b, 10)
	c := newClient(b, clientOptions{})
	c.initialize(fullCaps(), "", root)
	task := filepath.Join(root, "tasks", "t001.go")
	src := read(b, task)
	c.diagnostics(workflowPath(root), nil)
	c.open(task, src, 1)
	c.mustCall(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: CmdCheck}) // warm
	bad := strings.Replace(src, "return strings.ToUpper(arg)", "return 42", 1)
	var ds []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.reset()
		text := src
		if i%2 == 0 {
			text = bad
		}
		v := int32(i + 2)
		start := time.Now()
		c.replace(task, text, v)
		// The task file alternates between an error and none, so each version of it
		// is published (an empty list clears the error).
		c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == v })
		ds = append(ds, time.Since(start))
	}
	reportMedian(b, ds)
}

// BenchmarkInitializeToFirstDiagnostics measures a server start on
// examples/temperature until its first diagnostics are published.
func BenchmarkInitializeToFirstDiagnostics(b *testing.B) {
	root := copyProject(b, "temperature")
	var ds []time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		c := newClient(b, clientOptions{})
		c.initialize(fullCaps(), "", root)
		c.diagnostics(workflowPath(root), nil)
		ds = append(ds, time.Since(start))
	}
	reportMedian(b, ds)
}

// TestMemory100Tasks reports the memory in use after a 100-task project is opened
// and checked.
func TestMemory100Tasks(t *testing.T) {
	root, text := bigProject(t, 100)
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", root)
	wf := workflowPath(root)
	c.open(wf, text, 1)
	c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 1 })
	for i := range 5 {
		task := filepath.Join(root, "tasks", fmt.Sprintf("t%03d.go", i))
		c.open(task, read(t, task), 1)
	}
	c.mustCall(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: CmdCheck})
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	const mb = 1 << 20
	t.Logf("after opening a 100-task project: HeapInuse %.1f MB, Sys %.1f MB", float64(ms.HeapInuse)/mb, float64(ms.Sys)/mb)
	if ms.Sys > 150*mb {
		t.Errorf("Sys %.1f MB exceeds 150 MB", float64(ms.Sys)/mb)
	}
}

// BenchmarkCodeActions100 measures textDocument/codeAction at the cursor as VS Code
// sends it on every cursor move (no context.only: quick fixes and source actions), in
// the workflow.yaml of a 100-task project and in one of its task files.
func BenchmarkCodeActions100(b *testing.B) {
	root, text := bigProject(b, 100)
	c := newClient(b, clientOptions{})
	c.initialize(fullCaps(), "", root)
	wf := workflowPath(root)
	c.open(wf, text, 1)
	c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 1 })
	line := uint32(strings.Count(text[:strings.Index(text, "component_name: task_050")], "\n"))
	for _, tc := range []struct {
		name string
		path string
		line uint32
		want int // source actions of one task and of the workflow
	}{
		{"workflow", wf, line, 4},
		{"task_file", filepath.Join(root, "tasks", "t050.go"), 5, 4},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var ds []time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				acts := c.actionsAt(tc.path, tc.line, 4)
				ds = append(ds, time.Since(start))
				if len(acts) < tc.want {
					b.Fatalf("%d actions, want at least %d", len(acts), tc.want)
				}
			}
			reportMedian(b, ds)
		})
	}
}

// reportQuantiles reports the median and the 90th percentile of ds.
func reportQuantiles(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(ds[len(ds)/2]), "ms/median")
	b.ReportMetric(ms(ds[len(ds)*9/10]), "ms/p90")
}

// typingPause is the time between two measured edits: fast typing, ten keys a
// second. It is not part of the measured time.
const typingPause = 100 * time.Millisecond

// BenchmarkEditToDiagnosticsDefault measures, at the default settings (adaptive
// debounce), the time from a didChange to the publication of its diagnostics, edits
// coming at typing pace: of a 100-task workflow.yaml, of a task file, and after the
// last of a burst of five edits 5 ms apart (coalesced by the server).
func BenchmarkEditToDiagnosticsDefault(b *testing.B) {
	settle := func(c *client, root string) {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			c.srv.mu.Lock()
			p := c.srv.projects[root]
			idle := p != nil && !p.waiting && p.cost > 0
			c.srv.mu.Unlock()
			if idle {
				time.Sleep(200 * time.Millisecond)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		b.Fatal("the project never settled")
	}
	b.Run("workflow100", func(b *testing.B) {
		root, text := bigProject(b, 100)
		c := newClient(b, clientOptions{server: Options{Config: ptr(DefaultConfig())}})
		c.initialize(fullCaps(), "", root)
		wf := workflowPath(root)
		c.open(wf, text, 1)
		c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 1 })
		settle(c, root)
		var ds []time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			time.Sleep(typingPause)
			c.reset()
			b.StartTimer()
			v := int32(i + 2)
			start := time.Now()
			c.replace(wf, strings.Replace(text, "version: 1.0.0", fmt.Sprintf("version: 1.0.%d", v), 1), v)
			c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == v })
			ds = append(ds, time.Since(start))
		}
		reportQuantiles(b, ds)
	})
	b.Run("taskfile", func(b *testing.B) {
		root, _ := bigProject(b, 10)
		c := newClient(b, clientOptions{server: Options{Config: ptr(DefaultConfig())}})
		c.initialize(fullCaps(), "", root)
		task := filepath.Join(root, "tasks", "t001.go")
		src := read(b, task)
		c.open(task, src, 1)
		settle(c, root)
		bad := strings.Replace(src, "return strings.ToUpper(arg)", "return 42", 1)
		var ds []time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			time.Sleep(typingPause)
			c.reset()
			b.StartTimer()
			text := src
			if i%2 == 0 {
				text = bad
			}
			v := int32(i + 2)
			start := time.Now()
			c.replace(task, text, v)
			c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == v })
			ds = append(ds, time.Since(start))
		}
		reportQuantiles(b, ds)
	})
	b.Run("workflow100-burst", func(b *testing.B) {
		root, text := bigProject(b, 100)
		c := newClient(b, clientOptions{server: Options{Config: ptr(DefaultConfig())}})
		c.initialize(fullCaps(), "", root)
		wf := workflowPath(root)
		c.open(wf, text, 1)
		c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 1 })
		settle(c, root)
		var ds []time.Duration
		v := int32(1)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			time.Sleep(4 * typingPause)
			c.reset()
			for k := 0; k < 4; k++ {
				v++
				c.replace(wf, strings.Replace(text, "version: 1.0.0", fmt.Sprintf("version: 1.0.%d", v), 1), v)
				time.Sleep(5 * time.Millisecond)
			}
			b.StartTimer()
			v++
			last := v
			start := time.Now()
			c.replace(wf, strings.Replace(text, "version: 1.0.0", fmt.Sprintf("version: 1.0.%d", v), 1), v)
			c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == last })
			ds = append(ds, time.Since(start))
		}
		reportQuantiles(b, ds)
	})
}
