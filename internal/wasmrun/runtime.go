// Package wasmrun compiles a pelato task (Go source defining exec_task) to a
// WASI preview 1 module with the host Go toolchain and runs it in-process
// with wazero. It backs `pelato invoke` and `pelato dev`.
//
// The task is compiled together with a small generated harness (not the
// wasmCloud one) with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared. Built
// modules are cached by a hash of all inputs under <cache>/wasm and wazero's
// native code under <cache>/wazero, where <cache> defaults to
// os.UserCacheDir()/pelato.
//
// Typical use:
//
//	rt, err := wasmrun.NewRuntime(ctx, wasmrun.Options{Stdout: os.Stderr, Stderr: os.Stderr})
//	defer rt.Close(ctx)
//	mod, err := rt.Compile(ctx, wasmrun.Source{Path: "tasks/convert.go"})
//	out, err := mod.Call(ctx, "21.5") // safe for concurrent use
package wasmrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Options configures a Runtime. The zero value is valid.
type Options struct {
	// CacheDir is the cache root. Built modules go to CacheDir/wasm and
	// wazero's compiled code to CacheDir/wazero.
	// Default: os.UserCacheDir()/pelato.
	CacheDir string
	// CacheLimits bound those two folders; the cache is trimmed after every new
	// build (see TrimCache). Default: 512 MiB, entries unused for 30 days removed.
	CacheLimits CacheLimits
	// GoBinary is the go command to use. Default: `go` from PATH.
	GoBinary string
	// Stdout and Stderr receive the guest's standard output and error
	// (e.g. fmt.Println in a task). Nil discards the output. Writes are
	// serialized by the Runtime, so the writers need not be goroutine-safe,
	// but output of concurrent calls may interleave.
	Stdout, Stderr io.Writer
	// MaxInstances bounds the instances each Module keeps for Module.Call
	// and Module.CallKV. Default: runtime.GOMAXPROCS(0).
	MaxInstances int
	// Limits are the default limits of every call (time, memory, stack); a
	// Module may override them (CompileOptions.Limits).
	Limits Limits
	// OnGoCommand, if set, is called with the arguments of every `go`
	// command the Runtime runs (tests use it to verify cache hits).
	OnGoCommand func(args []string)
}

// Runtime compiles and runs tasks. It is safe for concurrent use.
type Runtime struct {
	opts      Options
	cacheRoot string
	wz        wazero.Runtime
	cache     wazero.CompilationCache
	stdout    io.Writer
	stderr    io.Writer

	tcMu sync.Mutex
	tc   *toolchain

	modMu    sync.Mutex
	modFiles map[string]modFiles // build module files by buildInputs.modKey

	interpMu     sync.Mutex
	interp       wazero.Runtime // wazero's interpreter, made on first use (tier.go)
	interpClosed bool
}

// NewRuntime creates a Runtime with a wazero runtime backed by a file
// compilation cache under the cache root.
func NewRuntime(ctx context.Context, opts Options) (*Runtime, error) {
	root := opts.CacheDir
	if root == "" {
		dir, err := DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		root = dir
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("wasmrun: resolving cache directory: %w", err)
	}
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = runtime.GOMAXPROCS(0)
	}
	opts.Limits = opts.Limits.withDefaults(Limits{})
	cache, err := wazero.NewCompilationCacheWithDir(filepath.Join(root, "wazero"))
	if err != nil {
		return nil, fmt.Errorf("wasmrun: opening wazero compilation cache: %w", err)
	}
	// No WithCloseOnContextDone: time limits and cancellation reach a running guest
	// through the fuel counter of fuel.go, at a fraction of the cost.
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		// Each instance's memory is capped by its Module's limit (memoryAllocator);
		// the runtime allows what 32-bit WebAssembly can address.
		WithMemoryLimitPages(MaxMemory / wasmPageSize)
	wz := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, wz); err != nil {
		_ = wz.Close(ctx)
		_ = cache.Close(ctx)
		return nil, fmt.Errorf("wasmrun: instantiating WASI: %w", err)
	}
	if err := instantiateHost(ctx, wz); err != nil {
		_ = wz.Close(ctx)
		_ = cache.Close(ctx)
		return nil, err
	}
	return &Runtime{
		opts:      opts,
		cacheRoot: root,
		wz:        wz,
		cache:     cache,
		stdout:    newLockedWriter(opts.Stdout),
		stderr:    newLockedWriter(opts.Stderr),
	}, nil
}

// CacheDir returns the cache root in use.
func (r *Runtime) CacheDir() string { return r.cacheRoot }

// Close releases the wazero runtime, all modules and instances created from
// it, and the compilation cache handle.
func (r *Runtime) Close(ctx context.Context) error {
	return errors.Join(r.closeInterpreter(ctx), r.wz.Close(ctx), r.cache.Close(ctx))
}

// CompileOptions tune one Module.
type CompileOptions struct {
	// Instances bounds the Module's pool of instances (Options.MaxInstances when 0).
	Instances int
	// Limits bound each call; zero fields take the Runtime's (Options.Limits).
	Limits Limits
	// Quick compiles a module that was just built with wazero's interpreter, in a
	// fraction of the time its native compilation takes; its calls are slower until
	// Module.Native replaces it. A module from the cache is compiled natively.
	Quick bool
}

// Compile builds src (or loads it from the cache) and compiles it with
// wazero. Problems in the user's code are returned as *BuildError with
// positions in the user's files; a missing Go toolchain wraps ErrGoNotFound.
func (r *Runtime) Compile(ctx context.Context, src Source) (*Module, error) {
	return r.CompileWith(ctx, src, CompileOptions{})
}

// CompileWith is Compile with options for the Module.
func (r *Runtime) CompileWith(ctx context.Context, src Source, co CompileOptions) (*Module, error) {
	res, err := r.build(ctx, src)
	if err != nil {
		return nil, err
	}
	compiled, wz, err := r.compileModule(ctx, res, co.Quick)
	if err != nil {
		return nil, fmt.Errorf("wasmrun: compiling wasm module %s: %w", res.path, err)
	}
	if !res.cached {
		// A new entry (and wazero's native code for it): keep the cache bounded. A
		// failure to trim costs disk space only.
		_, _, _ = TrimCache(r.cacheRoot, r.opts.CacheLimits, time.Now())
	}
	want := exportExec
	if res.kind == KindKV {
		want = exportExecKV
	}
	exports := compiled.ExportedFunctions()
	for _, name := range []string{exportBuffer, exportLimits, want, "_initialize"} {
		if _, ok := exports[name]; !ok {
			_ = compiled.Close(ctx)
			return nil, fmt.Errorf("wasmrun: module %s does not export %s", res.path, name)
		}
	}
	n := r.opts.MaxInstances
	if co.Instances > 0 {
		n = co.Instances
	}
	m := &Module{
		rt:       r,
		wz:       wz,
		compiled: compiled,
		kind:     res.kind,
		wasmPath: res.path,
		cached:   res.cached,
		limits:   co.Limits.withDefaults(r.opts.Limits),
		idle:     make(chan *Instance, n),
		slots:    make(chan struct{}, n),
	}
	if wz != r.wz {
		m.wasm = res.wasm // for Native
	}
	return m, nil
}

// lockedWriter serializes writes from concurrent instances.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func newLockedWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return &lockedWriter{w: w}
}

// Write implements io.Writer.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// headBuffer keeps the first max bytes written since the last reset; it
// captures a crashing guest's stderr (e.g. "fatal error: stack overflow").
type headBuffer struct {
	buf []byte
	max int
}

// Write implements io.Writer.
func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *headBuffer) reset() { h.buf = h.buf[:0] }
