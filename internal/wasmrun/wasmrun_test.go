package wasmrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/tetratelabs/wazero"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/testenv"
)

// requireGo skips when the go toolchain is missing, except on CI.
func requireGo(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(tb, "go toolchain not found on PATH; install Go from https://go.dev/dl/ to run wasmrun tests")
	}
}

// goCounter counts go invocations made by a Runtime.
type goCounter struct{ n atomic.Int64 }

func (c *goCounter) hook(args []string) { c.n.Add(1) }

func newRuntime(tb testing.TB, cacheDir string, opts Options) *Runtime {
	tb.Helper()
	requireGo(tb)
	opts.CacheDir = cacheDir
	rt, err := NewRuntime(context.Background(), opts)
	if err != nil {
		tb.Fatalf("NewRuntime: %v", err)
	}
	tb.Cleanup(func() { _ = rt.Close(context.Background()) })
	return rt
}

func compile(tb testing.TB, rt *Runtime, src Source) *Module {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	m, err := rt.Compile(ctx, src)
	if err != nil {
		tb.Fatalf("Compile(%s): %v", src.Path, err)
	}
	tb.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

func fixture(tb testing.TB, rel string) string {
	tb.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", rel))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestStringTask(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{})
	m := compile(t, rt, Source{Path: fixture(t, "kelvin/kelvin.go")})
	if m.Kind() != KindString {
		t.Fatalf("Kind = %q, want %q", m.Kind(), KindString)
	}
	for in, want := range map[string]string{"21.5": "294.65", "0": "273.15", "-273.15": "0.00"} {
		got, err := m.Call(context.Background(), in)
		if err != nil || got != want {
			t.Errorf("Call(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, _, err := m.CallKV(context.Background(), "k", "d"); err == nil {
		t.Error("CallKV on a string task succeeded")
	}
}

func TestKVTask(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{})
	m := compile(t, rt, Source{Path: fixture(t, "kv/kv.go"), Kind: KindKV})
	cases := []struct{ key, data, wantKey, wantData string }{
		{"sensor.1", "21.5", "SENSOR.1", "4:4:21.5"},
		{"", "", "", "0:0:"},
		{"clé", "héllo wörld ✓ 日本語", "CLÉ", "27:17:héllo wörld ✓ 日本語"},
	}
	for _, c := range cases {
		k, d, err := m.CallKV(context.Background(), c.key, c.data)
		if err != nil || k != c.wantKey || d != c.wantData {
			t.Errorf("CallKV(%q, %q) = %q, %q, %v; want %q, %q", c.key, c.data, k, d, err, c.wantKey, c.wantData)
		}
	}
	if _, err := m.Call(context.Background(), "x"); err == nil {
		t.Error("Call on a kv task succeeded")
	}
}

func TestKindMismatch(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{})
	_, err := rt.Compile(context.Background(), Source{Path: fixture(t, "wrongkind/task.go"), Kind: KindKV})
	var be *BuildError
	if !errors.As(err, &be) || len(be.Diagnostics) != 1 || be.Diagnostics[0].Line != 3 ||
		!strings.HasSuffix(be.Diagnostics[0].File, filepath.Join("wrongkind", "task.go")) {
		t.Fatalf("err = %v, want a BuildError at wrongkind/task.go:3", err)
	}
}

func TestPanic(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1})
	src := fixture(t, "panic/panic.go")
	m := compile(t, rt, Source{Path: src})
	_, err := m.Call(context.Background(), "kaboom")
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *PanicError", err, err)
	}
	if pe.Value != "boom: kaboom" || !strings.Contains(err.Error(), "boom: kaboom") {
		t.Errorf("Value = %q, Error() = %q", pe.Value, err.Error())
	}
	// panic() is on line 13 and the call to explode on line 9 of panic.go.
	for _, want := range []string{"main.explode(", src + ":13", "main.exec_task(", src + ":9"} {
		if !strings.Contains(pe.Stack, want) {
			t.Errorf("stack does not mention %q:\n%s", want, pe.Stack)
		}
	}
	if strings.Contains(pe.Stack, "runtime/debug.Stack") {
		t.Errorf("stack not trimmed:\n%s", pe.Stack)
	}
	// The next call runs in a fresh instance (the panicked one was discarded).
	if got, err := m.Call(context.Background(), "ok"); err != nil || got != "fine" {
		t.Errorf("Call after panic = %q, %v", got, err)
	}
}

