package lsp

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

// TestDelay holds the adaptive debounce to its rules (Config.Debounce).
func TestDelay(t *testing.T) {
	now := time.Now()
	ago := func(ms ...int) [3]time.Time {
		var e [3]time.Time
		e[0] = now
		for i, m := range ms {
			e[i+1] = now.Add(-time.Duration(m) * time.Millisecond)
		}
		return e
	}
	for _, c := range []struct {
		name     string
		debounce time.Duration
		cost     time.Duration
		edits    [3]time.Time
		want     time.Duration
	}{
		{"first change", 150 * time.Millisecond, 0, ago(), 0},
		{"cheap, typing", 150 * time.Millisecond, 8 * time.Millisecond, ago(100, 220), 0},
		{"cheap, slow typing", 150 * time.Millisecond, 8 * time.Millisecond, ago(400, 900), 0},
		{"cheap, burst", 150 * time.Millisecond, 8 * time.Millisecond, ago(10, 20), 50 * time.Millisecond},
		{"cheap, two quick changes", 150 * time.Millisecond, 8 * time.Millisecond, ago(5), 0},
		{"expensive", 150 * time.Millisecond, 80 * time.Millisecond, ago(2000, 4000), 150 * time.Millisecond},
		{"expensive, burst", 150 * time.Millisecond, 80 * time.Millisecond, ago(10, 20), 150 * time.Millisecond},
		{"debounce off", 0, 80 * time.Millisecond, ago(10, 20), 0},
	} {
		s := &Server{snap: &Snapshot{cfg: Config{Debounce: c.debounce}}}
		p := &project{cost: c.cost, edits: c.edits}
		if got := s.delay(p, now); got != c.want {
			t.Errorf("%s: delay %v, want %v", c.name, got, c.want)
		}
	}
}

// warmProject opens examples/temperature with the default configuration and waits
// until its tasks' type information is loaded and every file is published.
func warmProject(t *testing.T) (*client, string, string) {
	t.Helper()
	root := copyProject(t, "temperature")
	c := newClient(t, clientOptions{server: Options{Config: ptr(DefaultConfig())}})
	c.initialize(fullCaps(), "", root)
	wf := workflowPath(root)
	c.open(wf, brokenWorkflow, 1)
	c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 1 })
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c.srv.mu.Lock()
		p := c.srv.projects[root]
		idle := p != nil && !p.waiting && p.cost > 0
		c.srv.mu.Unlock()
		if idle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the project never settled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	return c, root, wf
}

func ptr[T any](v T) *T { return &v }

// TestBurstCoalesced: twenty changes in a burst are checked far fewer times than
// twenty, the versions published only grow, and the last one is published.
func TestBurstCoalesced(t *testing.T) {
	c, _, wf := warmProject(t)
	c.reset()
	before := c.srv.checks.Load()
	text := brokenWorkflow
	for v := int32(2); v <= 21; v++ {
		text = strings.Replace(text, fmt.Sprintf("version: 1.0.%d", v), fmt.Sprintf("version: 1.0.%d", v+1), 1)
		text = strings.Replace(text, "version: 1.0.2\n", fmt.Sprintf("version: 1.0.%d\n", v+1), 1)
		c.replace(wf, text, v)
	}
	c.diagnostics(wf, func(p *protocol.PublishDiagnosticsParams) bool { return version(p) == 21 })
	time.Sleep(300 * time.Millisecond)
	checks := c.srv.checks.Load() - before
	if checks > 4 {
		t.Errorf("%d checks for a burst of 20 changes; want them coalesced", checks)
	}
	got := publishedVersions(t, c, wf)
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			t.Errorf("published versions go back: %v", got)
		}
	}
	if len(got) == 0 || got[len(got)-1] != 21 {
		t.Errorf("published versions %v, want the last to be 21", got)
	}
	if got := string(c.srv.snapshot().Doc(wf).Content); got != text {
		t.Fatalf("server text differs after rapid changes")
	}
}

// TestNeverMoreChecksThanEdits types into a task file and workflow.yaml at varying
// speeds: the server never starts more checks than there were changes.
func TestNeverMoreChecksThanEdits(t *testing.T) {
	c, root, wf := warmProject(t)
	task := root + "/tasks/filter.go"
	src := read(t, task)
	c.open(task, src, 1)
	time.Sleep(300 * time.Millisecond)
	before := c.srv.checks.Load()
	gaps := []time.Duration{0, 5, 40, 120, 0, 0, 3, 200, 60, 1, 1, 1, 90, 30, 300, 0, 15, 150, 2, 70}
	edits := 0
	for i, gap := range gaps {
		time.Sleep(gap * time.Millisecond)
		v := int32(i + 2)
		if i%2 == 0 {
			c.replace(task, strings.Replace(src, "package main", fmt.Sprintf("package main\n\n// edit %d", i), 1), v)
		} else {
			c.replace(wf, strings.Replace(brokenWorkflow, "version: 1.0.2", fmt.Sprintf("version: 1.0.%d", 100+i), 1), v)
		}
		edits++
	}
	time.Sleep(500 * time.Millisecond)
	if checks := c.srv.checks.Load() - before; checks > int64(edits) {
		t.Errorf("%d checks for %d changes", checks, edits)
	} else {
		t.Logf("%d checks for %d changes", checks, edits)
	}
}
