// Package goimporter caches the type information of the packages that task files
// import, so a task can be type-checked on every keystroke without running the go
// command.
//
// Type information comes from the export data the Go toolchain writes: the first time
// an import path is needed, `go list -e -export -deps -json` runs once for all the
// missing paths of the request, and every listed package's export file is remembered.
// The direct imports are then decoded with golang.org/x/tools/go/gcexportdata into one
// map[string]*types.Package and one *token.FileSet shared by every check of the same
// module context. A later request whose paths are all known never runs the go command;
// one that adds paths whose export files were already listed (as dependencies) only
// decodes them.
//
// With a cold build cache `go list -export` compiles first, for tens of seconds: a
// request that would wait for it longer than Options.SourceAfter gets its packages
// type-checked from source meanwhile (source.go), and later requests switch to the
// export data when it lands.
//
// A module context is one of:
//   - "no module": a project root without go.mod. Standard-library paths are listed in
//     the system temporary folder (outside any module); third-party paths are recorded
//     as unresolved without running anything.
//   - one project root with a go.mod: paths are listed with dir = the root, with
//     GOFLAGS=-mod=readonly (or -mod=vendor when vendor/modules.txt exists), so the
//     project's go.mod and go.sum are never written.
//
// Every go command runs with GOPROXY=off (nothing is downloaded: a module missing from
// the local module cache is reported as unresolved), GOTOOLCHAIN=local (no toolchain
// download) and GOWORK=off (the project root alone decides).
//
// A context is replaced when its root's go.mod, go.sum or vendor/modules.txt changes
// (checked with a stat on every request, and a hash when the stat changes), and every
// context is dropped when the Go toolchain changes (the go binary's stat, then
// `go env GOVERSION GOROOT`).
//
// Concurrency: requests for import sets that are already known take a mutex for a few
// map look-ups only. A missing path is loaded once (a request whose paths are partly
// being loaded for another request waits for that load and starts one for the rest
// only), outside any lock held by known sets; a load runs to completion even when the
// request that started it is cancelled, so its result serves the next keystroke.
// Pending starts the loads a request would need without waiting for them: a language
// server uses it to publish what needs no Go types at once. Decoding export data mutates the
// shared package map (and packages that were only known as dependencies), so it takes
// the context's write lock, and type-checking with the packages must hold the read lock
// (Imports.Hold): a check waits at most for one decode (milliseconds), never for a go
// command.
package goimporter

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/tools/go/gcexportdata"

	"github.com/pelato-dev/pelato/internal/gotoolchain"
	"github.com/pelato-dev/pelato/internal/userfile"
)

// Options configure a Cache.
type Options struct {
	// GoCmd is the go command to run; "" means "go" found on PATH.
	GoCmd string
	// Env holds extra KEY=VALUE settings for the go command, applied after the
	// process environment (GOPROXY, GOTOOLCHAIN, GOWORK and -mod are always forced).
	Env []string
	// LoadTimeout bounds one `go list` run; 0 means two minutes.
	LoadTimeout time.Duration
	// SourceAfter is how long a request waits for export data before it type-checks
	// the packages it needs from source instead (see source.go): 0 means
	// DefaultSourceAfter, a negative value never.
	SourceAfter time.Duration
	// SourceOnly type-checks every imported package from source and never runs
	// `go list -export` (slower than export data once the build cache is warm; tests
	// compare the two with it).
	SourceOnly bool
}

// DefaultSourceAfter is how long a request waits for `go list -export` before it
// type-checks the packages it needs from source: longer than `go list -export` takes
// with a warm build cache, much shorter than compiling the standard library.
const DefaultSourceAfter = 500 * time.Millisecond

// Cache holds the type information of imported packages, per module context. It is
// safe for concurrent use. The zero value is not usable: call New.
type Cache struct {
	opts        Options
	life        context.Context // ends with Close: background loads run under it
	stop        context.CancelFunc
	running     sync.WaitGroup // background loads (export data and source)
	loads       atomic.Int64
	decodes     atomic.Int64
	gen         atomic.Int64
	sourceLoads atomic.Int64
	checked     atomic.Int64 // packages type-checked from source
	stdErrors   atomic.Int64 // type errors in standard packages checked from source
	coldCache   atomic.Bool  // the build cache was empty, and no export data landed since

	toolMu sync.Mutex // serialises toolchain probes (rare)

	mu     sync.Mutex // guards the fields below; held for map look-ups only
	goPath string     // the resolved go binary
	tool   toolStamp
	toolID string // GOVERSION, GOROOT and GOARCH of the current toolchain
	goarch string
	roots  map[string]*rootState
	ctxs   map[string]*modContext
}

