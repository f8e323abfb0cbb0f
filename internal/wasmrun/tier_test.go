package wasmrun

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestQuickThenNative: a module just built is interpreted when Quick is set, behaves
// like the native one (results, recovered panics with the task's file and line, the
// time limit), and Native makes the natively compiled module; once built, the same
// source compiles natively even with Quick.
func TestQuickThenNative(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The time limit also bounds the Go runtime's initialization, which the
	// interpreter runs in ≈ 0.1 s, but in more than 0.3 s under the race detector
	// (CI runs this test with -race): 3 s leaves room and still stops the loop below.
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1, Limits: Limits{Timeout: 3 * time.Second}})
	src := Source{Path: fixture(t, "panic/panic.go")}
	quick, err := rt.CompileWith(ctx, src, CompileOptions{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	defer quick.Close(ctx)
	if !quick.Interpreted() {
		t.Fatal("a module just built with Quick is not interpreted")
	}
	native, err := quick.Native(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer native.Close(ctx)
	if native.Interpreted() || native.Kind() != quick.Kind() || native.Limits() != quick.Limits() {
		t.Errorf("Native: interpreted %v, kind %q, limits %+v; want native, %q, %+v", native.Interpreted(), native.Kind(), native.Limits(), quick.Kind(), quick.Limits())
	}
	if _, err := native.Native(ctx); err == nil {
		t.Error("Native of a native module succeeded")
	}
	for _, m := range []*Module{quick, native} {
		if got, err := m.Call(ctx, "ok"); err != nil || got != "fine" {
			t.Errorf("interpreted %v: Call(ok) = %q, %v", m.Interpreted(), got, err)
		}
		_, err := m.Call(ctx, "kaboom")
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Value != "boom: kaboom" || !strings.Contains(pe.Stack, src.Path+":13") {
			t.Errorf("interpreted %v: err = %v, want the panic at %s:13", m.Interpreted(), err, src.Path)
		}
	}
	again, err := rt.CompileWith(ctx, src, CompileOptions{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close(ctx)
	if again.Interpreted() {
		t.Error("a cached module was interpreted")
	}

	loop, err := rt.CompileWith(ctx, Source{Path: fixture(t, "loop/loop.go")}, CompileOptions{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close(ctx)
	var le *LimitError
	if _, err := loop.Call(ctx, "loop"); !loop.Interpreted() || !errors.As(err, &le) || le.Limit != LimitTime {
		t.Errorf("interpreted %v: err = %v, want a time LimitError", loop.Interpreted(), err)
	}
	if got, err := loop.Call(ctx, "x"); err != nil || got != "done:x" {
		t.Errorf("Call after the limit = %q, %v", got, err)
	}
}

// TestNativeCancelled: a native compilation stops when its context ends.
func TestNativeCancelled(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1})
	quick, err := rt.CompileWith(context.Background(), Source{Path: fixture(t, "kelvin/kelvin.go")}, CompileOptions{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	defer quick.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if m, err := quick.Native(ctx); err == nil || !errors.Is(err, context.Canceled) {
		t.Errorf("Native after cancel = %v, %v; want context.Canceled", m, err)
	}
}

// TestStdOnly: only tasks that import nothing but the standard library skip `go mod tidy`.
func TestStdOnly(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{})
	tc, err := rt.goToolchain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tc.goroot == "" {
		t.Skip("the toolchain's GOROOT is not beside its go command")
	}
	for _, tc2 := range []struct {
		src  string
		want bool
	}{
		{"package main\nfunc exec_task(a string) string { return a }\n", true},
		{"package main\nimport (\"strings\"; \"encoding/json\"; \"unsafe\")\n", true},
		{"package main\nimport \"github.com/google/uuid\"\n", false},
		{"package main\nimport \"mymodule/pkg\"\n", false},
		{"package main\nimport \"C\"\n", false},
		{"package main\nimport \"strings\n", false},
	} {
		files := []taskFile{{userPath: "/p/tasks/t.go", original: []byte(tc2.src)}}
		if got := stdOnly(tc.goroot, files); got != tc2.want {
			t.Errorf("stdOnly(%q) = %v, want %v", tc2.src, got, tc2.want)
		}
	}
	if stdOnly("", []taskFile{{userPath: "t.go", original: []byte("package main\n")}}) {
		t.Error("stdOnly without a GOROOT = true")
	}
}

// TestModFilesReused: a rebuild whose go.mod, go.sum and imports did not change runs
// `go build` alone (no go mod edit, no go mod tidy) and still resolves the project's
// modules; a new import runs tidy again.
func TestModFilesReused(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var cmds []string
	rt := newRuntime(t, t.TempDir(), Options{OnGoCommand: func(args []string) {
		mu.Lock()
		cmds = append(cmds, strings.Join(args[:2], " "))
		mu.Unlock()
	}})
	project := t.TempDir()
	if err := os.CopyFS(project, os.DirFS(fixture(t, "project"))); err != nil {
		t.Fatal(err)
	}
	task := filepath.Join(project, "tasks", "task.go")
	orig, err := os.ReadFile(task)
	if err != nil {
		t.Fatal(err)
	}
	taken := func() []string {
		mu.Lock()
		defer mu.Unlock()
		got := cmds
		cmds = nil
		return got
	}
	ctx := context.Background()
	for i, edit := range []struct {
		src  string
		want []string
	}{
		{string(orig), []string{"mod edit", "mod edit", "mod tidy", "build -buildmode=c-shared"}},
		{string(orig) + "\n// edited\n", []string{"build -buildmode=c-shared"}},
		{strings.Replace(string(orig), `import "example.com/greet"`, "import (\n\t\"example.com/greet\"\n\t\"strings\"\n)\n\nvar _ = strings.ToUpper", 1),
			[]string{"mod edit", "mod edit", "mod tidy", "build -buildmode=c-shared"}},
	} {
		if err := os.WriteFile(task, []byte(edit.src), 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := rt.Compile(ctx, Source{Path: task, ProjectDir: project})
		if err != nil {
			t.Fatalf("build %d: %v", i, err)
		}
		if got, err := m.Call(ctx, "ana"); err != nil || got != "hi ana from greet" {
			t.Errorf("build %d: Call = %q, %v", i, got, err)
		}
		m.Close(ctx)
		if got := taken(); !slices.Equal(got, edit.want) {
			t.Errorf("build %d ran %q, want %q", i, got, edit.want)
		}
	}
}
