package pipeline

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/devrun"
	"github.com/pelato-dev/pelato/internal/testenv"
)

const devCycle = `project_name: cyc
tasks:
  - name: a
    type: processor_nats
    code: a.go
    targets: [t]
    source_topic: a.in
    dest_topic: b.in
    component_name: a
    version: 1.0.0
  - name: b
    type: processor_nats
    code: b.go
    targets: [t]
    source_topic: b.in
    dest_topic: a.in
    component_name: b
    version: 1.0.0
`

const devEcho = "package main\n\nfunc exec_task(arg string) string { return arg + \".\" }\n"

// devProject writes a project with workflow and the echo task as a.go and b.go.
func devProject(t *testing.T, workflow string) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "the go command is not on PATH; pelato dev compiles tasks with it")
	}
	dir := t.TempDir()
	files := map[string]string{"workflow.yaml": workflow, "tasks/a.go": devEcho, "tasks/b.go": devEcho}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// devEvents collects events.
type devEvents struct {
	mu  sync.Mutex
	all []devrun.Event
}

func (e *devEvents) add(ev devrun.Event) { e.mu.Lock(); e.all = append(e.all, ev); e.mu.Unlock() }

func (e *devEvents) find(kind devrun.EventKind) []devrun.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []devrun.Event
	for _, ev := range e.all {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// TestDevSendCycle: --send on a workflow with a cycle stops the loop by hops, waits
// until nothing is in flight, says how long it waited and fails (exit 1); a topic no
// task consumes is warned about with the consumed topics; the message bound says it
// stopped the run.
func TestDevSendCycle(t *testing.T) {
	dir := devProject(t, devCycle)
	cache := t.TempDir()
	ev := &devEvents{}
	opts := DevOptions{
		Options: devrun.Options{Root: dir, Port: -1, StoreDir: t.TempDir(), CacheDir: cache, Events: ev.add, MaxHops: 10},
		Send:    []DevMessage{{Subject: "a.in", Data: []byte("x")}, {Subject: "nobody.listens", Data: []byte("y")}},
	}
	start := time.Now()
	res, err := Dev(context.Background(), opts)
	if !errors.Is(err, ErrTasksFailed) || res == nil {
		t.Fatalf("Dev: %v, want ErrTasksFailed (the loop was stopped)", err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("took %s", d)
	}
	if res.Handled != 11 || res.Failed != 1 || res.Looped != 1 || res.StoppedBy != "" {
		t.Errorf("result %+v, want 11 handled, 1 failed, 1 looped, settled", res)
	}
	done := ev.find(devrun.Done)
	if len(done) != 1 || !strings.HasPrefix(done[0].Text, "settled after ") || !strings.Contains(done[0].Text, "stopped by --max-hops 10") {
		t.Errorf("done events: %+v", done)
	}
	var warned bool
	for _, w := range ev.find(devrun.Warning) {
		warned = warned || strings.Contains(w.Text, "no task consumes nobody.listens; the tasks consume a.in, b.in")
	}
	if !warned {
		t.Errorf("no warning about the unconsumed topic: %+v", ev.find(devrun.Warning))
	}

	ev = &devEvents{}
	opts.Events, opts.MaxHops, opts.MaxMessages = ev.add, 1<<20, 40
	opts.Send = opts.Send[:1]
	res, err = Dev(context.Background(), opts)
	if !errors.Is(err, ErrNotSettled) || res == nil || res.StoppedBy != "--max-messages" {
		t.Fatalf("Dev: %v, %+v; want stopped by --max-messages", err, res)
	}
	if done := ev.find(devrun.Done); len(done) != 1 || !strings.HasPrefix(done[0].Text, "stopped by --max-messages 40 after ") {
		t.Errorf("done events: %+v", done)
	}
}
