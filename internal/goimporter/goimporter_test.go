package goimporter

import (
	"context"
	"go/types"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func resolve(t *testing.T, c *Cache, root string, paths ...string) *Imports {
	t.Helper()
	im, err := c.Resolve(context.Background(), root, paths)
	if err != nil {
		t.Fatalf("Resolve(%v): %v", paths, err)
	}
	return im
}

func TestStandardLibraryLoadsOnce(t *testing.T) {
	root := t.TempDir()
	c := New(Options{})
	im := resolve(t, c, root, "strings", "encoding/json", "strings", "unsafe")
	for _, p := range []string{"strings", "encoding/json", "unsafe"} {
		if pkg := im.Package(p); pkg == nil || !pkg.Complete() {
			t.Errorf("%s: %v", p, pkg)
		}
	}
	if len(im.Unresolved()) != 0 {
		t.Errorf("unresolved: %v", im.Unresolved())
	}
	if c.Loads() != 1 {
		t.Fatalf("loads = %d, want 1", c.Loads())
	}
	// A subset: nothing to do.
	resolve(t, c, root, "strings")
	// A dependency of a loaded package: its export file is known, decoding suffices.
	decodes := c.Decodes()
	io := resolve(t, c, root, "io").Package("io")
	if c.Loads() != 1 || c.Decodes() != decodes+1 {
		t.Errorf("loads = %d, decodes +%d; want 1, +1", c.Loads(), c.Decodes()-decodes)
	}
	// One shared package map: json's io.Reader is io's Reader.
	dec := im.Package("encoding/json").Scope().Lookup("NewDecoder").Type().(*types.Signature)
	if got, want := dec.Params().At(0).Type().(*types.Named).Obj(), io.Scope().Lookup("Reader"); got != want {
		t.Errorf("io.Reader from json is %p, from io %p", got, want)
	}
	// Another root without go.mod shares the context.
	resolve(t, c, t.TempDir(), "encoding/json")
	if c.Loads() != 1 {
		t.Errorf("a second root reloaded: loads = %d", c.Loads())
	}
	// A new path loads.
	resolve(t, c, root, "archive/zip")
	if c.Loads() != 2 {
		t.Errorf("loads = %d, want 2", c.Loads())
	}
}

func TestConcurrentRequestsShareOneLoad(t *testing.T) {
	root := t.TempDir()
	c := New(Options{})
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			im, err := c.Resolve(context.Background(), root, []string{"net/url", "text/template"})
			if err != nil || im.Package("text/template") == nil {
				t.Errorf("Resolve: %v", err)
			}
		}()
	}
	wg.Wait()
	if c.Loads() != 1 {
		t.Errorf("loads = %d, want 1", c.Loads())
	}
}

func TestThirdPartyWithoutGoMod(t *testing.T) {
	c := New(Options{})
	im := resolve(t, c, t.TempDir(), "github.com/nats-io/nats.go")
	u, ok := im.Lookup("github.com/nats-io/nats.go")
	if !ok || !u.ThirdParty || !u.NoModule {
		t.Errorf("unresolved = %+v, %v", u, ok)
	}
	if c.Loads() != 0 {
		t.Errorf("go list ran %d times for a third-party path without go.mod", c.Loads())
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGoModContext(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "go.mod"), "module example.com/proj // the project\n\ngo 1.24\n")
	writeFile(t, filepath.Join(root, "lib", "lib.go"), "package lib\n\n// Name is exported.\nconst Name = \"lib\"\n")
	c := New(Options{})
	im := resolve(t, c, root, "strings", "example.com/proj/lib", "github.com/example/notthere")
	if m := im.Module(); m.Path != "example.com/proj" || m.GoVersion != "1.24" || !m.HasGoMod {
		t.Errorf("module = %+v", m)
	}
	if im.Package("example.com/proj/lib") == nil || im.Package("strings") == nil {
		t.Errorf("packages: %v", im.Unresolved())
	}
	u, ok := im.Lookup("github.com/example/notthere")
	if !ok || !u.ThirdParty || u.NoModule {
		t.Errorf("unresolved = %+v", u)
	}
	resolve(t, c, root, "github.com/example/notthere", "strings")
	if c.Loads() != 1 {
		t.Errorf("loads = %d, want 1", c.Loads())
	}
	key := im.Key()
	// go.mod changes: the context is rebuilt.
	writeFile(t, filepath.Join(root, "go.mod"), "module example.com/proj\n\ngo 1.24\n\n// changed\n")
	im2 := resolve(t, c, root, "strings")
	if c.Loads() != 2 {
		t.Errorf("loads after go.mod change = %d, want 2", c.Loads())
	}
	if im2.Key() == key {
		t.Error("key unchanged after go.mod change")
	}
	// go.sum appears: rebuilt again.
	writeFile(t, filepath.Join(root, "go.sum"), "example.com/x v1.0.0/go.mod h1:AAAA=\n")
	resolve(t, c, root, "strings")
	if c.Loads() != 3 {
		t.Errorf("loads after go.sum = %d, want 3", c.Loads())
	}
}