// New returns an empty Cache.
func New(opts Options) *Cache {
	if opts.GoCmd == "" {
		opts.GoCmd = "go"
	}
	if opts.LoadTimeout <= 0 {
		opts.LoadTimeout = 2 * time.Minute
	}
	if opts.SourceAfter == 0 {
		opts.SourceAfter = DefaultSourceAfter
	}
	life, stop := context.WithCancel(context.Background())
	return &Cache{opts: opts, life: life, stop: stop, roots: map[string]*rootState{}, ctxs: map[string]*modContext{}}
}

// Close ends the loads under way (a background `go list -export` may still be compiling
// after the requests it served were answered from source) and waits for them: the go
// command is interrupted, and killed if it has not exited 5 s later. Requests waiting
// for the loads fail. The cache must not be used afterwards.
func (c *Cache) Close() {
	c.stop()
	c.running.Wait()
}

// loadContext is the context of a background load: it outlives the request that
// started it (its result serves the next one), not the cache, nor LoadTimeout.
func (c *Cache) loadContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.life, c.opts.LoadTimeout)
}

// Loads returns how many times the cache ran `go list` (tests count loads with it).
func (c *Cache) Loads() int64 { return c.loads.Load() }

// Decodes returns how many packages' export data the cache decoded.
func (c *Cache) Decodes() int64 { return c.decodes.Load() }

// SourceLoads returns how many times the cache listed packages to type-check them from
// source.
func (c *Cache) SourceLoads() int64 { return c.sourceLoads.Load() }

// Module describes the go.mod at a project root.
type Module struct {
	// HasGoMod reports whether the root holds a go.mod.
	HasGoMod bool
	// Path is the module path declared by go.mod ("" without one).
	Path string
	// GoVersion is the go directive of go.mod, such as "1.24" ("" without one).
	GoVersion string
}

// Unresolved is an import path the cache could not load.
type Unresolved struct {
	// Path is the import path.
	Path string
	// Reason says why, in one line, without the project root's absolute path.
	Reason string
	// ThirdParty reports whether the path looks like a module path (its first element
	// has a dot): such a package may still be resolved at build time.
	ThirdParty bool
	// NoModule reports that the project root has no go.mod, so third-party paths were
	// not looked up at all.
	NoModule bool
	// Transient reports a failure that may go away on the next request (export data
	// evicted from the build cache, say): it is not remembered.
	Transient bool
}

// Imports is the resolution of one import set in one module context.
type Imports struct {
	mc         *modContext
	fset       *token.FileSet
	lock       *sync.RWMutex // nil: the packages are never mutated (from source)
	source     bool
	pkgs       map[string]*types.Package
	unresolved map[string]Unresolved
	key        string
	module     Module
}

// Fset returns the shared file set of the resolution's packages (the context's for
// export data, the source universe's for packages checked from source): imported
// packages' positions live in it, and a check should add its files to it (and remove
// them afterwards).
func (im *Imports) Fset() *token.FileSet { return im.fset }

// FromSource reports whether the packages were type-checked from source (the export
// data was not ready yet) rather than read from export data.
func (im *Imports) FromSource() bool { return im.source }

// Package returns the loaded package of an import path of the request, or nil.
func (im *Imports) Package(path string) *types.Package { return im.pkgs[path] }

