package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/testenv"
	"github.com/pelato-dev/pelato/internal/wasmrun"
)

// needGo skips when the Go toolchain is missing, except in CI where it must be there.
func needGo(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(os.Getenv("GOROOT"), "bin", "go")); err == nil {
		return
	}
	if p, _ := lookPath("go"); p != "" {
		return
	}
	testenv.Missing(t, "the go command is not on PATH; invoke tests need the Go toolchain")
}

func lookPath(name string) (string, error) {
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", os.ErrNotExist
}

func TestInvokeExample(t *testing.T) {
	needGo(t)
	ctx := context.Background()
	rt, err := wasmrun.NewRuntime(ctx, wasmrun.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	dir := copyProject(t, "../../examples/temperature")
	for _, tc := range []struct{ task, input, want string }{
		{"celsius_to_kelvin_conversion", "21.5", "294.65"},
		{"Temp data conversion", "-273.15", "0.00"},
		{"temp_filter", "294.65", `{"kelvin":294.65,"valid":true}`},
		{"temp_filter", "1000", `{"kelvin":1000,"valid":false,"reason":"outside the plausible range"}`},
		{"temp_filter", "", `{"kelvin":0,"valid":false,"reason":"not a number"}`},
	} {
		res, err := Invoke(ctx, InvokeOptions{Root: dir, Task: tc.task, Input: tc.input, Runtime: rt})
		if err != nil {
			t.Fatalf("%s(%q): %v", tc.task, tc.input, err)
		}
		if res.Output != tc.want {
			t.Errorf("%s(%q) = %q, want %q", tc.task, tc.input, res.Output, tc.want)
		}
	}
}

func TestInvokeInputSizesAndKV(t *testing.T) {
	needGo(t)
	ctx := context.Background()
	rt, err := wasmrun.NewRuntime(ctx, wasmrun.Options{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "tasks"), 0o755)
	os.WriteFile(filepath.Join(dir, "workflow.yaml"), []byte(`project_name: sizes
tasks:
  - name: Echo
    type: processor_nats
    code: echo.go
    targets: [edge]
    source_topic: in
    dest_topic: out
    component_name: echo
    version: 1.0.0
  - name: Store
    type: nats_to_nats-kv
    code: kv.go
    targets: [edge]
    source_topic: readings.raw
    component_name: store
    version: 1.0.0
    bucket: readings
  - name: Crash
    type: processor_nats
    code: crash.go
    targets: [edge]
    source_topic: crash.in
    dest_topic: crash.out
    component_name: crash
    version: 1.0.0
`), 0o644)
	os.WriteFile(filepath.Join(dir, "tasks", "echo.go"), []byte("//go:build ignore\n\npackage main\n\nimport \"strconv\"\n\nfunc exec_task(arg string) string { return strconv.Itoa(len(arg)) + \":\" + arg }\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "tasks", "kv.go"), []byte("package main\n\nimport \"strings\"\n\nfunc exec_task(key string, data string) (string, string) { return \"k.\" + key, strings.ToUpper(data) }\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "tasks", "crash.go"), []byte("package main\n\nfunc exec_task(arg string) string {\n\tvar m map[string]int\n\tm[arg]++ // boom\n\treturn arg\n}\n"), 0o644)

	for name, in := range map[string]string{
		"empty":     "",
		"300 bytes": strings.Repeat("x", 300),
		"1 MB":      strings.Repeat("é", 1<<19),
		"non-ASCII": "Température 🌡 ×2",
	} {
		res, err := Invoke(ctx, InvokeOptions{Root: dir, Task: "echo", Input: in, Runtime: rt})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want := strconv.Itoa(len(in)) + ":" + in; res.Output != want {
			t.Errorf("%s: output of %d bytes differs from the %d-byte input echo", name, len(res.Output), len(in))
		}
	}
	res, err := Invoke(ctx, InvokeOptions{Root: dir, Task: "store", Input: `{"key":"a","data":"héllo"}`, Runtime: rt})
	if err != nil || res.Key != "k.a" || res.Value != "HÉLLO" {
		t.Errorf("kv = %+v, %v", res, err)
	}
	res, err = Invoke(ctx, InvokeOptions{Root: dir, Task: "store", Input: `{"data":"x"}`, Runtime: rt})
	if err != nil || res.Key != "k.readings.raw" {
		t.Errorf("an empty key must become the subject, as in the template: %+v, %v", res, err)
	}
	if _, err := Invoke(ctx, InvokeOptions{Root: dir, Task: "store", Input: "not json", Runtime: rt}); err == nil || !strings.Contains(err.Error(), `{"key"`) {
		t.Errorf("bad kv input: %v", err)
	}
	_, err = Invoke(ctx, InvokeOptions{Root: dir, Task: "crash", Input: "x", Runtime: rt})
	var pe *wasmrun.PanicError
	if !errors.As(err, &pe) || !strings.Contains(pe.Value, "nil map") || !strings.Contains(pe.Stack, "crash.go:5") {
		t.Errorf("want a panic with the task's message and a stack naming crash.go:5, got %v", err)
	}
}

func TestInvokeReportsErrors(t *testing.T) {
	needGo(t)
	ctx := context.Background()
	dir := copyProject(t, "../../examples/temperature")
	cache := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tasks", "filter.go"), []byte("package main\n\nfunc exec_task(arg string) string {\n\treturn arg + 1\n}\n"), 0o644)
	_, err := Invoke(ctx, InvokeOptions{Root: dir, Task: "temp_filter", Input: "1", CacheDir: cache})
	var be *wasmrun.BuildError
	if !errors.As(err, &be) || len(be.Diagnostics) == 0 || be.Diagnostics[0].Line != 4 || !strings.HasSuffix(be.Diagnostics[0].File, "tasks/filter.go") {
		t.Errorf("want a compile error at tasks/filter.go:4, got %v", err)
	}
	// Errors of another task do not stop this one; errors of this task's keys do.
	wf := filepath.Join(dir, "workflow.yaml")
	b, _ := os.ReadFile(wf)
	os.WriteFile(wf, []byte(strings.Replace(string(b), "version: 1.0.0", "version: latest", 1)), 0o644)
	var cf *CheckFailedError
	if _, err := Invoke(ctx, InvokeOptions{Root: dir, Task: "celsius_to_kelvin_conversion", CacheDir: cache}); !errors.As(err, &cf) {
		t.Errorf("want CheckFailedError for the task's own bad version, got %v", err)
	}
	if _, err := Invoke(ctx, InvokeOptions{Root: dir, Task: "nope", CacheDir: cache}); err == nil || !strings.Contains(err.Error(), "temp_filter") {
		t.Errorf("unknown task must list tasks: %v", err)
	}
	// No Go toolchain: said plainly.
	t.Setenv("PATH", t.TempDir())
	t.Setenv("GOROOT", "")
	_, err = Invoke(ctx, InvokeOptions{Root: dir, Task: "temp_filter", Input: "1", CacheDir: t.TempDir()})
	if !errors.Is(err, wasmrun.ErrGoNotFound) {
		t.Errorf("want ErrGoNotFound, got %v", err)
	}
}

// TestInvokeSaysWhileCompiling: a compile that takes long (here: any) is announced
// with why it takes time, and its duration reported; a cached one says nothing.
func TestInvokeSaysWhileCompiling(t *testing.T) {
	needGo(t)
	ctx := context.Background()
	dir := copyProject(t, "../../examples/temperature")
	cache := t.TempDir()
	var mu sync.Mutex
	var events []Event
	rep := ReporterFunc(func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == Log {
			events = append(events, e)
		}
	})
	opts := InvokeOptions{Root: dir, Task: "temp_filter", Input: "300", CacheDir: cache, Reporter: rep, slowAfter: time.Nanosecond}
	if _, err := Invoke(ctx, opts); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := append([]Event(nil), events...)
	events = nil
	mu.Unlock()
	if len(got) < 2 || got[0].Level != "notice" || !strings.Contains(got[0].Message, "first build takes a while") ||
		!strings.HasPrefix(got[len(got)-1].Message, "compiled in ") || got[0].Task != "temp_filter" {
		t.Errorf("events of a first compile: %+v", got)
	}
	opts.slowAfter = 0 // the default: a cache hit is far quicker
	if _, err := Invoke(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 {
		t.Errorf("a cached compile reported %+v", events)
	}
}