// TestRecoverInTaskHasNoEffect: as in TinyGo on WebAssembly, recover() in task code
// returns nil, so the panic fails the call; the instance is discarded (its state is
// gone, as after a trap); a task's own function named recover is left alone.
func TestRecoverInTaskHasNoEffect(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1})
	dir := t.TempDir()
	src := filepath.Join(dir, "task.go")
	os.WriteFile(src, []byte(`package main

var calls int

func exec_task(arg string) (out string) {
	defer func() {
		if r := recover(); r != nil {
			out = "recovered"
		}
	}()
	calls++
	if arg == "panic" {
		panic("boom")
	}
	return string(rune('0' + calls))
}
`), 0o644)
	m := compile(t, rt, Source{Path: src})
	ctx := context.Background()
	if got, err := m.Call(ctx, "x"); got != "1" || err != nil {
		t.Fatalf("first call: %q, %v", got, err)
	}
	_, err := m.Call(ctx, "panic")
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" || !strings.Contains(pe.Stack, src+":13") {
		t.Fatalf("err = %v; want the panic at %s:13, not recovered", err, src)
	}
	if got, err := m.Call(ctx, "x"); got != "1" || err != nil {
		t.Errorf("after the panic: %q, %v; want a fresh instance", got, err)
	}

	own := filepath.Join(t.TempDir(), "own.go")
	os.WriteFile(own, []byte("package main\n\nfunc recover() any { return \"mine\" }\n\nfunc exec_task(arg string) string { return recover().(string) }\n"), 0o644)
	if got, err := compile(t, rt, Source{Path: own}).Call(ctx, "x"); got != "mine" || err != nil {
		t.Errorf("a task's own recover: %q, %v", got, err)
	}
}

func TestCompileError(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{})
	src := fixture(t, "compileerr/bad.go")
	_, err := rt.Compile(context.Background(), Source{Path: src})
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v (%T), want *BuildError", err, err)
	}
	if len(be.Diagnostics) == 0 {
		t.Fatalf("no diagnostics parsed from:\n%s", be.Output)
	}
	d := be.Diagnostics[0]
	if d.File != src || d.Line != 6 || d.Column != 15 || !strings.Contains(d.Message, "undefinedThing") {
		t.Errorf("diagnostic = %+v, want %s:6:15 undefined: undefinedThing", d, src)
	}
	if !strings.Contains(err.Error(), src+":6:15") || strings.Contains(err.Error(), "pelato-build-") {
		t.Errorf("Error() does not point at the user file:\n%s", err)
	}
}