// Unresolved returns the paths of the request that could not be loaded, sorted.
func (im *Imports) Unresolved() []Unresolved {
	out := make([]Unresolved, 0, len(im.unresolved))
	for _, u := range im.unresolved {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Lookup returns why path is unresolved, if it is.
func (im *Imports) Lookup(path string) (Unresolved, bool) {
	u, ok := im.unresolved[path]
	return u, ok
}

// Module returns what the project root's go.mod declares.
func (im *Imports) Module() Module { return im.module }

// Key identifies the outcome of this resolution: two resolutions with the same key give
// the same packages, so results computed from them can be memoized under it.
func (im *Imports) Key() string { return im.key }

// Hold takes the context's read lock, under which the packages may be used (type
// checking reads them while a concurrent decode may extend them); call the returned
// function to release it.
func (im *Imports) Hold() (release func()) {
	if im.lock == nil {
		return func() {}
	}
	im.lock.RLock()
	return im.lock.RUnlock
}

// modContext is the shared package map of one module context.
type modContext struct {
	id     string // unique per context instance
	dir    string // where go list runs
	hasMod bool
	vendor bool
	module Module
	fset   *token.FileSet

	mu   sync.RWMutex // write-held while decoding into pkgs; read-held by checks
	pkgs map[string]*types.Package

	stateMu    sync.Mutex // guards the maps below; never held while waiting
	known      map[string]*types.Package
	unresolved map[string]Unresolved
	exports    map[string]string  // import path → export data file, from go list -deps
	flights    map[string]*flight // import path → the load under way for it
	retry      map[string]bool    // paths whose last load failed transiently

	src *srcState // packages type-checked from source, while export data is not ready
}

type flight struct {
	done      chan struct{}
	err       error
	transient map[string]string // path → why its export data could not be read
}

// joinFlights returns the flights of inflight (path → flight) already under way
// for paths, each once, and, when some paths have none, a new flight registered in
// inflight for those paths (rest); f is nil when every path is under way.
func joinFlights(inflight map[string]*flight, paths []string) (flights []*flight, f *flight, rest []string) {
	for _, p := range paths {
		if g := inflight[p]; g != nil {
			if !slices.Contains(flights, g) {
				flights = append(flights, g)
			}
		} else {
			rest = append(rest, p)
		}
	}
	if len(rest) == 0 {
		return flights, nil, nil
	}
	f = &flight{done: make(chan struct{})}
	for _, p := range rest {
		inflight[p] = f
	}
	return flights, f, rest
}

type fileStamp struct {
	exists bool
	size   int64
	mtime  time.Time
}

func stampOf(path string) fileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{exists: true, size: st.Size(), mtime: st.ModTime()}
}

type rootState struct {
	mod, sum, vendor fileStamp
	ctxKey           string
	module           Module
}

type toolStamp struct {
	fileStamp
	path string
}

// Resolve returns the packages of imports (import paths; order and duplicates do not
// matter) for the project at root, loading what is not cached yet. "C" is not a
// package: callers handle cgo themselves. The error is non-nil only when ctx ends or
// the go command cannot run at all; a package that cannot be loaded is Unresolved.
func (c *Cache) Resolve(ctx context.Context, root string, imports []string) (*Imports, error) {
	if err := c.checkToolchain(ctx); err != nil {
		return nil, err
	}
	mc, err := c.context(root)
	if err != nil {
		return nil, err
	}
	return c.resolveIn(ctx, mc, imports)
}

// Batch is a view of a Cache for one check of many tasks: the go command and each
// project root's go.mod, go.sum and vendor/modules.txt are looked at once for the
// batch (four stat calls a task otherwise, which dominate a re-check of a large
// workflow whose type information is all cached). A Batch is meant to be short-lived
// (one check) and is safe for concurrent use.
type Batch struct {
	c      *Cache
	mu     sync.Mutex
	toolOK bool
	ctxs   map[string]*modContext
}

// Batch returns a new batch view of c.
func (c *Cache) Batch() *Batch { return &Batch{c: c, ctxs: map[string]*modContext{}} }

// Resolve is Cache.Resolve, with the toolchain and root checked once per batch.
func (b *Batch) Resolve(ctx context.Context, root string, imports []string) (*Imports, error) {
	b.mu.Lock()
	ok, mc := b.toolOK, b.ctxs[root]
	b.mu.Unlock()
	if !ok {
		if err := b.c.checkToolchain(ctx); err != nil {
			return nil, err
		}
		b.mu.Lock()
		b.toolOK = true
		b.mu.Unlock()
	}
	if mc == nil {
		var err error
		if mc, err = b.c.context(root); err != nil {
			return nil, err
		}
		b.mu.Lock()
		b.ctxs[root] = mc
		b.mu.Unlock()
	}
	return b.c.resolveIn(ctx, mc, imports)
}

// resolveIn is Resolve in a module context already checked.
func (c *Cache) resolveIn(ctx context.Context, mc *modContext, imports []string) (*Imports, error) {
	paths := dedupe(imports)
	if c.opts.SourceOnly {
		return c.resolveSource(ctx, mc, paths)
	}
	res, missing := mc.collect(paths)
	if len(missing) > 0 {
		flights := c.startLoad(mc, missing, c.sourceFirst(mc, paths))
		// While the export data is not ready, the packages may come from source.
		if src, err := c.raceSource(ctx, mc, paths, allDone(flights)); err != nil || src != nil {
			return src, err
		}
		transient := map[string]string{}
		for _, f := range flights {
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if f.err != nil {
				return nil, f.err
			}
			for p, why := range f.transient {
				transient[p] = why
			}
		}
		// Paths that failed transiently are not remembered: report them for this
		// request only.
		res, missing = mc.collect(paths)
		for _, p := range missing {
			reason := transient[p]
			if reason == "" {
				reason = "its export data could not be loaded"
			}
			res.unresolved[p] = Unresolved{Path: p, Reason: reason, ThirdParty: isThirdParty(p), Transient: true}
		}
	}
	res.key = mc.id + "\x00" + strings.Join(sortedKeys(res.unresolved), "\x00")
	if len(missing) > 0 {
		res.key += "\x00transient"
	}
	return res, nil
}

// Ready reports whether Resolve would answer for imports at root without running the
// go command (the toolchain and go.mod are as last seen).
func (c *Cache) Ready(root string, imports []string) bool {
	mc, err := c.context(root)
	if err != nil {
		return false
	}
	paths := dedupe(imports)
	if _, ok := mc.src.collect(mc, paths, c.opts.SourceOnly); ok || c.opts.SourceOnly {
		return ok
	}
	_, missing := mc.collect(paths)
	if len(missing) == 0 {
		return true
	}
	mc.stateMu.Lock()
	defer mc.stateMu.Unlock()
	for _, p := range missing {
		if !mc.retry[p] {
			return false
		}
	}
	return true
}

// Module returns what the go.mod at root declares (cached like Resolve).
func (c *Cache) Module(root string) Module {
	mc, err := c.context(root)
	if err != nil {
		return Module{}
	}
	return mc.module
}

func dedupe(imports []string) []string {
	out := make([]string, 0, len(imports))
	for _, p := range imports {
		if p != "" && p != "C" {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	j := 0
	for i, p := range out {
		if i == 0 || p != out[j-1] {
			out[j] = p
			j++
		}
	}
	return out[:j]
}

func sortedKeys(m map[string]Unresolved) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// collect returns what is known about paths, and the paths still missing.
func (mc *modContext) collect(paths []string) (*Imports, []string) {
	res := &Imports{mc: mc, fset: mc.fset, lock: &mc.mu, pkgs: make(map[string]*types.Package, len(paths)), unresolved: map[string]Unresolved{}, module: mc.module}
	var missing []string
	mc.stateMu.Lock()
	for _, p := range paths {
		if p == "unsafe" {
			res.pkgs[p] = types.Unsafe
		} else if pkg, ok := mc.known[p]; ok {
			res.pkgs[p] = pkg
		} else if u, ok := mc.unresolved[p]; ok {
			res.unresolved[p] = u
		} else {
			missing = append(missing, p)
		}
	}
	mc.stateMu.Unlock()
	return res, missing
}

// startLoad returns the flights that load missing: the loads already under way for
// some of its paths (started by other requests), and one new load for the rest.
//
// A new load starts when after (if not nil) closes.
func (c *Cache) startLoad(mc *modContext, missing []string, after <-chan struct{}) []*flight {
	mc.stateMu.Lock()
	defer mc.stateMu.Unlock()
	flights, f, rest := joinFlights(mc.flights, missing)
	if f == nil {
		return flights
	}
	// The load outlives a cancelled request: its result serves the next one.
	lctx, cancel := c.loadContext()
	c.running.Add(1)
	go func() {
		defer c.running.Done()
		defer cancel()
		if after != nil {
			select {
			case <-after:
			case <-lctx.Done():
			}
		}
		f.transient, f.err = c.load(lctx, mc, rest)
		if f.err == nil {
			c.coldCache.Store(false)
		}
		mc.stateMu.Lock()
		for _, p := range rest {
			if mc.flights[p] == f {
				delete(mc.flights, p)
			}
			if _, failed := f.transient[p]; failed {
				mc.retry[p] = true
			}
		}
		idle := len(mc.flights) == 0
		mc.stateMu.Unlock()
		if f.err == nil && idle {
			// Every load of the context has landed: the packages checked from source
			// (tens of MB for net/http) serve no request any more.
			mc.src.drop()
		}
		close(f.done)
	}()
	return append(flights, f)
}

// Pending reports whether resolving imports for the project at root would have to
// wait for the go command. When it would, Pending starts loading the missing paths in
// the background (as Resolve would, once per path however often it is asked) and
// returns a channel closed when those loads end; then Resolve answers at once. It
// returns nil when Resolve can answer without waiting. Paths whose last load failed
// transiently are not waited for again: Resolve retries them itself. The error is
// non-nil only when the go command cannot be found or run at all.
func (c *Cache) Pending(ctx context.Context, root string, imports []string) (<-chan struct{}, error) {
	if err := c.checkToolchain(ctx); err != nil {
		return nil, err
	}
	mc, err := c.context(root)
	if err != nil {
		return nil, err
	}
	paths := dedupe(imports)
	if c.opts.SourceOnly {
		if _, ok := mc.src.collect(mc, paths, true); ok {
			return nil, nil
		}
		return allDone(c.startSource(mc, paths, nil)), nil
	}
	_, missing := mc.collect(paths)
	mc.stateMu.Lock()
	missing = slices.DeleteFunc(missing, func(p string) bool { return mc.retry[p] })
	mc.stateMu.Unlock()
	if len(missing) == 0 {
		return nil, nil
	}
	if _, ok := mc.src.collect(mc, paths, false); ok {
		// Checked from source already; the export data is still loading.
		c.startLoad(mc, missing, nil)
		return nil, nil
	}
	landed := allDone(c.startLoad(mc, missing, c.sourceFirst(mc, paths)))
	if c.opts.SourceAfter < 0 {
		return landed, nil
	}
	// Done when the export data lands or the packages are checked from source,
	// whichever comes first; the race outlives ctx like the loads it waits for.
	done := make(chan struct{})
	rctx := context.WithoutCancel(ctx)
	go func() {
		defer close(done)
		if src, _ := c.raceSource(rctx, mc, paths, landed); src == nil {
			<-landed
		}
	}()
	return done, nil
}

// allDone returns a channel closed when every flight has ended.
func allDone(flights []*flight) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, f := range flights {
			<-f.done
		}
	}()
	return done
}

// load resolves missing (sorted, none known) into mc. It returns the paths whose export
// data could not be read, with the reason; they are not remembered.
func (c *Cache) load(ctx context.Context, mc *modContext, missing []string) (map[string]string, error) {
	var toList, toDecode []string
	fixed := map[string]Unresolved{}
	mc.stateMu.Lock()
	for _, p := range missing {
		if u, ok := mc.fixedUnresolved(p); ok {
			fixed[p] = u
			continue
		}
		switch {
		case mc.exports[p] != "":
			toDecode = append(toDecode, p)
		default:
			toList = append(toList, p)
		}
	}
	mc.stateMu.Unlock()

	if len(toList) > 0 {
		listed, err := c.list(ctx, mc, toList, true)
		if err != nil {
			return nil, err
		}
		mc.stateMu.Lock()
		for _, lp := range listed.pkgs {
			if lp.Export != "" {
				mc.exports[lp.ImportPath] = lp.Export
			}
		}
		mc.stateMu.Unlock()
		for _, p := range toList {
			if u, bad := listed.failed[p]; bad {
				fixed[p] = u
			} else {
				toDecode = append(toDecode, p)
			}
		}
	}

	decoded, failed := c.decode(mc, toDecode)
	mc.stateMu.Lock()
	defer mc.stateMu.Unlock()
	for p, pkg := range decoded {
		mc.known[p] = pkg
		delete(mc.retry, p)
	}
	for p, u := range fixed {
		mc.unresolved[p] = u
		delete(mc.retry, p)
	}
	for p := range failed {
		delete(mc.exports, p) // list it again next time
	}
	return failed, nil
}

// fixedUnresolved reports the paths that are unresolved whatever the go command says:
// relative paths, and third-party paths without a go.mod (not looked up at all).
func (mc *modContext) fixedUnresolved(p string) (Unresolved, bool) {
	switch {
	case isRelative(p):
		return Unresolved{Path: p, Reason: "relative import paths are not supported"}, true
	case isThirdParty(p) && !mc.hasMod:
		return Unresolved{Path: p, Reason: "there is no go.mod at the project root", ThirdParty: true, NoModule: true}, true
	}
	return Unresolved{}, false
}

// decode reads the export data of paths into mc's shared map. Paths whose export file
// cannot be read are returned in failed, with the reason.
func (c *Cache) decode(mc *modContext, paths []string) (decoded map[string]*types.Package, failed map[string]string) {
	decoded, failed = map[string]*types.Package{}, map[string]string{}
	if len(paths) == 0 {
		return decoded, nil
	}
	mc.stateMu.Lock()
	files := make([]string, len(paths))
	for i, p := range paths {
		files[i] = mc.exports[p]
	}
	mc.stateMu.Unlock()

	mc.mu.Lock()
	defer mc.mu.Unlock()
	for i, p := range paths {
		if pkg := mc.pkgs[p]; pkg != nil && pkg.Complete() {
			decoded[p] = pkg
			continue
		}
		pkg, err := readExport(files[i], mc.fset, mc.pkgs, p)
		if err != nil {
			failed[p] = err.Error()
			continue
		}
		c.decodes.Add(1)
		decoded[p] = pkg
	}
	return decoded, failed
}

func readExport(file string, fset *token.FileSet, pkgs map[string]*types.Package, path string) (*types.Package, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("open export data of %s: %w", path, err)
	}
	defer f.Close()
	// go list -export names the compiler's archive (up to Go 1.27): NewReader finds the
	// export data inside it, and passes cmd/export's plain files through.
	//lint:ignore SA1019 go list -export still names compiler archives in Go 1.26; Read alone cannot parse them.
	r, err := gcexportdata.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("find export data of %s: %w", path, err)
	}
	pkg, err := gcexportdata.Read(r, fset, pkgs, path)
	if err != nil {
		return nil, fmt.Errorf("decode export data of %s: %w", path, err)
	}
	return pkg, nil
}

