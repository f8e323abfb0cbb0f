package goimporter

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// Type information from source.
//
// With an empty build cache, `go list -export` compiles the standard library (and the
// modules a task imports) before it answers: tens of seconds, minutes on a loaded
// machine. A request whose export data has not landed after Options.SourceAfter (at
// once when the build cache was empty when the toolchain was probed) type-checks
// the packages it needs from source instead, as gopls does: `go list -deps` (which
// compiles nothing) names every package's files, and the packages are parsed and
// checked in dependency order, in parallel, without function bodies. The export data
// load goes on in the background: later requests use it as soon as it lands (a source
// check still under way is then cancelled).
//
// Packages from source form a universe of their own, per module context (their own
// file set and package map): a request is answered wholly from export data or wholly
// from source, never a mix, and Imports.Key differs between the two, so results
// memoized under one key never serve the other. Source packages are never mutated once
// checked, so Imports.Hold takes no lock for them.
//
// Third-party packages (modules of the project's go.mod) are checked from source like
// the standard library. A package outside the standard library that does not
// type-check cleanly from source (or depends on one that does not) is not served from
// source: a request needing it waits for the export data, whose verdict (compiled or
// not) is the build's. Type errors in standard packages (cgo files checked without cgo,
// say) are ignored: their exported API is what tasks see.

// srcState holds the packages of one module context type-checked from source.
type srcState struct {
	mu         sync.Mutex // guards the fields below; never held while waiting
	fset       *token.FileSet
	pkgs       map[string]*types.Package
	broken     map[string]bool // outside std, checked with errors or importing such a package
	unresolved map[string]Unresolved
	flights    map[string]*flight
}

func newSrcState() *srcState {
	return &srcState{
		fset:       token.NewFileSet(),
		pkgs:       map[string]*types.Package{},
		broken:     map[string]bool{},
		unresolved: map[string]Unresolved{},
		flights:    map[string]*flight{},
	}
}

// drop forgets the packages checked from source, unless a source check is under way.
// Resolutions handed out keep theirs.
func (s *srcState) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.flights) > 0 || len(s.pkgs)+len(s.unresolved) == 0 {
		return
	}
	s.fset = token.NewFileSet()
	s.pkgs = map[string]*types.Package{}
	s.broken = map[string]bool{}
	s.unresolved = map[string]Unresolved{}
}

// collect returns the source resolution of paths, and whether it is complete: every
// path checked (cleanly, unless anyBroken) or unresolved.
func (s *srcState) collect(mc *modContext, paths []string, anyBroken bool) (*Imports, bool) {
	res := &Imports{mc: mc, source: true, pkgs: make(map[string]*types.Package, len(paths)), unresolved: map[string]Unresolved{}, module: mc.module}
	ok := true
	s.mu.Lock()
	res.fset = s.fset
	for _, p := range paths {
		if p == "unsafe" {
			res.pkgs[p] = types.Unsafe
		} else if u, fixed := mc.fixedUnresolved(p); fixed {
			res.unresolved[p] = u
		} else if u, bad := s.unresolved[p]; bad {
			res.unresolved[p] = u
		} else if pkg := s.pkgs[p]; pkg != nil && (anyBroken || !s.broken[p]) {
			res.pkgs[p] = pkg
		} else {
			ok = false
		}
	}
	s.mu.Unlock()
	res.key = mc.id + "\x00source\x00" + strings.Join(sortedKeys(res.unresolved), "\x00")
	return res, ok
}

// resolveSource resolves paths from source only (Options.SourceOnly).
func (c *Cache) resolveSource(ctx context.Context, mc *modContext, paths []string) (*Imports, error) {
	if res, ok := mc.src.collect(mc, paths, true); ok {
		return res, nil
	}
	for _, f := range c.startSource(mc, paths, nil) {
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err != nil {
			return nil, f.err
		}
	}
	res, ok := mc.src.collect(mc, paths, true)
	if !ok {
		return nil, fmt.Errorf("type-check %s from source: cancelled", strings.Join(paths, " "))
	}
	return res, nil
}

