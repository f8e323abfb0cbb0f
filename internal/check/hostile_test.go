package check

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/workflow"
)

// hostileInputs are files built to hurt a parser: each must end, quickly, in a clear
// diagnostic with the given code.
func hostileInputs() map[string]struct {
	content []byte
	code    Code
} {
	rng := rand.New(rand.NewSource(1))
	garbage := make([]byte, 64<<10)
	rng.Read(garbage)
	bomb := "project_name: bomb\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 0; i < 9; i++ {
		p, n := string(rune('a'+i)), string(rune('b'+i))
		bomb += n + ": &" + n + " [" + strings.Repeat("*"+p+", ", 9) + "*" + p + "]\n"
	}
	bomb += "tasks: *j\n"
	var block strings.Builder // 10 000 levels of block nesting, one per line
	block.WriteString("project_name: deep\ntasks:\n")
	for i := 0; i < 10000; i++ {
		block.WriteString(strings.Repeat(" ", i) + "k:\n")
	}
	big := bytes.Repeat([]byte("# padding line of a ten megabyte workflow file......\n"), 10<<20/52)
	return map[string]struct {
		content []byte
		code    Code
	}{
		"10MB":          {big, CodeTooLarge},
		"flow nesting":  {[]byte("project_name: deep\ntasks: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n"), CodeTooLarge},
		"map nesting":   {[]byte("project_name: deep\ntasks: " + strings.Repeat("{a: ", 10000) + "1" + strings.Repeat("}", 10000) + "\n"), CodeTooLarge},
		"block nesting": {[]byte(block.String()), CodeTooLarge},
		"binary":        {garbage, CodeBadEncoding},
		"alias bomb":    {[]byte(bomb), CodeTooLarge},
		"nul bytes":     {[]byte("project_name: a\x00b\ntasks: []\n"), CodeSyntax},
		"lone cr lines": {[]byte("project_name: a\rtasks:\r  - name: x\r"), CodeMissingKey},
	}
}

func TestHostileInputsEndQuickly(t *testing.T) {
	for name, in := range hostileInputs() {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, workflow.FileName), in.content, 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res, err := Project(context.Background(), Options{Root: dir})
			if err != nil {
				t.Fatal(err)
			}
			// A guard against hangs, not a benchmark: BenchmarkHostile measures.
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v; hostile input must be refused within a second", d)
			}
			var codes []string
			for _, d := range res.Diagnostics {
				codes = append(codes, string(d.Code))
				if d.Code == in.code && d.Severity == Error && d.Message != "" {
					return
				}
			}
			t.Errorf("want an error %s, got %v", in.code, codes)
		})
	}
}

func BenchmarkHostile(b *testing.B) {
	for name, in := range hostileInputs() {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				w := workflow.New(workflow.Parse(workflow.FileName, in.content))
				Workflow(w, WorkflowOptions{})
			}
		})
	}
}

// workflowOf returns a valid workflow of n tasks chained by their topics.
func workflowOf(n int) []byte {
	var b strings.Builder
	b.WriteString("project_name: Big project\ntasks:\n")
	for i := 0; i < n; i++ {
		tpl := []string{"processor_nats", "http_producer_nats", "processor_nats"}[i%3]
		fmt.Fprintf(&b, "  - name: Task %d\n    type: %s\n    code: task.go\n    targets: [edge, cloud]\n    source_topic: topic.%d\n    dest_topic: topic.%d\n    component_name: task_%d\n    version: 1.0.%d\n", i, tpl, i, i+1, i, i)
		if tpl == "http_producer_nats" {
			fmt.Fprintf(&b, "    http_port: %d\n", 8000+i)
		}
	}
	return []byte(b.String())
}

// BenchmarkParseCheck200 measures parse + workflow rules of a 200-task workflow
// (without Go type checks). Target: under 5 ms.
func BenchmarkParseCheck200(b *testing.B) {
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tasks"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tasks", "task.go"), []byte(TaskStub("string", "")), 0o644); err != nil {
		b.Fatal(err)
	}
	content := workflowOf(200)
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w := workflow.New(workflow.Parse(workflow.FileName, content))
		ds := Workflow(w, WorkflowOptions{Root: dir})
		if HasErrors(ds) {
			b.Fatal(ds[0].Message)
		}
	}
}

func FuzzWorkflow(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(projectsDir, "*", workflow.FileName))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Add(workflowOf(3))
	f.Fuzz(func(t *testing.T, content []byte) {
		w := workflow.New(workflow.Parse(workflow.FileName, content))
		ds := Workflow(w, WorkflowOptions{})
		for _, d := range ds {
			if d.Range.Start < 0 || d.Range.End < d.Range.Start || d.Range.End > len(content) {
				t.Fatalf("%s range %v outside content of %d bytes", d.Code, d.Range, len(content))
			}
			if d.Message == "" || d.Code == "" {
				t.Fatalf("diagnostic without code or message: %+v", d)
			}
			for _, fx := range d.Fixes {
				for _, e := range fx.Edits {
					if e.Range.Start < 0 || e.Range.End < e.Range.Start || e.Range.End > len(content) {
						t.Fatalf("fix %q edit %v outside content", fx.Title, e.Range)
					}
				}
			}
		}
	})
}