type listedPackage struct {
	ImportPath string
	Name       string
	Export     string
	DepOnly    bool
	Standard   bool
	Error      *struct{ Err string }
	// Listed for a load from source (export == false) only.
	Dir       string
	GoFiles   []string
	CgoFiles  []string
	Imports   []string
	ImportMap map[string]string
}

type listResult struct {
	pkgs   []listedPackage
	failed map[string]Unresolved
}

// list runs go list for paths. A command that fails as a whole in a module context
// (a go.mod the toolchain refuses, say) falls back to listing the standard-library
// paths outside the module; the others are then unresolved with the command's reason.
//
// export selects `go list -export` (compiling what is not in the build cache); without
// it the packages' source files are listed instead (a load from source).
func (c *Cache) list(ctx context.Context, mc *modContext, paths []string, export bool) (*listResult, error) {
	res, whole, err := c.goList(ctx, mc.dir, mc.hasMod, mc.vendor, paths, export)
	if err != nil {
		return nil, err
	}
	if whole == "" {
		return c.finishList(mc, res, paths, export), nil
	}
	out := &listResult{failed: map[string]Unresolved{}}
	var std []string
	for _, p := range paths {
		if isThirdParty(p) {
			out.failed[p] = Unresolved{Path: p, Reason: sanitize(whole, mc.dir), ThirdParty: true}
		} else {
			std = append(std, p)
		}
	}
	if len(std) > 0 && mc.hasMod {
		res, whole2, err := c.goList(ctx, os.TempDir(), false, false, std, export)
		if err != nil {
			return nil, err
		}
		if whole2 == "" {
			sub := c.finishList(mc, res, std, export)
			out.pkgs = sub.pkgs
			for p, u := range sub.failed {
				out.failed[p] = u
			}
			return out, nil
		}
		whole = whole2
	}
	for _, p := range std {
		out.failed[p] = Unresolved{Path: p, Reason: sanitize(whole, mc.dir)}
	}
	return out, nil
}

