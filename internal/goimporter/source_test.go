package goimporter

import (
	"context"
	"go/types"
	"path/filepath"
	"testing"
	"time"
)

// exportedAPI renders the exported declarations of pkg, one line each.
func exportedAPI(pkg *types.Package) []string {
	var out []string
	q := func(p *types.Package) string { return p.Path() }
	for _, name := range pkg.Scope().Names() {
		obj := pkg.Scope().Lookup(name)
		if !obj.Exported() {
			continue
		}
		out = append(out, types.ObjectString(obj, q))
		if tn, ok := obj.(*types.TypeName); ok {
			if named, ok := tn.Type().(*types.Named); ok {
				for i := 0; i < named.NumMethods(); i++ {
					if m := named.Method(i); m.Exported() {
						out = append(out, types.ObjectString(m, q))
					}
				}
			}
		}
	}
	return out
}

// TestSourceMatchesExport: packages type-checked from source have the exported API of
// their export data, the standard library checks without type errors, and a source
// resolution has a key of its own.
func TestSourceMatchesExport(t *testing.T) {
	root := t.TempDir()
	paths := []string{"strings", "fmt", "net/http", "encoding/json", "os/user", "unsafe", "nosuchpkg/x", "./rel"}
	exp := resolve(t, New(Options{SourceAfter: -1}), root, paths...)
	c := New(Options{SourceOnly: true})
	start := time.Now()
	src := resolve(t, c, root, paths...)
	t.Logf("from source: %d packages in %v", c.checked.Load(), time.Since(start).Round(time.Millisecond))
	if !src.FromSource() || exp.FromSource() {
		t.Errorf("FromSource: source %v, export %v", src.FromSource(), exp.FromSource())
	}
	if n := c.stdErrors.Load(); n != 0 {
		t.Errorf("%d type errors in the standard library from source", n)
	}
	if c.Loads() != 0 || c.SourceLoads() != 1 {
		t.Errorf("loads %d, source loads %d; want 0, 1", c.Loads(), c.SourceLoads())
	}
	for _, p := range paths {
		e, s := exp.Package(p), src.Package(p)
		if (e == nil) != (s == nil) {
			t.Errorf("%s: export %v, source %v", p, e, s)
			continue
		}
		eu, _ := exp.Lookup(p)
		su, _ := src.Lookup(p)
		if eu != su {
			t.Errorf("%s unresolved: export %+v, source %+v", p, eu, su)
		}
		if e == nil {
			continue
		}
		ea, sa := exportedAPI(e), exportedAPI(s)
		if len(ea) != len(sa) {
			t.Errorf("%s: %d exported declarations from export data, %d from source", p, len(ea), len(sa))
		}
		for i := range min(len(ea), len(sa)) {
			if ea[i] != sa[i] {
				t.Errorf("%s: export data %q, source %q", p, ea[i], sa[i])
				break
			}
		}
	}
	if exp.Key() == src.Key() {
		t.Errorf("same key %q from export data and source", exp.Key())
	}
	if again := resolve(t, c, root, "fmt", "io"); c.SourceLoads() != 1 || again.Package("io") == nil {
		t.Errorf("a dependency already checked was listed again: source loads %d", c.SourceLoads())
	}
}

// TestSourceThirdParty: a package of the project's module checks from source; a
// missing module is unresolved with the go command's reason, as from export data.
func TestSourceThirdParty(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "go.mod"), "module example.com/proj\n\ngo 1.24\n")
	writeFile(t, filepath.Join(root, "lib", "lib.go"), "package lib\n\nimport \"strings\"\n\n// Up upper-cases.\nfunc Up(s string) string { return strings.ToUpper(s) }\n")
	writeFile(t, filepath.Join(root, "bad", "bad.go"), "package bad\n\n// X is wrong.\nvar X int = \"no\"\n")
	paths := []string{"example.com/proj/lib", "github.com/example/notthere", "example.com/proj/bad"}
	exp := resolve(t, New(Options{SourceAfter: -1}), root, paths...)
	c := New(Options{SourceOnly: true})
	src := resolve(t, c, root, paths...)
	if src.Package("example.com/proj/lib") == nil || src.Package("example.com/proj/lib").Scope().Lookup("Up") == nil {
		t.Errorf("lib from source: %v", src.Unresolved())
	}
	eu, _ := exp.Lookup("github.com/example/notthere")
	su, _ := src.Lookup("github.com/example/notthere")
	if eu != su || eu.Reason == "" {
		t.Errorf("unresolved: export %+v, source %+v", eu, su)
	}
	// A package with type errors is not served from source outside SourceOnly.
	mc, err := c.context(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mc.src.collect(mc, []string{"example.com/proj/bad"}, false); ok {
		t.Error("a package with type errors is served from source")
	}
	if _, ok := mc.src.collect(mc, []string{"example.com/proj/lib"}, false); !ok {
		t.Error("a clean package is not served from source")
	}
}

