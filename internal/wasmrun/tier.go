package wasmrun

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Tiers. wazero's optimizing compiler turns a task module (≈3 MB of Go runtime and
// task code) into native code in 0.5–1 s on two cores; a module built moments ago is
// never in its compilation cache. Its interpreter takes the same module in ≈0.13 s
// and runs calls ≈25× slower: good enough to serve a freshly saved task while the
// native code is compiled in the background (CompileOptions.Quick, Module.Native).

// compilationWorkers is how many goroutines compile one module natively. With more
// than one, wazero also stops compiling when the context ends.
func compilationWorkers() int { return max(2, runtime.GOMAXPROCS(0)) }

// compileModule compiles a built module: natively (the file cache makes a module
// compiled before cheap), or with the interpreter when quick is set and the module
// was just built, so its native code cannot be in the cache.
func (r *Runtime) compileModule(ctx context.Context, res *buildResult, quick bool) (wazero.CompiledModule, wazero.Runtime, error) {
	if quick && !res.cached {
		wz, err := r.interpreter(ctx)
		if err != nil {
			return nil, nil, err
		}
		compiled, err := wz.CompileModule(ctx, res.wasm)
		return compiled, wz, err
	}
	compiled, err := r.wz.CompileModule(experimental.WithCompilationWorkers(ctx, compilationWorkers()), res.wasm)
	return compiled, r.wz, err
}

// interpreter returns the Runtime's interpreting wazero runtime, made on first use.
func (r *Runtime) interpreter(ctx context.Context) (wazero.Runtime, error) {
	r.interpMu.Lock()
	defer r.interpMu.Unlock()
	if r.interpClosed {
		return nil, ErrClosed
	}
	if r.interp != nil {
		return r.interp, nil
	}
	cfg := wazero.NewRuntimeConfigInterpreter().
		WithMemoryLimitPages(MaxMemory / wasmPageSize)
	wz := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, wz); err != nil {
		_ = wz.Close(ctx)
		return nil, fmt.Errorf("wasmrun: instantiating WASI: %w", err)
	}
	if err := instantiateHost(ctx, wz); err != nil {
		_ = wz.Close(ctx)
		return nil, err
	}
	r.interp = wz
	return wz, nil
}

// closeInterpreter closes the interpreting runtime, if one was made.
func (r *Runtime) closeInterpreter(ctx context.Context) error {
	r.interpMu.Lock()
	defer r.interpMu.Unlock()
	r.interpClosed = true
	if r.interp == nil {
		return nil
	}
	return r.interp.Close(ctx)
}

// Interpreted reports whether the module runs on wazero's interpreter
// (CompileOptions.Quick); Native makes its natively compiled successor.
func (m *Module) Interpreted() bool { return m.wasm != nil }

// Native compiles an interpreted module's code with wazero's optimizing compiler
// (storing it in the compilation cache) and returns a new Module with the same kind,
// limits and pool size. The caller swaps it in for m and closes m. It fails for a
// module that is not interpreted, and stops early when ctx ends.
func (m *Module) Native(ctx context.Context) (*Module, error) {
	if m.wasm == nil {
		return nil, errors.New("wasmrun: the module is already compiled natively")
	}
	compiled, err := m.rt.wz.CompileModule(experimental.WithCompilationWorkers(ctx, compilationWorkers()), m.wasm)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wasmrun: compiling wasm module %s: %w", m.wasmPath, ctx.Err())
		}
		return nil, fmt.Errorf("wasmrun: compiling wasm module %s: %w", m.wasmPath, err)
	}
	n := cap(m.slots)
	return &Module{
		rt:       m.rt,
		wz:       m.rt.wz,
		compiled: compiled,
		kind:     m.kind,
		wasmPath: m.wasmPath,
		cached:   m.cached,
		limits:   m.limits,
		idle:     make(chan *Instance, n),
		slots:    make(chan struct{}, n),
	}, nil
}