func (c *Cache) finishList(mc *modContext, pkgs []listedPackage, paths []string, export bool) *listResult {
	out := &listResult{pkgs: pkgs, failed: map[string]Unresolved{}}
	byPath := make(map[string]*listedPackage, len(pkgs))
	for i := range pkgs {
		byPath[pkgs[i].ImportPath] = &pkgs[i]
	}
	for _, p := range paths {
		lp := byPath[p]
		u := Unresolved{Path: p, ThirdParty: isThirdParty(p)}
		switch {
		case lp == nil:
			u.Reason = "the go command did not list it"
		case lp.Error != nil:
			u.Reason = sanitize(lp.Error.Err, mc.dir)
		case lp.Name == "main":
			u.Reason = "it is a program (package main), not an importable package"
		case export && lp.Export == "":
			u.Reason = "the go command produced no export data for it"
		default:
			continue
		}
		out.failed[p] = u
	}
	return out
}

// goList runs `go list -e -export -deps -json` in dir (without -export, listing the
// source files, when export is false). whole is the command's error when it failed as
// a whole (no package listed); err is set only when ctx ended or the command could not
// start.
func (c *Cache) goList(ctx context.Context, dir string, hasMod, vendor bool, paths []string, export bool) (pkgs []listedPackage, whole string, err error) {
	args := []string{"list", "-e", "-export", "-deps", "-json=ImportPath,Name,Export,DepOnly,Standard,Error"}
	if export {
		c.loads.Add(1)
	} else {
		c.sourceLoads.Add(1)
		args = []string{"list", "-e", "-deps", "-json=ImportPath,Name,DepOnly,Standard,Error,Dir,GoFiles,CgoFiles,Imports,ImportMap"}
	}
	args = append(append(args, "--"), paths...)
	cmd := exec.CommandContext(ctx, c.goCmd(), args...)
	// Interrupted, the go command stops the compilers it started; killed, it could not.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = dir
	cmd.Env = c.env(hasMod, vendor)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if ctx.Err() != nil {
		return nil, "", fmt.Errorf("go list %s: %w", strings.Join(paths, " "), ctx.Err())
	}
	var ee *exec.ExitError
	if runErr != nil && !errors.As(runErr, &ee) {
		return nil, "", fmt.Errorf("run go list: %w", runErr)
	}
	dec := json.NewDecoder(&stdout)
	for {
		var lp listedPackage
		if derr := dec.Decode(&lp); derr == io.EOF {
			break
		} else if derr != nil {
			if runErr == nil {
				return nil, "", fmt.Errorf("go list output: %w", derr)
			}
			break
		}
		pkgs = append(pkgs, lp)
	}
	if runErr != nil && len(pkgs) == 0 {
		msg := firstLine(strings.TrimSpace(stderr.String()))
		if msg == "" {
			msg = runErr.Error()
		}
		return nil, "go list failed: " + msg, nil
	}
	return pkgs, "", nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// sanitize keeps the first line of a go command message and drops the project's
// absolute path from it, so messages are the same on every machine.
func sanitize(msg, dir string) string {
	msg = strings.TrimSpace(firstLine(strings.TrimSpace(msg)))
	if dir != "" {
		msg = strings.ReplaceAll(msg, dir+string(filepath.Separator), "")
		msg = strings.ReplaceAll(msg, dir, ".")
	}
	return strings.TrimSuffix(msg, ";")
}

func (c *Cache) goCmd() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goPath != "" {
		return c.goPath
	}
	return c.opts.GoCmd
}

