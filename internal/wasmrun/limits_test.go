package wasmrun

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTimeLimit(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1, Limits: Limits{Timeout: 300 * time.Millisecond}})
	m := compile(t, rt, Source{Path: fixture(t, "loop/loop.go")})
	start := time.Now()
	_, err := m.Call(context.Background(), "loop")
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != LimitTime || le.Timeout != 300*time.Millisecond {
		t.Fatalf("err = %v (%T), want a time LimitError", err, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "time limit of 300ms") {
		t.Errorf("err = %q: want it to match context.DeadlineExceeded and name the limit", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopping the loop took %v", d)
	}
	// The stopped instance is replaced; a quick call still works within the limit.
	if got, err := m.Call(context.Background(), "x"); err != nil || got != "done:x" {
		t.Errorf("Call after the limit = %q, %v", got, err)
	}
}

func TestTimeLimitPerModule(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1, Limits: Limits{Timeout: time.Hour}})
	m, err := rt.CompileWith(context.Background(), Source{Path: fixture(t, "loop/loop.go")}, CompileOptions{Limits: Limits{Timeout: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	if m.Limits().Timeout != 200*time.Millisecond || m.Limits().Memory != DefaultMemory {
		t.Errorf("Limits = %+v", m.Limits())
	}
	var le *LimitError
	if _, err := m.Call(context.Background(), "loop"); !errors.As(err, &le) || le.Limit != LimitTime {
		t.Fatalf("err = %v, want a time LimitError", err)
	}
}

func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1, Limits: Limits{Memory: 64 << 20}})
	m := compile(t, rt, Source{Path: fixture(t, "alloc/alloc.go")})
	if got, err := m.Call(context.Background(), "16"); err != nil || got != "16" {
		t.Fatalf("Call(16 MiB) = %q, %v", got, err)
	}
	start := time.Now()
	_, err := m.Call(context.Background(), "forever")
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != LimitMemory || le.Bytes != 64<<20 {
		t.Fatalf("err = %v (%T), want a memory LimitError of 64 MiB", err, err)
	}
	if !strings.Contains(err.Error(), "memory limit of 64 MiB") {
		t.Errorf("err = %q", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stopping the allocation took %v", d)
	}
	if got, err := m.Call(context.Background(), "8"); err != nil || got != "8" {
		t.Errorf("Call after the limit = %q, %v", got, err)
	}
}

func TestStackLimit(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1})
	m := compile(t, rt, Source{Path: fixture(t, "recurse/recurse.go")})
	// A deep but bounded recursion fits in the default stack.
	if got, err := m.Call(context.Background(), "10000"); err != nil || got == "" {
		t.Fatalf("Call(10000) = %q, %v", got, err)
	}
	start := time.Now()
	_, err := m.Call(context.Background(), "forever")
	elapsed := time.Since(start)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != LimitStack || le.Bytes != DefaultStack {
		t.Fatalf("err = %v (%T), want a stack LimitError", err, err)
	}
	if !strings.Contains(err.Error(), "stack grew past the limit of 8 MiB") {
		t.Errorf("err = %q", err)
	}
	// Go's own 1 GiB stack took 16 s to trap; the bound makes it quick (≈0.5 s on an
	// idle machine; the margin is for a loaded CI machine, the figure is in
	// docs/PERFORMANCE.md).
	if elapsed > 8*time.Second {
		t.Errorf("unbounded recursion trapped after %v", elapsed)
	}
	t.Logf("unbounded recursion stopped after %v", elapsed)
	if got, err := m.Call(context.Background(), "3"); err != nil || got == "" {
		t.Errorf("Call after the overflow = %q, %v", got, err)
	}
}

// rss returns the resident set size of this process, from /proc.
func rss(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * uint64(os.Getpagesize())
}

