package wasmrun

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// cacheFile writes a cache entry of size bytes last used age ago.
func cacheFile(t *testing.T, root, rel string, size int, age time.Duration) string {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	when := time.Now().Add(-age)
	if err := os.Chtimes(p, when, when); err != nil {
		t.Fatal(err)
	}
	return p
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func TestTrimCache(t *testing.T) {
	root := t.TempDir()
	day := 24 * time.Hour
	expired := cacheFile(t, root, "wasm/old.wasm", 100, 40*day)
	a := cacheFile(t, root, "wasm/a.wasm", 400, 5*day)
	b := cacheFile(t, root, "wazero/wazero-v1-amd64-linux/b", 400, 4*day)
	c := cacheFile(t, root, "wasm/c.wasm", 400, 3*day)
	d := cacheFile(t, root, "wazero/wazero-v1-amd64-linux/d", 400, 2*day)
	fresh := cacheFile(t, root, "wasm/fresh.wasm", 400, time.Second)
	oldTemp := cacheFile(t, root, "wasm/.tmp-123", 50, 2*time.Hour)
	newTemp := cacheFile(t, root, "wazero/wazero-v1-amd64-linux/e.1.tmp", 50, time.Minute)
	other := cacheFile(t, root, "dev/state/stream", 10000, 90*day) // not the compile cache's

	u, err := ReadCacheUsage(root)
	if err != nil || u.Entries != 8 || u.Bytes != 100+5*400+100 || len(u.Parts) != 2 || u.Parts[0].Name != "modules" || u.Parts[0].Entries != 5 {
		t.Fatalf("usage %+v, %v", u, err)
	}
	// 2000 bytes of live entries against a bound of 1500: trimmed to 1350 or less.
	removed, freed, err := TrimCache(root, CacheLimits{MaxBytes: 1500, MaxAge: 30 * day}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{expired: false, oldTemp: false, a: false, b: false, c: true, d: true, fresh: true, newTemp: true, other: true} {
		if exists(p) != want {
			t.Errorf("%s: exists %v, want %v", p, !want, want)
		}
	}
	if removed != 4 || freed != 100+50+800 {
		t.Errorf("removed %d files, %d bytes", removed, freed)
	}
	// Within bounds: nothing more goes.
	if removed, _, _ := TrimCache(root, CacheLimits{MaxBytes: 1500, MaxAge: 30 * day}, time.Now()); removed != 0 {
		t.Errorf("a second trim removed %d", removed)
	}
	// No bound at all, a year later: only the unfinished write goes.
	if removed, _, _ := TrimCache(root, CacheLimits{MaxBytes: -1, MaxAge: -1}, time.Now().Add(400*day)); removed != 1 || exists(newTemp) || !exists(c) {
		t.Errorf("unbounded trim removed %d", removed)
	}
	removed, freed, err = CleanCache(root)
	if err != nil || removed != 3 || freed != 3*400 {
		t.Errorf("clean: %d, %d, %v", removed, freed, err)
	}
	if exists(filepath.Join(root, "wasm")) || exists(filepath.Join(root, "wazero")) || !exists(other) {
		t.Error("clean removed the wrong things")
	}
	if u, err := ReadCacheUsage(filepath.Join(root, "missing")); err != nil || u.Entries != 0 {
		t.Errorf("usage of a missing cache: %+v, %v", u, err)
	}
}

// TestCompileTrimsCache: a new build trims the cache; a cache hit marks its module as
// used.
func TestCompileTrimsCache(t *testing.T) {
	root := t.TempDir()
	stale := cacheFile(t, root, "wasm/stale.wasm", 1<<20, 60*24*time.Hour)
	rt := newRuntime(t, root, Options{})
	m := compile(t, rt, Source{Path: fixture(t, "hello/hello.go")})
	if exists(stale) {
		t.Error("a module unused for 60 days survived a new build")
	}
	when := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(m.WasmPath(), when, when); err != nil {
		t.Fatal(err)
	}
	rt2 := newRuntime(t, root, Options{})
	if m2 := compile(t, rt2, Source{Path: fixture(t, "hello/hello.go")}); !m2.FromCache() {
		t.Fatal("not a cache hit")
	}
	if st, err := os.Stat(m.WasmPath()); err != nil || time.Since(st.ModTime()) > time.Hour {
		t.Errorf("a cache hit did not mark the module as used: %v %v", st.ModTime(), err)
	}
}

// TestCacheKeyGOWASM: a module built with other GOWASM features is another module, so a
// changed GOWASM misses the cache (and the same one hits it again).
func TestCacheKeyGOWASM(t *testing.T) {
	cache := t.TempDir()
	src := Source{Path: fixture(t, "kelvin/kelvin.go")}
	t.Setenv("GOWASM", "")
	compile(t, newRuntime(t, cache, Options{}), src)
	t.Setenv("GOWASM", "satconv,signext")
	var changed goCounter
	m := compile(t, newRuntime(t, cache, Options{OnGoCommand: changed.hook}), src)
	if m.FromCache() || changed.n.Load() == 0 {
		t.Fatalf("changed GOWASM: FromCache=%v, %d go commands; want a new build", m.FromCache(), changed.n.Load())
	}
	if got, err := m.Call(context.Background(), "21.5"); err != nil || got != "294.65" {
		t.Errorf("Call = %q, %v", got, err)
	}
	var same goCounter
	if m := compile(t, newRuntime(t, cache, Options{OnGoCommand: same.hook}), src); !m.FromCache() || same.n.Load() != 0 {
		t.Errorf("same GOWASM again: FromCache=%v, %d go commands; want a cache hit", m.FromCache(), same.n.Load())
	}
}