// env is the go command's environment: the process's, Options.Env, then the forced
// settings that keep the command offline and read-only.
func (c *Cache) env(hasMod, vendor bool) []string {
	env := append(os.Environ(), c.opts.Env...)
	goflags := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			goflags = v
		}
	}
	var flags []string
	for _, f := range strings.Fields(goflags) {
		if !strings.HasPrefix(f, "-mod=") && !strings.HasPrefix(f, "--mod=") {
			flags = append(flags, f)
		}
	}
	if hasMod {
		if vendor {
			flags = append(flags, "-mod=vendor")
		} else {
			flags = append(flags, "-mod=readonly")
		}
	}
	return append(env, "GOFLAGS="+strings.Join(flags, " "), "GOPROXY=off", "GOTOOLCHAIN=local", "GOWORK=off", "GO111MODULE=on")
}

// checkToolchain drops every context when the go binary changed and `go env` reports
// another version or GOROOT.
func (c *Cache) checkToolchain(ctx context.Context) error {
	c.mu.Lock()
	path := c.goPath
	old := c.tool
	c.mu.Unlock()
	if path != "" {
		if st := (toolStamp{stampOf(path), path}); st == old {
			return nil
		}
	}
	c.toolMu.Lock()
	defer c.toolMu.Unlock()
	resolved, err := gotoolchain.LookPath(c.opts.GoCmd)
	if err != nil {
		return fmt.Errorf("the type information of the tasks' imports comes from the Go toolchain: %w", err)
	}
	if abs, err := filepath.Abs(resolved); err == nil {
		resolved = abs
	}
	st := toolStamp{stampOf(resolved), resolved}
	c.mu.Lock()
	same := c.tool == st && c.goPath == resolved
	c.mu.Unlock()
	if same {
		return nil // another request probed it meanwhile
	}
	cmd := exec.CommandContext(ctx, resolved, "env", "GOVERSION", "GOROOT", "GOARCH", "GOCACHE")
	cmd.Env = c.env(false, false)
	cmd.Dir = os.TempDir()
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("go env: %w", ctx.Err())
		}
		return fmt.Errorf("run %s env: %w", resolved, err)
	}
	fields := strings.Split(strings.TrimSpace(string(out)), "\n")
	id := strings.Join(fields, " ")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.toolID != "" && c.toolID != id {
		c.roots = map[string]*rootState{}
		c.ctxs = map[string]*modContext{}
	}
	c.toolID, c.tool, c.goPath = id, st, resolved
	if len(fields) == 4 {
		c.goarch = fields[2]
		// A build cache the go command never opened (it makes 256 folders at once):
		// compiling will take long, so source checks need not wait to start.
		if _, err := os.Stat(filepath.Join(fields[3], "00")); errors.Is(err, fs.ErrNotExist) {
			c.coldCache.Store(true)
		}
	}
	return nil
}

