package devrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pelato-dev/pelato/internal/wasmrun"
	"github.com/pelato-dev/pelato/templates"

	"github.com/pelato-dev/pelato/internal/testenv"
)

// cacheDir is shared by the tests of this package, so each task compiles once.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pelato-devrun-cache-")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireGo skips when the Go toolchain is missing, except on CI.
func requireGo(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(tb, "go toolchain not found on PATH; pelato dev compiles tasks with it")
	}
}

// project writes a project: workflow.yaml and files under tasks/.
func project(tb testing.TB, workflowYAML string, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	write(tb, filepath.Join(dir, "workflow.yaml"), workflowYAML)
	for name, body := range files {
		write(tb, filepath.Join(dir, "tasks", name), body)
	}
	return dir
}

func write(tb testing.TB, path, body string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// freePort returns a TCP port nothing listens on.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// events collects a Runner's events.
type events struct {
	mu  sync.Mutex
	all []Event
	ch  chan struct{}
}

func newEvents() *events { return &events{ch: make(chan struct{}, 1)} }

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.ch <- struct{}{}:
	default:
	}
}

// wait returns the first event matching ok, failing after timeout.
func (e *events) wait(tb testing.TB, what string, timeout time.Duration, ok func(Event) bool) Event {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		e.mu.Lock()
		for _, ev := range e.all {
			if ok(ev) {
				e.mu.Unlock()
				return ev
			}
		}
		e.mu.Unlock()
		select {
		case <-e.ch:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			e.mu.Lock()
			defer e.mu.Unlock()
			var b strings.Builder
			for _, ev := range e.all {
				fmt.Fprintf(&b, "  %+v\n", ev)
			}
			tb.Fatalf("no %s within %v; events:\n%s", what, timeout, b.String())
		}
	}
}