func TestCacheHit(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	src := Source{Path: fixture(t, "kelvin/kelvin.go")}

	var first goCounter
	rt1 := newRuntime(t, cache, Options{OnGoCommand: first.hook})
	m1 := compile(t, rt1, src)
	if m1.FromCache() || first.n.Load() == 0 {
		t.Fatalf("first compile: FromCache=%v, go invocations=%d; want a build", m1.FromCache(), first.n.Load())
	}
	if !strings.HasPrefix(m1.WasmPath(), filepath.Join(cache, "wasm")+string(filepath.Separator)) {
		t.Errorf("WasmPath = %s, want it under %s/wasm", m1.WasmPath(), cache)
	}

	var second goCounter
	rt2 := newRuntime(t, cache, Options{OnGoCommand: second.hook})
	start := time.Now()
	m2 := compile(t, rt2, src)
	elapsed := time.Since(start)
	if !m2.FromCache() || second.n.Load() != 0 {
		t.Fatalf("second compile: FromCache=%v, go invocations=%d; want a cache hit without go", m2.FromCache(), second.n.Load())
	}
	t.Logf("cache-hit Compile took %v", elapsed)
	if got, err := m2.Call(context.Background(), "21.5"); err != nil || got != "294.65" {
		t.Errorf("Call = %q, %v", got, err)
	}

	// Changing the source is a cache miss.
	dir := t.TempDir()
	b, err := os.ReadFile(src.Path)
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(dir, "kelvin.go")
	if err := os.WriteFile(changed, bytes.Replace(b, []byte("'f', 2"), []byte("'f', 1"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	m3 := compile(t, rt2, Source{Path: changed})
	if m3.FromCache() || second.n.Load() == 0 {
		t.Errorf("changed source: FromCache=%v, go invocations=%d; want a rebuild", m3.FromCache(), second.n.Load())
	}
	if got, err := m3.Call(context.Background(), "21.5"); err != nil || got != "294.6" {
		t.Errorf("changed Call = %q, %v; want 294.6", got, err)
	}
}

func TestInputSizes(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{})
	m := compile(t, rt, Source{Path: fixture(t, "echo/echo.go")})
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	inputs := map[string]string{
		"empty":   "",
		"300B":    strings.Repeat("x", 300),
		"1MiB":    string(big),
		"utf8":    "héllo wörld ✓ 日本語 🎉 Привет",
		"invalid": "\xff\xfe\x00raw\x00",
	}
	names := make([]string, 0, len(inputs))
	for n := range inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for round := 0; round < 3; round++ { // reuse instances across sizes
		for _, name := range names {
			in := inputs[name]
			got, err := m.Call(context.Background(), in)
			if err != nil || got != in {
				t.Errorf("round %d %s: Call returned %d bytes, err %v; want %d identical bytes", round, name, len(got), err, len(in))
			}
		}
	}
}

func TestConcurrentPool(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 3})
	m := compile(t, rt, Source{Path: fixture(t, "echo/echo.go")})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				in := fmt.Sprintf("g%d-i%d-%s", g, i, strings.Repeat("é", i))
				out, err := m.Call(context.Background(), in)
				if err != nil || out != in {
					errs <- fmt.Errorf("Call(%q) = %q, %v", in, out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(m.slots); n > 3 {
		t.Errorf("%d live instances, want <= 3", n)
	}
}

func TestCancelInfiniteLoop(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1})
	m := compile(t, rt, Source{Path: fixture(t, "loop/loop.go")})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := m.Call(ctx, "loop")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancellation took %v", d)
	}
	// The killed instance is replaced.
	if got, err := m.Call(context.Background(), "x"); err != nil || got != "done:x" {
		t.Errorf("Call after cancel = %q, %v", got, err)
	}
}

func TestExit(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1})
	m := compile(t, rt, Source{Path: fixture(t, "echo/echo.go")})
	_, err := m.Call(context.Background(), "__exit__")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 {
		t.Fatalf("err = %v, want *ExitError with code 3", err)
	}
	if got, err := m.Call(context.Background(), "again"); err != nil || got != "again" {
		t.Errorf("Call after exit = %q, %v", got, err)
	}
}

func TestGuestOutput(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	rt := newRuntime(t, t.TempDir(), Options{Stdout: &stdout, Stderr: &stderr})
	m := compile(t, rt, Source{Path: fixture(t, "hello/hello.go")})
	if got, err := m.Call(context.Background(), "ünï"); err != nil || got != "printed" {
		t.Fatalf("Call = %q, %v", got, err)
	}
	if stdout.String() != "stdout: ünï\n" || stderr.String() != "stderr: ünï\n" {
		t.Errorf("stdout = %q, stderr = %q", stdout.String(), stderr.String())
	}
}