func TestRefusedGoModStillLoadsStd(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "go.mod"), "module example.com/proj\n\ngo 1.99\n")
	c := New(Options{})
	im := resolve(t, c, root, "strings", "github.com/example/x")
	if im.Package("strings") == nil {
		t.Errorf("strings unresolved: %v", im.Unresolved())
	}
	if u, ok := im.Lookup("github.com/example/x"); !ok || u.Reason == "" {
		t.Errorf("third party: %+v", u)
	}
}

func TestResolveCancelled(t *testing.T) {
	c := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Resolve(ctx, t.TempDir(), []string{"bufio"}); err == nil {
		t.Error("no error from a cancelled request")
	}
}

func TestNotInStd(t *testing.T) {
	c := New(Options{})
	im := resolve(t, c, t.TempDir(), "mylib/foo")
	if u, ok := im.Lookup("mylib/foo"); !ok || u.ThirdParty || u.Reason == "" {
		t.Errorf("unresolved = %+v", u)
	}
}

func TestParseGoMod(t *testing.T) {
	m := parseGoMod([]byte("// header\nmodule \"example.com/q\"\n\ngo 1.22.3 // comment\ntoolchain go1.24.0\n"))
	if m.Path != "example.com/q" || m.GoVersion != "1.22.3" {
		t.Errorf("%+v", m)
	}
}

// TestPendingStartsOneLoad: Pending starts the load a request needs without waiting;
// a Resolve of some of the same paths meanwhile waits for that load instead of
// starting its own; afterwards nothing is pending and Resolve runs no go command.
func TestPendingStartsOneLoad(t *testing.T) {
	root := t.TempDir()
	c := New(Options{})
	ctx := context.Background()
	done, err := c.Pending(ctx, root, []string{"net/url", "text/template", "unsafe"})
	if err != nil || done == nil {
		t.Fatalf("Pending = %v, %v; want a channel", done, err)
	}
	if im := resolve(t, c, root, "text/template"); im.Package("text/template") == nil {
		t.Fatal("text/template not resolved")
	}
	<-done
	if c.Loads() != 1 {
		t.Errorf("loads = %d, want 1 (Resolve waited for the pending load)", c.Loads())
	}
	if again, err := c.Pending(ctx, root, []string{"net/url", "unsafe"}); again != nil || err != nil {
		t.Errorf("Pending after the load = %v, %v; want nil", again, err)
	}
	resolve(t, c, root, "net/url", "text/template")
	if c.Loads() != 1 {
		t.Errorf("loads = %d after the load, want 1", c.Loads())
	}
	if only, err := c.Pending(ctx, root, []string{"unsafe"}); only != nil || err != nil {
		t.Errorf("unsafe needs no load: %v, %v", only, err)
	}
}