// maxModFileSize bounds go.mod, go.sum and vendor/modules.txt: they are read only
// when regular files of at most this size (a FIFO named go.mod must not hang the
// checker, nor a /dev/zero link exhaust it).
const maxModFileSize = 64 << 20

// context returns the module context of root, replacing it when its go.mod, go.sum or
// vendor/modules.txt changed.
func (c *Cache) context(root string) (*modContext, error) {
	if !filepath.IsAbs(root) {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, fmt.Errorf("project root %s: %w", root, err)
		}
		root = abs
	}
	root = filepath.Clean(root)
	modPath := filepath.Join(root, "go.mod")
	sumPath := filepath.Join(root, "go.sum")
	vendorPath := filepath.Join(root, "vendor", "modules.txt")
	mod, sum, vend := stampOf(modPath), stampOf(sumPath), stampOf(vendorPath)

	c.mu.Lock()
	rs := c.roots[root]
	if rs != nil && rs.mod == mod && rs.sum == sum && rs.vendor == vend {
		mc := c.ctxs[rs.ctxKey]
		if mc != nil {
			c.mu.Unlock()
			return mc, nil
		}
	}
	c.mu.Unlock()

	key, module := "nomod", Module{}
	if mod.exists {
		h := sha256.New()
		for _, p := range []string{modPath, sumPath, vendorPath} {
			b, err := userfile.Read(p, maxModFileSize)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("read %s: %w", p, err)
			}
			if p == modPath {
				module = parseGoMod(b)
			}
			fmt.Fprintf(h, "%s %d\n", filepath.Base(p), len(b))
			h.Write(b)
		}
		key = "mod\x00" + root + "\x00" + hex.EncodeToString(h.Sum(nil))
		module.HasGoMod = true
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	mc := c.ctxs[key]
	if mc == nil {
		mc = &modContext{
			id:         strconv.FormatInt(c.gen.Add(1), 10),
			hasMod:     mod.exists,
			vendor:     mod.exists && vend.exists,
			module:     module,
			fset:       token.NewFileSet(),
			pkgs:       map[string]*types.Package{},
			known:      map[string]*types.Package{},
			unresolved: map[string]Unresolved{},
			exports:    map[string]string{},
			flights:    map[string]*flight{},
			retry:      map[string]bool{},
			src:        newSrcState(),
		}
		mc.dir = os.TempDir()
		if mod.exists {
			mc.dir = root
		}
		// A replaced context of this root is dropped with its packages.
		if rs != nil && rs.ctxKey != key && rs.ctxKey != "nomod" {
			delete(c.ctxs, rs.ctxKey)
		}
		c.ctxs[key] = mc
	}
	c.roots[root] = &rootState{mod: mod, sum: sum, vendor: vend, ctxKey: key, module: module}
	return mc, nil
}

// parseGoMod reads the module path and go version of a go.mod.
func parseGoMod(b []byte) Module {
	var m Module
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.Index(line, "//"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		switch f[0] {
		case "module":
			if p, err := strconv.Unquote(f[1]); err == nil {
				m.Path = p
			} else {
				m.Path = f[1]
			}
		case "go":
			m.GoVersion = f[1]
		}
	}
	return m
}

// isThirdParty reports whether path's first element has a dot: a module path that the
// standard library does not provide.
func isThirdParty(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return strings.Contains(first, ".") && !isRelative(path)
}

func isRelative(path string) bool {
	return path == "." || path == ".." || strings.HasPrefix(path, "./") || strings.HasPrefix(path, "../") || strings.HasPrefix(path, "/")
}

// IsThirdParty reports whether an import path names a package outside the standard
// library that a module would provide (its first element has a dot).
func IsThirdParty(path string) bool { return isThirdParty(path) }