func TestDirectoryTask(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{})
	m := compile(t, rt, Source{Path: fixture(t, "multi")})
	if got, err := m.Call(context.Background(), "world"); err != nil || got != "hello, world" {
		t.Errorf("Call = %q, %v", got, err)
	}
}

func TestProjectGoMod(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{})
	m := compile(t, rt, Source{Path: fixture(t, "project/tasks/task.go"), ProjectDir: fixture(t, "project")})
	if got, err := m.Call(context.Background(), "ana"); err != nil || got != "hi ana from greet" {
		t.Errorf("Call = %q, %v", got, err)
	}
}

func TestUnresolvableImport(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{})
	dir := t.TempDir()
	gomod := "module example.com/p\n\ngo 1.24\n\nrequire example.com/missing v0.0.0\n\nreplace example.com/missing => ./nothere\n"
	task := "//go:build ignore\n\npackage main\n\nimport \"example.com/missing\"\n\nfunc exec_task(a string) string { return missing.X(a) }\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "task.go")
	if err := os.WriteFile(path, []byte(task), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := rt.Compile(context.Background(), Source{Path: path, ProjectDir: dir})
	var be *BuildError
	if !errors.As(err, &be) || len(be.Diagnostics) == 0 {
		t.Fatalf("err = %v, want *BuildError with diagnostics", err)
	}
	if d := be.Diagnostics[0]; d.File != path || d.Line != 5 || !strings.Contains(d.Message, "example.com/missing") {
		t.Errorf("diagnostic = %+v, want %s:5 about example.com/missing", d, path)
	}
}

func TestPrepareFile(t *testing.T) {
	src := "//go:build ignore\n\n// Doc.\npackage main\n\nfunc exec_task(a string) string { return a }\n"
	got := string(prepareFile("/u/t.go", []byte(src)))
	want := "\n\n// Doc.\n/*line /u/t.go:4:1*/package main\n\nfunc exec_task(a string) string { return a }\n"
	if got != want {
		t.Errorf("prepareFile =\n%q\nwant\n%q", got, want)
	}
	other := "//go:build linux\n\npackage main\n"
	if got := string(prepareFile("/u/t.go", []byte(other))); !strings.HasPrefix(got, "//go:build linux\n") {
		t.Errorf("non-ignore constraint was changed: %q", got)
	}
	if got := string(prepareFile("/u/t.go", []byte("not go at all {"))); got != "not go at all {" {
		t.Errorf("garbage changed: %q", got)
	}
}

func TestBadSource(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{})
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := map[string]string{
		"main.go":   "package main\nfunc main() {}\nfunc exec_task(a string) string { return a }\n",
		"none.go":   "package main\nfunc other() {}\n",
		"syntax.go": "package main\nfunc exec_task(a string) string { return a +\n",
		"sig.go":    "package main\nfunc exec_task(a int) int { return a }\n",
	}
	for name, body := range cases {
		_, err := rt.Compile(ctx, Source{Path: write(name, body)})
		var be *BuildError
		if !errors.As(err, &be) {
			t.Errorf("%s: err = %v, want *BuildError", name, err)
		}
	}
	for _, src := range []Source{{}, {Path: filepath.Join(dir, "missing.go")}, {Path: write("x.txt", "")}, {Path: dir, Kind: "bogus"}} {
		if _, err := rt.Compile(ctx, src); err == nil {
			t.Errorf("Compile(%+v) succeeded", src)
		}
	}
}