// TestColdCacheAnswersFromSource: with an empty build cache, a request gets its
// packages from source long before `go list -export` has compiled them; the export
// data keeps loading and serves the requests after it lands, and the packages from
// source are then dropped.
func TestColdCacheAnswersFromSource(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the standard library")
	}
	cache := t.TempDir()
	c := New(Options{Env: []string{"GOCACHE=" + cache}})
	root := t.TempDir()
	ctx := context.Background()
	start := time.Now()
	im, err := c.Resolve(ctx, root, []string{"strings", "fmt"})
	if err != nil {
		t.Fatal(err)
	}
	fromSource := time.Since(start)
	if !im.FromSource() || im.Package("fmt") == nil {
		t.Fatalf("cold request: from source %v, fmt %v", im.FromSource(), im.Package("fmt"))
	}
	done, err := c.Pending(ctx, root, []string{"strings", "fmt"})
	if err != nil {
		t.Fatal(err)
	}
	if done != nil {
		t.Error("Pending waits although the packages are checked from source")
	}
	if !c.Ready(root, []string{"fmt"}) {
		t.Error("not Ready although the packages are checked from source")
	}
	// The export data lands: the next request uses it.
	var exp *Imports
	for exp == nil || exp.FromSource() {
		if time.Since(start) > 5*time.Minute {
			t.Fatal("export data never landed")
		}
		time.Sleep(200 * time.Millisecond)
		if exp, err = c.Resolve(ctx, root, []string{"strings", "fmt"}); err != nil {
			t.Fatal(err)
		}
	}
	landed := time.Since(start)
	t.Logf("cold cache: from source after %v, export data after %v", fromSource.Round(time.Millisecond), landed.Round(time.Millisecond))
	if fromSource > landed/2 {
		t.Errorf("from source after %v, not much before the export data (%v)", fromSource, landed)
	}
	if exp.Key() == im.Key() {
		t.Error("export data and source share a key")
	}
	// The packages from source are forgotten (the resolution handed out keeps its own).
	mc, err := c.context(root)
	if err != nil {
		t.Fatal(err)
	}
	mc.src.mu.Lock()
	left := len(mc.src.pkgs)
	mc.src.mu.Unlock()
	if left != 0 || im.Package("fmt") == nil {
		t.Errorf("%d packages from source kept after the export data landed", left)
	}
	if c.Loads() != 1 {
		t.Errorf("loads = %d, want 1", c.Loads())
	}
}

// TestCloseEndsLoads: Close interrupts a go list -export still compiling after its
// request was answered from source; nothing keeps running.
func TestCloseEndsLoads(t *testing.T) {
	c := New(Options{Env: []string{"GOCACHE=" + t.TempDir()}})
	root := t.TempDir()
	im, err := c.Resolve(context.Background(), root, []string{"strings"})
	if err != nil {
		t.Fatal(err)
	}
	if !im.FromSource() {
		t.Skip("the export data landed first")
	}
	mc, err := c.context(root)
	if err != nil {
		t.Fatal(err)
	}
	mc.stateMu.Lock()
	f := mc.flights["strings"]
	mc.stateMu.Unlock()
	if f == nil {
		t.Skip("the export data landed already")
	}
	start := time.Now()
	c.Close()
	select {
	case <-f.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the load goes on after Close")
	}
	if f.err == nil {
		t.Error("a load ended by Close reports no error")
	}
	t.Logf("ended %v after Close: %v", time.Since(start).Round(time.Millisecond), f.err)
}
