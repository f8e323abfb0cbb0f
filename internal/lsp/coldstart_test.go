package lsp

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

// coldProject is a project with a typo in workflow.yaml (an unknown key) and a type
// error in its task, which imports strings.
func coldProject(t *testing.T) (root, wf, task string) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "cold")
	wf, task = workflowPath(root), filepath.Join(root, "tasks", "upper.go")
	write(t, wf, "project_name: Cold start\ntasks:\n  - name: Upper\n    type: processor_nats\n    code: upper.go\n    taregts: [edge]\n"+
		"    source_topic: text.in\n    dest_topic: text.out\n    component_name: upper\n    version: 1.0.0\n")
	write(t, task, "package main\n\nimport \"strings\"\n\nfunc exec_task(arg string) string {\n\treturn strings.ToUpper(arg) + 42\n}\n")
	return root, wf, task
}

// TestColdStart starts the server with an empty Go build cache (a fresh GOCACHE), as
// on a new machine: the workflow's diagnostics are published before any Go type
// information is loaded, a "Loading Go type information…" progress begins and ends,
// and the task's diagnostics follow the load.
func TestColdStart(t *testing.T) {
	t.Setenv("GOCACHE", t.TempDir())
	root, wf, task := coldProject(t)
	c := newClient(t, clientOptions{server: Options{Config: ptr(DefaultConfig())}})
	c.wait = 5 * time.Minute // compiling the standard library takes a while
	start := time.Now()
	c.initialize(fullCaps(), "", root)

	wfDiags := c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return len(p.Diagnostics) > 0 })
	atWorkflow := time.Since(start)
	if !hasCode(wfDiags, "PL101") {
		t.Errorf("workflow diagnostics lack the unknown key: %+v", wfDiags.Diagnostics)
	}
	c.diagnostics(task, func(p *protocol.PublishDiagnosticsParams) bool { return hasCode(p, "PL402") })
	atTask := time.Since(start)
	c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return hasCode(p, "PL410") })
	t.Logf("workflow diagnostics after %v, task diagnostics after %v", atWorkflow.Round(time.Millisecond), atTask.Round(time.Millisecond))

	// The order of what the client received.
	idx := map[string]int{}
	for i, m := range c.messages() {
		switch m.method {
		case protocol.MethodTextDocumentPublishDiagnostics:
			var p protocol.PublishDiagnosticsParams
			if err := protocol.Unmarshal(m.params, &p); err != nil {
				t.Fatal(err)
			}
			if p.URI == fileURI(wf) && len(p.Diagnostics) > 0 {
				setFirst(idx, "workflow", i)
			}
			if p.URI == fileURI(task) && hasCode(&p, "PL402") {
				setFirst(idx, "task", i)
			}
			if p.URI == fileURI(wf) && hasCode(&p, "PL410") {
				setFirst(idx, "summary", i)
			}
		case protocol.MethodProgress:
			var p struct {
				Value struct {
					Kind  string `json:"kind"`
					Title string `json:"title"`
				} `json:"value"`
			}
			if err := json.Unmarshal(m.params, &p); err != nil {
				t.Fatal(err)
			}
			switch {
			case p.Value.Kind == "begin" && p.Value.Title == LoadingTitle:
				setFirst(idx, "begin", i)
			case p.Value.Kind == "end" && idx["begin"] > 0:
				setFirst(idx, "end", i)
			}
		}
	}
	for _, k := range []string{"workflow", "begin", "end", "task", "summary"} {
		if idx[k] == 0 {
			t.Fatalf("no %s message; got %v", k, idx)
		}
	}
	if !(idx["workflow"] < idx["end"] && idx["begin"] < idx["end"] && idx["end"] < idx["task"]) {
		t.Errorf("order %v: want the workflow's diagnostics before the load ends, the task's after", idx)
	}
}

func setFirst(m map[string]int, k string, i int) {
	if _, ok := m[k]; !ok {
		m[k] = i + 1 // 1-based: 0 means absent
	}
}