// raceSource answers a request whose export data is loading (landed closes when it
// has): it returns the packages from source when they are checked before the export
// data lands, starting their check if the export data has not landed within
// Options.SourceAfter. It returns nil when the request should wait for the export
// data: it landed first, or some package cannot be served from source.
func (c *Cache) raceSource(ctx context.Context, mc *modContext, paths []string, landed <-chan struct{}) (*Imports, error) {
	if res, ok := mc.src.collect(mc, paths, false); ok {
		return res, nil
	}
	if c.opts.SourceAfter < 0 {
		return nil, nil
	}
	wait := c.opts.SourceAfter
	if c.coldCache.Load() {
		wait = 0
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-landed:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
	}
	checked := allDone(c.startSource(mc, paths, landed))
	select {
	case <-landed:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-checked:
	}
	if res, ok := mc.src.collect(mc, paths, false); ok {
		return res, nil
	}
	return nil, nil
}

// sourceFirst starts checking paths from source when the build cache was empty, and
// returns a channel closed when that check ends: the export data load waits for it,
// so that the source check has the machine to itself (both compete for the same
// cores, and the source check takes a second where compiling takes tens). It returns
// nil when the export data load should start at once.
func (c *Cache) sourceFirst(mc *modContext, paths []string) <-chan struct{} {
	if !c.coldCache.Load() || c.opts.SourceAfter < 0 {
		return nil
	}
	return allDone(c.startSource(mc, paths, nil))
}

// startSource returns the flights that check paths from source: those under way, and
// a new one for the rest. Like an export data load, a check outlives the request that
// started it; it is cancelled when landed (if not nil) closes, since the export data
// then serves.
func (c *Cache) startSource(mc *modContext, paths []string, landed <-chan struct{}) []*flight {
	s := mc.src
	s.mu.Lock()
	defer s.mu.Unlock()
	var needed []string
	for _, p := range paths {
		if _, fixed := mc.fixedUnresolved(p); fixed || p == "unsafe" || s.pkgs[p] != nil {
			continue
		}
		if _, bad := s.unresolved[p]; bad {
			continue
		}
		needed = append(needed, p)
	}
	flights, f, rest := joinFlights(s.flights, needed)
	if f == nil {
		return flights
	}
	lctx, cancel := c.loadContext()
	if landed != nil {
		go func() {
			select {
			case <-landed:
				cancel()
			case <-lctx.Done():
			}
		}()
	}
	c.running.Add(1)
	go func() {
		defer c.running.Done()
		defer cancel()
		f.err = c.loadSource(lctx, mc, rest)
		s.mu.Lock()
		for _, p := range rest {
			if s.flights[p] == f {
				delete(s.flights, p)
			}
		}
		s.mu.Unlock()
		close(f.done)
	}()
	return append(flights, f)
}

// loadSource lists paths and their dependencies and type-checks the packages not
// checked yet. Nothing is recorded for a path when ctx ends.
func (c *Cache) loadSource(ctx context.Context, mc *modContext, paths []string) error {
	listed, err := c.list(ctx, mc, paths, false)
	if err != nil {
		return err
	}
	if err := c.checkSource(ctx, mc, listed.pkgs); err != nil {
		return err
	}
	s := mc.src
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, u := range listed.failed {
		s.unresolved[p] = u
	}
	return nil
}

// srcNode is one package of a source check.
type srcNode struct {
	lp     *listedPackage
	done   chan struct{}
	pkg    *types.Package
	broken bool
}