// start runs dir with test defaults (any free NATS port, a private JetStream store).
func start(tb testing.TB, dir string, opts Options) (*Runner, *events) {
	tb.Helper()
	requireGo(tb)
	ev := newEvents()
	opts.Root, opts.Port, opts.StoreDir, opts.CacheDir = dir, -1, tb.TempDir(), cacheDir
	if opts.Events == nil {
		opts.Events = ev.add
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := Start(ctx, opts)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := r.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return r, ev
}

// temperature returns a copy of examples/temperature whose HTTP producer listens on
// a free port.
func temperature(tb testing.TB) (dir string, port int) {
	tb.Helper()
	src := filepath.Join("..", "..", "examples", "temperature")
	wf, err := os.ReadFile(filepath.Join(src, "workflow.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	port = freePort(tb)
	files := map[string]string{}
	for _, n := range []string{"convert.go", "filter.go"} {
		b, err := os.ReadFile(filepath.Join(src, "tasks", n))
		if err != nil {
			tb.Fatal(err)
		}
		files[n] = string(b)
	}
	text := strings.Replace(string(wf), "    component_name: celsius_to_kelvin_conversion\n",
		fmt.Sprintf("    component_name: celsius_to_kelvin_conversion\n    http_port: %d\n", port), 1)
	return project(tb, text, files), port
}

// subscribe collects the messages on subject.
func subscribe(tb testing.TB, nc *nats.Conn, subject string) chan *nats.Msg {
	tb.Helper()
	ch := make(chan *nats.Msg, 100000)
	sub, err := nc.ChanSubscribe(subject, ch)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		tb.Fatal(err)
	}
	return ch
}

func next(tb testing.TB, ch chan *nats.Msg) string {
	tb.Helper()
	select {
	case m := <-ch:
		return string(m.Data)
	case <-time.After(10 * time.Second):
		tb.Fatal("no message within 10 s")
	}
	return ""
}

func connect(tb testing.TB, r *Runner) *nats.Conn {
	tb.Helper()
	nc, err := nats.Connect(r.URL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

func TestTemperatureChain(t *testing.T) {
	dir, port := temperature(t)
	r, ev := start(t, dir, Options{})
	nc := connect(t, r)
	out := subscribe(t, nc, "filtered_kelvin_data")
	if err := nc.Publish("living_room_celsius_data", []byte("21.5")); err != nil {
		t.Fatal(err)
	}
	if got := next(t, out); got != `{"kelvin":294.65,"valid":true}` {
		t.Errorf("chain output %q", got)
	}
	ev.wait(t, "the filter's log line", 5*time.Second, func(e Event) bool {
		return e.Kind == Message && e.Task == "temp_filter" && e.From == "living_room_kelvin_data" && e.To == "filtered_kelvin_data" && e.Error == ""
	})
	// A request gets the first task's result as its reply.
	reply, err := nc.Request("living_room_celsius_data", []byte("0"), 5*time.Second)
	if err != nil || string(reply.Data) != "273.15" {
		t.Errorf("request: %v %v", reply, err)
	}
	// The HTTP producer answers a real POST and feeds the chain.
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/", port), "text/plain", strings.NewReader("100"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "373.15" {
		t.Errorf("POST: %d %q", resp.StatusCode, body)
	}
	next(t, out) // the request's
	if got := next(t, out); got != `{"kelvin":373.15,"valid":false,"reason":"outside the plausible range"}` {
		t.Errorf("chain output after POST %q", got)
	}
}

// rulesWorkflow has one task of each template; rulesTask echoes, panics or loops.
const rulesWorkflow = `project_name: rules
tasks:
  - name: proc
    type: processor_nats
    code: echo.go
    targets: [t]
    source_topic: proc.in
    dest_topic: proc.out
    component_name: proc
    version: 1.0.0
  - name: web
    type: http_producer_nats
    code: echo.go
    targets: [t]
    source_topic: web.in
    dest_topic: web.out
    component_name: web
    version: 1.0.0
    http_port: %d
  - name: store
    type: nats_to_nats-kv
    code: kv.go
    targets: [t]
    source_topic: store.>
    component_name: store
    version: 1.0.0
    bucket: readings
`

const echoTask = `package main

func exec_task(arg string) string {
	if arg == "panic" {
		panic("asked to panic")
	}
	return "echo:" + arg
}
`

const kvTask = `package main

func exec_task(key string, data string) (string, string) {
	if data == "nokey" {
		return "", data
	}
	return key, "stored:" + data
}
`

// TestTemplateRules holds pelato dev to every behaviour rule of the templates
// (templates.BehaviourRules); templates' TestGeneratedRules holds the generated
// harnesses to the same list.
func TestTemplateRules(t *testing.T) {
	port := freePort(t)
	dir := project(t, fmt.Sprintf(rulesWorkflow, port), map[string]string{"echo.go": echoTask, "kv.go": kvTask})
	r, ev := start(t, dir, Options{})
	nc := connect(t, r)
	procOut := subscribe(t, nc, "proc.out")
	webOut := subscribe(t, nc, "web.out")
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	post := func(method, body string) (int, string, http.Header) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	failed := func(task, substr string) Event {
		return ev.wait(t, task+" failing with "+substr, 10*time.Second, func(e Event) bool {
			return e.Kind == Message && e.Task == task && strings.Contains(e.Error, substr)
		})
	}
	stored := func(key string) string {
		kv, err := js.KeyValue(context.Background(), "readings")
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			e, err := kv.Get(context.Background(), key)
			if err == nil {
				return string(e.Value())
			}
			if time.Now().After(deadline) {
				t.Fatalf("key %q never stored: %v", key, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	checks := map[string]func(t *testing.T){
		"empty-body": func(t *testing.T) {
			nc.Publish("proc.in", nil)
			failed("proc", `empty message body on subject "proc.in"`)
			nc.Publish("store.empty", nil)
			failed("store", `empty message body on subject "store.empty"`)
		},
		"panic-traps": func(t *testing.T) {
			nc.Publish("proc.in", []byte("panic"))
			e := failed("proc", "trap: exec_task panicked: asked to panic")
			if e.Location != "tasks/echo.go:5" || !strings.Contains(e.Text, "main.exec_task") {
				t.Errorf("panic location %q, stack %q", e.Location, e.Text)
			}
			nc.Publish("proc.in", []byte("after"))
			if got := next(t, procOut); got != "echo:after" {
				t.Errorf("after a panic: %q", got)
			}
		},
		"publish-dest": func(t *testing.T) {
			nc.Publish("proc.in", []byte("x"))
			if got := next(t, procOut); got != "echo:x" {
				t.Errorf("published %q", got)
			}
			nc.Publish("web.in", []byte("y"))
			if got := next(t, webOut); got != "echo:y" {
				t.Errorf("published %q", got)
			}
		},
		"reply-to": func(t *testing.T) {
			m, err := nc.Request("proc.in", []byte("q"), 5*time.Second)
			if err != nil || string(m.Data) != "echo:q" {
				t.Errorf("reply %v, %v", m, err)
			}
			next(t, procOut)
		},
		"http-ok": func(t *testing.T) {
			if code, body, h := post("POST", "hello"); code != templates.StatusOK || body != "echo:hello" || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
				t.Errorf("POST: %d %q %v", code, body, h)
			}
			if got := next(t, webOut); got != "echo:hello" {
				t.Errorf("published %q", got)
			}
		},
		"http-method": func(t *testing.T) {
			if code, body, h := post("GET", ""); code != templates.StatusMethodNotAllowed || h.Get("Allow") != "POST" || !strings.Contains(body, "method GET not allowed") {
				t.Errorf("GET: %d %q %v", code, body, h)
			}
		},
		"http-empty": func(t *testing.T) {
			if code, body, _ := post("POST", ""); code != templates.StatusEmptyBody || body != "empty request body\n" {
				t.Errorf("empty POST: %d %q", code, body)
			}
		},
		"http-too-large": func(t *testing.T) {
			if code, _, _ := post("POST", strings.Repeat("x", templates.MaxHTTPBody+1)); code != templates.StatusTooLarge {
				t.Errorf("large POST: %d", code)
			}
		},
		"http-task-failed": func(t *testing.T) {
			if code, body, _ := post("POST", "panic"); code != templates.StatusTaskFailed || body != "trap: exec_task panicked: asked to panic\n" {
				t.Errorf("panicking POST: %d %q", code, body)
			}
		},
		"kv-decode": func(t *testing.T) {
			nc.Publish("store.a", []byte(`{"key":"k1","data":"text"}`))
			nc.Publish("store.a", []byte(`{"key":"k2","data":{"n":1}}`))
			nc.Publish("store.a", []byte(`not json`))
			if got := stored("k1"); got != "stored:text" {
				t.Errorf("k1 = %q", got)
			}
			if got := stored("k2"); got != `stored:{"n":1}` {
				t.Errorf("k2 = %q", got)
			}
			failed("store", `body is not a JSON object`)
		},
		"kv-subject-key": func(t *testing.T) {
			nc.Publish("store.sensor1", []byte(`{"data":"21.5"}`))
			if got := stored("store.sensor1"); got != "stored:21.5" {
				t.Errorf("store.sensor1 = %q", got)
			}
		},
		"kv-empty-new-key": func(t *testing.T) {
			nc.Publish("store.x", []byte(`{"key":"k","data":"nokey"}`))
			failed("store", templates.ErrEmptyKey.Error())
		},
		"kv-store": func(t *testing.T) {
			nc.Publish("store.b", []byte(`{"key":"k3","data":"v"}`))
			if got := stored("k3"); got != "stored:v" {
				t.Errorf("k3 = %q", got)
			}
			ev.wait(t, "the store's log line", 5*time.Second, func(e Event) bool {
				return e.Kind == Message && e.Task == "store" && e.To == "readings/k3" && e.Result == "stored:v"
			})
		},
	}
	for _, rule := range templates.BehaviourRules() {
		check, ok := checks[rule.ID]
		if !ok {
			t.Errorf("rule %s (%s) has no check against pelato dev", rule.ID, rule.Text)
			continue
		}
		t.Run(rule.ID, check)
		delete(checks, rule.ID)
	}
	for id := range checks {
		t.Errorf("check %s is not a rule of templates.BehaviourRules", id)
	}
}

const loopTask = `package main

func exec_task(arg string) string {
	if arg == "loop" {
		for n := 0; ; n++ {
			if n < 0 {
				return "never"
			}
		}
	}
	return "ok:" + arg
}
`

const twoProcessors = `project_name: two
tasks:
  - name: a
    type: processor_nats
    code: a.go
    targets: [t]
    source_topic: a.in
    dest_topic: a.out
    component_name: a
    version: 1.0.0
  - name: b
    type: processor_nats
    code: b.go
    targets: [t]
    source_topic: b.in
    dest_topic: b.out
    component_name: b
    version: 1.0.0
`

func TestLoopStoppedByDeadline(t *testing.T) {
	dir := project(t, twoProcessors, map[string]string{"a.go": loopTask, "b.go": echoTask})
	r, ev := start(t, dir, Options{Limits: wasmrun.Limits{Timeout: 300 * time.Millisecond}})
	nc := connect(t, r)
	aOut, bOut := subscribe(t, nc, "a.out"), subscribe(t, nc, "b.out")
	nc.Publish("a.in", []byte("loop"))
	nc.Publish("b.in", []byte("meanwhile"))
	if got := next(t, bOut); got != "echo:meanwhile" {
		t.Errorf("the other task: %q", got)
	}
	ev.wait(t, "the loop stopped", 10*time.Second, func(e Event) bool {
		return e.Kind == Message && e.Task == "a" && strings.Contains(e.Error, "time limit of 300ms")
	})
	// The stopped instance is replaced.
	nc.Publish("a.in", []byte("again"))
	if got := next(t, aOut); got != "ok:again" {
		t.Errorf("after the deadline: %q", got)
	}
}

const versionTask = `package main

func exec_task(arg string) string { return "%s:" + arg }
`

const oneProcessor = `project_name: one
tasks:
  - name: a
    type: processor_nats
    code: a.go
    targets: [t]
    source_topic: a.in
    dest_topic: a.out
    component_name: a
    version: 1.0.0
`

// TestHotSwapUnderTraffic edits a task while messages flow (one a millisecond, until
// 300 after the second swap): every message gets exactly one result, and the new code
// takes over — first interpreted, then natively compiled (two swaps).
func TestHotSwapUnderTraffic(t *testing.T) {
	dir := project(t, oneProcessor, map[string]string{"a.go": fmt.Sprintf(versionTask, "v1")})
	r, ev := start(t, dir, Options{Watch: true, PollInterval: 20 * time.Millisecond})
	nc := connect(t, r)
	out := subscribe(t, nc, "a.out")
	var sent atomic.Int64
	var swapped atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		after := 0
		for i := 0; after < 300 && i < 600000; i++ {
			nc.Publish("a.in", []byte(fmt.Sprint(i)))
			sent.Add(1)
			if swapped.Load() {
				after++
			}
			time.Sleep(time.Millisecond)
		}
		nc.Flush()
	}()
	for sent.Load() < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	write(t, filepath.Join(dir, "tasks", "a.go"), fmt.Sprintf(versionTask, "v2"))
	e := ev.wait(t, "the swap", 5*time.Minute, func(e Event) bool { return e.Kind == Swapped && e.Task == "a" })
	if !strings.Contains(e.Text, "interpreted") {
		t.Errorf("swap event %q: want the new code interpreted first", e.Text)
	}
	ev.wait(t, "the native code", 5*time.Minute, func(e Event) bool {
		return e.Kind == Info && e.Task == "a" && strings.HasPrefix(e.Text, "native code serving")
	})
	swapped.Store(true)
	<-done
	total := int(sent.Load())
	seen := map[string]bool{}
	v2 := 0
	for len(seen) < total {
		got := next(t, out)
		version, n, _ := strings.Cut(got, ":")
		if seen[n] {
			t.Fatalf("message %s answered twice", n)
		}
		seen[n] = true
		if version == "v2" {
			v2++
		}
	}
	if v2 == 0 || v2 == total {
		t.Errorf("%d of %d results from the new code; want the swap in the middle of the traffic", v2, total)
	}
	if h, f := r.Stats(); f != 0 || h != int64(total) {
		t.Errorf("handled %d, failed %d; want %d, 0", h, f, total)
	}
	t.Logf("%d of %d messages served by the new code", v2, total)
}

func TestWorkflowEditAddsTask(t *testing.T) {
	dir := project(t, oneProcessor, map[string]string{"a.go": fmt.Sprintf(versionTask, "a")})
	r, ev := start(t, dir, Options{Watch: true, PollInterval: 20 * time.Millisecond})
	nc := connect(t, r)
	out := subscribe(t, nc, "b.out")
	write(t, filepath.Join(dir, "tasks", "b.go"), fmt.Sprintf(versionTask, "b"))
	wf := oneProcessor + `  - name: b
    type: processor_nats
    code: b.go
    targets: [t]
    source_topic: a.out
    dest_topic: b.out
    component_name: b
    version: 1.0.0
`
	write(t, filepath.Join(dir, "workflow.yaml"), wf)
	ev.wait(t, "the new task", 60*time.Second, func(e Event) bool { return e.Kind == Started && e.Task == "b" })
	nc.Publish("a.in", []byte("x"))
	if got := next(t, out); got != "b:a:x" {
		t.Errorf("through the new task: %q", got)
	}
	// Re-wiring: a's output moves to another subject.
	mark := time.Now()
	write(t, filepath.Join(dir, "workflow.yaml"), strings.Replace(wf, "dest_topic: a.out", "dest_topic: a.elsewhere", 1))
	elsewhere := subscribe(t, nc, "a.elsewhere")
	ev.wait(t, "the reload", 60*time.Second, func(e Event) bool {
		return e.Kind == Info && strings.HasPrefix(e.Text, "reloaded") && e.Time.After(mark)
	})
	nc.Publish("a.in", []byte("y"))
	if got := next(t, elsewhere); got != "a:y" {
		t.Errorf("after re-targeting: %q", got)
	}
	// Removing a task stops it.
	write(t, filepath.Join(dir, "workflow.yaml"), oneProcessor)
	ev.wait(t, "b stopped", 60*time.Second, func(e Event) bool { return e.Kind == Stopped && e.Task == "b" })
	if got := r.Tasks(); len(got) != 1 || got[0] != "a" {
		t.Errorf("tasks %v", got)
	}
}

func TestBrokenEditKeepsServing(t *testing.T) {
	dir := project(t, oneProcessor, map[string]string{"a.go": fmt.Sprintf(versionTask, "good")})
	r, ev := start(t, dir, Options{Watch: true, PollInterval: 20 * time.Millisecond})
	nc := connect(t, r)
	out := subscribe(t, nc, "a.out")
	write(t, filepath.Join(dir, "tasks", "a.go"), "package main\n\nfunc exec_task(arg string) string { return undefinedThing }\n")
	e := ev.wait(t, "the problems", 60*time.Second, func(e Event) bool { return e.Kind == Problems })
	if !strings.Contains(e.Text, "a.go:3:") || !strings.Contains(e.Text, "undefinedThing") {
		t.Errorf("problems:\n%s", e.Text)
	}
	nc.Publish("a.in", []byte("still"))
	if got := next(t, out); got != "good:still" {
		t.Errorf("after a broken edit: %q", got)
	}
	// A broken workflow.yaml too.
	write(t, filepath.Join(dir, "workflow.yaml"), strings.Replace(oneProcessor, "version: 1.0.0", "version: latest", 1))
	ev.wait(t, "the workflow problem", 60*time.Second, func(e Event) bool {
		return e.Kind == Problems && strings.Contains(e.Text, "workflow.yaml:")
	})
	nc.Publish("a.in", []byte("again"))
	if got := next(t, out); got != "good:again" {
		t.Errorf("after a broken workflow: %q", got)
	}
}

// TestBrokenEditDuringNativeCompile: a broken save that stops the native compilation of
// the code serving does not leave that code on the interpreter.
func TestBrokenEditDuringNativeCompile(t *testing.T) {
	dir := project(t, oneProcessor, map[string]string{"a.go": fmt.Sprintf(versionTask, "v1")})
	r, ev := start(t, dir, Options{Watch: true, PollInterval: 20 * time.Millisecond})
	nc := connect(t, r)
	out := subscribe(t, nc, "a.out")
	write(t, filepath.Join(dir, "tasks", "a.go"), fmt.Sprintf(versionTask, "v2"))
	ev.wait(t, "the swap", 5*time.Minute, func(e Event) bool { return e.Kind == Swapped && e.Task == "a" })
	mark := time.Now()
	// Checked on the host but not built for WASI: the check passes, the build fails.
	write(t, filepath.Join(dir, "tasks", "a.go"), "package main\n\nimport \"syscall\"\n\nfunc exec_task(arg string) string { syscall.Getpgid(0); return arg }\n")
	e := ev.wait(t, "the problems", 60*time.Second, func(e Event) bool { return e.Kind == Problems })
	if !strings.Contains(e.Text, "Getpgid") {
		t.Errorf("problems: %q, want the build error", e.Text)
	}
	ev.wait(t, "the native code", 2*time.Minute, func(e Event) bool {
		return e.Kind == Info && e.Task == "a" && strings.HasPrefix(e.Text, "native code serving") && e.Time.After(mark)
	})
	nc.Publish("a.in", []byte("x"))
	if got := next(t, out); got != "v2:x" {
		t.Errorf("after the broken edit: %q", got)
	}
}

func TestPortInUse(t *testing.T) {
	requireGo(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	dir := project(t, fmt.Sprintf(rulesWorkflow, port), map[string]string{"echo.go": echoTask, "kv.go": kvTask})
	_, err = Start(context.Background(), Options{Root: dir, Port: -1, StoreDir: t.TempDir(), CacheDir: cacheDir})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("task web: http_port %d is already in use", port)) {
		t.Errorf("err = %v, want the task and the port named", err)
	}
	_, err = Start(context.Background(), Options{Root: dir, Port: port, StoreDir: t.TempDir(), CacheDir: cacheDir})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("NATS port %d is already in use", port)) {
		t.Errorf("err = %v, want the NATS port named", err)
	}
}

func TestStartRefusesErrors(t *testing.T) {
	requireGo(t)
	dir := project(t, strings.Replace(oneProcessor, "version: 1.0.0", "version: latest", 1), map[string]string{"a.go": echoTask})
	_, err := Start(context.Background(), Options{Root: dir, Port: -1, StoreDir: t.TempDir(), CacheDir: cacheDir})
	var pe *ProblemsError
	if !errors.As(err, &pe) || !strings.Contains(pe.Text, "workflow.yaml:") {
		t.Errorf("err = %v, want a ProblemsError naming workflow.yaml", err)
	}
}

// TestCloseLeavesNothing starts and stops a workflow with an HTTP producer and checks
// that no goroutine, listener or server is left. (CI also runs it with -race.)
func TestCloseLeavesNothing(t *testing.T) {
	requireGo(t)
	dir, port := temperature(t)
	// Warm the compile cache and the runtime's lazily started goroutines.
	r0, _ := startNoCleanup(t, dir)
	r0.Close()
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	before := runtime.NumGoroutine()

	r, _ := startNoCleanup(t, dir)
	url := r.URL()
	nc := connect(t, r)
	out := subscribe(t, nc, "filtered_kelvin_data")
	nc.Publish("living_room_celsius_data", []byte("20"))
	next(t, out)
	nc.Close()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		t.Error("the HTTP producer still listens after Close")
	}
	if _, err := nats.Connect(url, nats.Timeout(time.Second)); err == nil {
		t.Error("the NATS server still answers after Close")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, leaked(buf))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func startNoCleanup(t *testing.T, dir string) (*Runner, error) {
	r, err := Start(context.Background(), Options{Root: dir, Port: -1, StoreDir: t.TempDir(), CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	return r, nil
}

// leaked keeps the goroutine dumps that are not the test's own.
func leaked(dump []byte) string {
	var out []string
	for _, g := range bytes.Split(dump, []byte("\n\n")) {
		if !bytes.Contains(g, []byte("testing.")) {
			out = append(out, string(g))
		}
	}
	return strings.Join(out, "\n\n")
}

const burstTask = `package main

import "time"

func exec_task(arg string) string {
	switch arg {
	case "slow":
		time.Sleep(300 * time.Millisecond)
	case "panic":
		panic("asked to panic")
	case "loop":
		for n := 0; ; n++ {
			if n < 0 {
				return "never"
			}
		}
	}
	return "ok:" + arg
}
`

// TestBurstInBatches sends a burst that queues up behind a slow message, so the task
// takes it in batches: every message still gets exactly one result or error of its
// own, in order — a panic with its location, an empty body, a loop stopped by its
// time limit (the messages after it run on a new instance) — and replies go to their
// own requesters.
func TestBurstInBatches(t *testing.T) {
	dir := project(t, oneProcessor, map[string]string{"a.go": burstTask})
	r, ev := start(t, dir, Options{Limits: wasmrun.Limits{Timeout: time.Second}})
	nc := connect(t, r)
	out := subscribe(t, nc, "a.out")
	var want []string
	failures := 0
	nc.Publish("a.in", []byte("slow"))
	want = append(want, "ok:slow")
	const n = 300
	for i := 0; i < n; i++ {
		body := fmt.Sprint(i)
		switch {
		case i == 150:
			body = "loop"
		case i%50 == 7:
			body = "panic"
		case i%70 == 3:
			body = ""
		}
		nc.Publish("a.in", []byte(body))
		if body == "loop" || body == "panic" || body == "" {
			failures++
		} else {
			want = append(want, "ok:"+body)
		}
	}
	reply, err := nc.Request("a.in", []byte("asked"), 30*time.Second)
	if err != nil || string(reply.Data) != "ok:asked" {
		t.Fatalf("request in the burst: %v, %v", reply, err)
	}
	want = append(want, "ok:asked")
	for i, w := range want {
		if got := next(t, out); got != w {
			t.Fatalf("output %d = %q, want %q", i, got, w)
		}
	}
	if err := r.WaitQuiet(context.Background(), 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if h, f := r.Stats(); h != n+2 || f != int64(failures) {
		t.Errorf("handled %d, failed %d; want %d, %d", h, f, n+2, failures)
	}
	var panics, empty, loops int
	for _, e := range ev.snapshot() {
		switch {
		case e.Kind != Message:
		case strings.Contains(e.Error, "asked to panic"):
			panics++
			if e.Location != "tasks/a.go:10" {
				t.Errorf("panic location %q, want tasks/a.go:10", e.Location)
			}
		case strings.Contains(e.Error, "empty"):
			empty++
		case strings.Contains(e.Error, "time limit"):
			loops++
		}
	}
	if panics != 6 || empty != 5 || loops != 1 {
		t.Errorf("%d panics, %d empty bodies, %d loops stopped; want 6, 5, 1", panics, empty, loops)
	}
}

// snapshot returns the events so far.
func (e *events) snapshot() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.all...)
}

// TestCloseDuringNativeCompile: Close right after a save, while the new code's native
// compilation runs in the background, stops that compilation and leaves no goroutine.
func TestCloseDuringNativeCompile(t *testing.T) {
	requireGo(t)
	dir := project(t, oneProcessor, map[string]string{"a.go": fmt.Sprintf(versionTask, "v1")})
	r0, _ := startNoCleanup(t, dir)
	r0.Close()
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	before := runtime.NumGoroutine()

	ev := newEvents()
	r, err := Start(context.Background(), Options{Root: dir, Port: -1, StoreDir: t.TempDir(), CacheDir: cacheDir,
		Watch: true, PollInterval: 20 * time.Millisecond, Events: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "tasks", "a.go"), fmt.Sprintf(versionTask, "v2"))
	ev.wait(t, "the swap", 2*time.Minute, func(e Event) bool { return e.Kind == Swapped && e.Task == "a" })
	start := time.Now()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Close took %v", d)
	}
	for _, e := range ev.snapshot() {
		if e.Kind == Warning {
			t.Errorf("warning: %s", e.Text)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, leaked(buf))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