// TestReadResult reads pelato.result's two strings from a real wazero memory and
// refuses ranges outside it.
func TestReadResult(t *testing.T) {
	ctx := context.Background()
	wz := wazero.NewRuntime(ctx)
	defer wz.Close(ctx)
	// A module with one page of memory, exported: no code.
	mod, err := wz.Instantiate(ctx, []byte("\x00asm\x01\x00\x00\x00"+
		"\x05\x03\x01\x00\x01"+
		"\x07\x0a\x01\x06memory\x02\x00"))
	if err != nil {
		t.Fatal(err)
	}
	mem := mod.Memory()
	mem.Write(100, []byte("héllo, world"))
	for _, tc := range []struct {
		stack      []uint64
		status     uint32
		a, b, fail string
	}{
		{stack: []uint64{0, 100, 6, 108, 5}, a: "héllo", b: "world"},
		{stack: []uint64{1, 0, 0, 0, 0}, status: 1},
		{stack: []uint64{2, 65535, 1, 0, 0}, status: 2, a: "\x00"},
		{stack: []uint64{0, 65530, 10, 0, 0}, fail: "result [65530, +10) is outside guest memory"},
		{stack: []uint64{0, 0, 0, 1 << 31, 1}, fail: "result [2147483648, +1) is outside guest memory"},
	} {
		status, a, b, err := readResult(mem, tc.stack)
		if tc.fail != "" {
			if err == nil || err.Error() != tc.fail {
				t.Errorf("readResult(%v) = %v, want error %q", tc.stack, err, tc.fail)
			}
			continue
		}
		if err != nil || status != tc.status || a != tc.a || b != tc.b {
			t.Errorf("readResult(%v) = %d, %q, %q, %v; want %d, %q, %q", tc.stack, status, a, b, err, tc.status, tc.a, tc.b)
		}
	}
}

// FuzzPrepareFile checks that preparing a task file keeps its line count, and that
// trimming a panic's stack accepts any text.
func FuzzPrepareFile(f *testing.F) {
	f.Add([]byte("//go:build ignore\n\npackage main\n"))
	f.Add([]byte("// +build ignore\r\n\r\npackage main\r\n"))
	f.Add([]byte("/* x */ package"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := prepareFile("/u/t.go", b)
		if bytes.Count(out, []byte("\n")) != bytes.Count(b, []byte("\n")) {
			t.Errorf("line count changed: %q -> %q", b, out)
		}
		_ = trimPanicStack(string(b))
	})
}

func BenchmarkCall(b *testing.B) {
	rt := newRuntime(b, b.TempDir(), Options{MaxInstances: 1})
	m := compile(b, rt, Source{Path: fixture(b, "kelvin/kelvin.go")})
	ctx := context.Background()
	if _, err := m.Call(ctx, "21.5"); err != nil {
		b.Fatal(err)
	}
	durations := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		out, err := m.Call(ctx, "21.5")
		durations = append(durations, time.Since(start))
		if err != nil || out != "294.65" {
			b.Fatalf("Call = %q, %v", out, err)
		}
	}
	b.StopTimer()
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds()), "median-ns")
}

func BenchmarkCompileCached(b *testing.B) {
	cache := b.TempDir()
	src := Source{Path: fixture(b, "kelvin/kelvin.go")}
	ctx := context.Background()
	rt := newRuntime(b, cache, Options{})
	compile(b, rt, src) // populate the wasm and wazero caches

	b.Run("fresh-runtime", func(b *testing.B) {
		// What a `pelato invoke` process pays with warm caches.
		for i := 0; i < b.N; i++ {
			var n goCounter
			rt, err := NewRuntime(ctx, Options{CacheDir: cache, OnGoCommand: n.hook})
			if err != nil {
				b.Fatal(err)
			}
			m, err := rt.Compile(ctx, src)
			if err != nil {
				b.Fatal(err)
			}
			inst, err := m.NewInstance(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if n.n.Load() != 0 {
				b.Fatal("cache hit ran go")
			}
			_ = inst.Close(ctx)
			_ = rt.Close(ctx)
		}
	})
	b.Run("same-runtime", func(b *testing.B) {
		// What `pelato dev` pays when recompiling an unchanged task.
		for i := 0; i < b.N; i++ {
			m, err := rt.Compile(ctx, src)
			if err != nil {
				b.Fatal(err)
			}
			inst, err := m.NewInstance(ctx)
			if err != nil {
				b.Fatal(err)
			}
			_ = inst.Close(ctx)
			_ = m.Close(ctx)
		}
	})
}