// checkSource type-checks the listed packages (in `go list -deps` order: every
// package after its dependencies) that are not checked yet, each as soon as its
// dependencies are, on at most GOMAXPROCS goroutines at a time.
func (c *Cache) checkSource(ctx context.Context, mc *modContext, listed []listedPackage) error {
	s := mc.src
	c.mu.Lock()
	sizes := types.SizesFor("gc", c.goarch)
	c.mu.Unlock()
	if sizes == nil {
		sizes = types.SizesFor("gc", runtime.GOARCH)
	}
	nodes := map[string]*srcNode{}
	var order []*srcNode
	s.mu.Lock()
	fset := s.fset // not replaced while this check runs (drop waits for it)
	for i := range listed {
		lp := &listed[i]
		if s.pkgs[lp.ImportPath] != nil || nodes[lp.ImportPath] != nil || lp.ImportPath == "unsafe" || lp.Name == "main" {
			continue
		}
		n := &srcNode{lp: lp, done: make(chan struct{})}
		nodes[lp.ImportPath] = n
		order = append(order, n)
	}
	s.mu.Unlock()

	index := make(map[*srcNode]int, len(order))
	for i, n := range order {
		index[n] = i
	}
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, n := range order {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(n.done)
			// Only earlier packages are waited for: an import cycle (an error of go
			// list) cannot deadlock the check.
			for _, dep := range n.lp.Imports {
				if d := nodes[dep]; d != nil && index[d] < i {
					select {
					case <-d.done:
					case <-ctx.Done():
						return
					}
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			n.pkg, n.broken = c.checkPackage(s, fset, n.lp, nodes, sizes)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("type-check from source: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range order {
		if n.pkg != nil {
			s.pkgs[n.lp.ImportPath] = n.pkg
			if n.broken {
				s.broken[n.lp.ImportPath] = true
			}
		}
	}
	return nil
}

// checkPackage parses and type-checks one package without function bodies. broken
// reports type errors outside the standard library, or an import that is broken or
// missing.
func (c *Cache) checkPackage(s *srcState, fset *token.FileSet, lp *listedPackage, nodes map[string]*srcNode, sizes types.Sizes) (pkg *types.Package, broken bool) {
	c.checked.Add(1)
	var files []string
	files = append(files, lp.GoFiles...)
	files = append(files, lp.CgoFiles...)
	errs := 0
	if lp.Error != nil || len(files) == 0 {
		errs++
	}
	asts := make([]*ast.File, 0, len(files))
	for _, name := range files {
		f, err := parser.ParseFile(fset, filepath.Join(lp.Dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			errs++
		}
		if f != nil {
			asts = append(asts, f)
		}
	}
	importer := importerFunc(func(path string) (*types.Package, error) {
		if mapped := lp.ImportMap[path]; mapped != "" {
			path = mapped
		}
		if path == "unsafe" {
			return types.Unsafe, nil
		}
		if n := nodes[path]; n != nil {
			// Done: checkSource waited for every earlier dependency.
			select {
			case <-n.done:
				if n.pkg != nil {
					if n.broken {
						broken = true
					}
					return n.pkg, nil
				}
			default:
			}
			broken = true
			return nil, fmt.Errorf("package %s is not checked", path)
		}
		s.mu.Lock()
		p, bad := s.pkgs[path], s.broken[path]
		s.mu.Unlock()
		if p == nil {
			broken = true
			return nil, fmt.Errorf("package %s is not listed", path)
		}
		if bad {
			broken = true
		}
		return p, nil
	})
	conf := types.Config{
		Importer:         importer,
		FakeImportC:      true,
		IgnoreFuncBodies: true,
		Sizes:            sizes,
		Error:            func(error) { errs++ },
	}
	pkg, _ = conf.Check(lp.ImportPath, fset, asts, nil)
	if errs > 0 {
		if lp.Standard {
			c.stdErrors.Add(int64(errs))
		} else {
			broken = true
		}
	}
	if pkg != nil {
		pkg.MarkComplete()
	}
	return pkg, broken
}

// importerFunc is a types.Importer.
type importerFunc func(path string) (*types.Package, error)

// Import imports path.
func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }
