package check

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/goimporter"
)

// coldTask is the task of TestColdStart (internal/lsp): it imports strings and has a
// type error.
const coldTask = "package main\n\nimport \"strings\"\n\nfunc exec_task(arg string) string {\n\treturn strings.ToUpper(arg) + 42\n}\n"

// BenchmarkColdTaskDiagnostics measures the time from a new checker to a task's
// diagnostics with an empty Go build cache (a fresh GOCACHE each iteration), as on a
// new machine:
//   - export: waiting for `go list -export` (it compiles the standard library first);
//     what pelato did before it type-checked from source;
//   - source: the default (export data if it lands within SourceAfter, else source;
//     with an empty cache, source at once, the export data load after it);
//   - sourceonly: source only, no export data load at all (the lower bound);
//   - gopls: `gopls check` of the same file with empty GOCACHE and GOPLSCACHE (gopls
//     type-checks from source too), when gopls is installed.
//
// Run it a few times in a row (-count repeats each sub-benchmark in turn; separate
// runs alternate them, so a loaded machine weighs on each alike):
//
//	for i in 1 2 3; do go test ./internal/check -run '^$' -bench ColdTaskDiagnostics -benchtime 1x; done
func BenchmarkColdTaskDiagnostics(b *testing.B) {
	for _, task := range []struct{ name, code string }{{"strings", coldTask}, {"net_http", coldHTTPTask}} {
		b.Run(task.name, func(b *testing.B) { benchmarkCold(b, task.code) })
	}
}

// coldHTTPTask imports net/http and encoding/json (about 190 packages with their
// dependencies) and has the type error of coldTask (and a PL408 warning: net/http
// does not work in a component).
const coldHTTPTask = "package main\n\nimport (\n\t\"encoding/json\"\n\t\"net/http\"\n)\n\nfunc exec_task(arg string) string {\n\tvar v map[string]any\n\t_ = json.Unmarshal([]byte(arg), &v)\n\treturn http.StatusText(200) + 42\n}\n"

func benchmarkCold(b *testing.B, code string) {
	root := b.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "tasks"), 0o755); err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(root, "tasks", "task.go")
	if err := os.WriteFile(file, []byte(code), 0o644); err != nil {
		b.Fatal(err)
	}
	req := taskRequest(b, root, "processor_nats", "task.go")
	for _, mode := range []struct {
		name string
		opts goimporter.Options
	}{
		{"export", goimporter.Options{SourceAfter: -1}},
		{"source", goimporter.Options{}},
		{"sourceonly", goimporter.Options{SourceOnly: true}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				cache := coldCache(b)
				opts := mode.opts
				opts.Env = []string{"GOCACHE=" + cache}
				c := NewTaskChecker(TaskCheckerOptions{ImporterOptions: opts})
				b.StartTimer()
				start := time.Now()
				res := c.CheckAll(context.Background(), []TaskRequest{req})[0]
				took := time.Since(start)
				b.StopTimer()
				c.Close()
				if res.Err != nil || !hasTypeError(res.Diagnostics) {
					b.Fatalf("diagnostics %+v, err %v", res.Diagnostics, res.Err)
				}
				b.ReportMetric(took.Seconds(), "s/diagnostics")
				b.StartTimer()
			}
		})
	}
	b.Run("gopls", func(b *testing.B) {
		gopls, err := exec.LookPath("gopls")
		if err != nil {
			home, _ := os.UserHomeDir()
			if gopls = filepath.Join(home, "go", "bin", "gopls"); !exists(gopls) {
				b.Skip("gopls is not installed (go install golang.org/x/tools/gopls@v0.23.0)")
			}
		}
		for b.Loop() {
			b.StopTimer()
			cache, goplsCache := coldCache(b), coldCache(b)
			cmd := exec.Command(gopls, "check", file)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOCACHE="+cache, "GOPLSCACHE="+goplsCache)
			b.StartTimer()
			start := time.Now()
			out, err := cmd.CombinedOutput()
			took := time.Since(start)
			b.StopTimer()
			if err != nil || !strings.Contains(string(out), "mismatched types string and untyped int") {
				b.Fatalf("gopls check: %v\n%s", err, out)
			}
			b.ReportMetric(took.Seconds(), "s/diagnostics")
			b.StartTimer()
		}
	})
}

// coldCache returns an empty folder, removed when the benchmark ends.
func coldCache(b *testing.B) string {
	dir, err := os.MkdirTemp("", "pelato-cold-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// hasTypeError reports whether ds hold the type error of coldTask.
func hasTypeError(ds []Diagnostic) bool {
	for _, d := range ds {
		if d.Code == CodeGoType && strings.Contains(d.Message, "mismatched types string and untyped int") {
			return true
		}
	}
	return false
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