// TestMemoryReturned checks that the memory a task touched goes back to the system
// as soon as its instance is closed: a pooled instance that grew past RetainMemory is
// closed after its call, and so are the instances of a closed Module.
func TestMemoryReturned(t *testing.T) {
	// Not parallel: it measures this process's resident memory.
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1, Limits: Limits{Memory: 2 << 30}})
	m := compile(t, rt, Source{Path: fixture(t, "alloc/alloc.go")})
	if _, err := m.Call(context.Background(), "1"); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	before := rss(t)
	if got, err := m.Call(context.Background(), "1024"); err != nil || got != "1024" {
		t.Fatalf("Call(1 GiB) = %q, %v", got, err)
	}
	after := rss(t)
	t.Logf("RSS before %s, after a 1 GiB call %s", FormatBytes(before), FormatBytes(after))
	if after >= 2*before {
		t.Errorf("RSS %s after the call, want < 2 × %s: the grown instance was kept", FormatBytes(after), FormatBytes(before))
	}
	if n := len(m.idle); n != 0 {
		t.Errorf("%d idle instance(s) kept after a call that grew past RetainMemory", n)
	}
}

func TestLimitsDefaults(t *testing.T) {
	l := Limits{}.withDefaults(Limits{Timeout: -1, Stack: 1 << 20})
	if l.Timeout != -1 || l.Stack != 1<<20 || l.Memory != DefaultMemory || l.RetainMemory != DefaultRetainMemory {
		t.Errorf("withDefaults = %+v", l)
	}
	if l := (Limits{Memory: 8 << 30}).withDefaults(Limits{}); l.Memory != MaxMemory {
		t.Errorf("memory not clamped: %+v", l)
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]uint64{"512MiB": 512 << 20, "1GiB": 1 << 30, "1.5g": 3 << 29, "64k": 64 << 10, "100": 100, " 2 MB ": 2 << 20} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1MiB", "12 parsecs", "1.2.3", "inf", "NaN"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) succeeded", in)
		}
	}
	for n, want := range map[uint64]string{512 << 20: "512 MiB", 3 << 29: "1.5 GiB", 100: "100 B"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestTimeLimitWhileCollecting stops an endless loop at its time limit, natively and in
// the interpreter, while the garbage collector keeps stopping the world: the guest's
// fuel ticks leave native code often enough for both (CI runs it with -race).
func TestTimeLimitWhileCollecting(t *testing.T) {
	t.Parallel()
	for _, quick := range []bool{false, true} {
		rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1, Limits: Limits{Timeout: 300 * time.Millisecond}})
		m, err := rt.CompileWith(context.Background(), Source{Path: fixture(t, "loop/loop.go")}, CompileOptions{Quick: quick})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close(context.Background())
		if m.Interpreted() != quick {
			t.Fatalf("Interpreted = %v, want %v", m.Interpreted(), quick)
		}
		stopGC := collectWhile()
		start := time.Now()
		_, err = m.Call(context.Background(), "loop")
		stopGC()
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != LimitTime {
			t.Fatalf("quick=%v: err = %v, want a time LimitError", quick, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("quick=%v: stopping the loop took %v", quick, d)
		}
		// (TestTimeLimit shows the instance replaced; here, under -race on a loaded
		// machine, a new instance's start-up alone can take longer than 300 ms.)
	}
}

// TestCloseWhileGuestRuns closes the runtime while a guest keeps writing its
// memory: the process must not fault (the region of a running guest is unmapped
// only when its call ends), and the call ends with an error once cancelled.
func TestCloseWhileGuestRuns(t *testing.T) {
	t.Parallel()
	requireGo(t)
	rt, err := NewRuntime(context.Background(), Options{CacheDir: t.TempDir(), MaxInstances: 1})
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "task.go")
	os.WriteFile(src, []byte(`package main

var buf = make([]byte, 8<<20)

func exec_task(arg string) string {
	for i := 0; ; i += 4093 {
		buf[i%len(buf)]++
	}
}
`), 0o644)
	m := compile(t, rt, Source{Path: src})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := m.Call(ctx, "x")
		done <- err
	}()
	time.Sleep(300 * time.Millisecond) // the guest is writing its memory
	if err := rt.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	time.Sleep(200 * time.Millisecond) // and goes on after Close
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("the call ended without an error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not end after its context was cancelled")
	}
}
