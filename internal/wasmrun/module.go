package wasmrun

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// ErrClosed is returned when calling into a closed Module or Instance.
var ErrClosed = errors.New("wasmrun: module or instance is closed")

// PanicError is returned when exec_task panics. As a panic traps a TinyGo
// component, the instance is discarded and recover() in task code has no effect.
type PanicError struct {
	// Value is the panic value formatted with fmt.Sprint.
	Value string
	// Stack is the guest goroutine stack from the panicking frame down;
	// task frames name the user's source files.
	Stack string
}

// Error implements error; it gives the panic message (print Stack for the
// trace).
func (e *PanicError) Error() string { return "task panicked: " + e.Value }

// ExitError is returned when the guest terminated instead of returning,
// e.g. os.Exit in the task or a fatal Go runtime error such as a stack
// overflow or out of memory. The instance is discarded.
type ExitError struct {
	// Code is the guest's exit code.
	Code uint32
	// Output is the beginning of what the guest wrote to stderr during the
	// call (the Go runtime's fatal error report).
	Output string
}

// Error implements error.
func (e *ExitError) Error() string {
	msg := fmt.Sprintf("task exited with code %d", e.Code)
	if line := fatalLine(e.Output); line != "" {
		return msg + ": " + line
	}
	return msg
}

// fatalLine returns the first Go runtime fatal report line in stderr output.
func fatalLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "fatal error:") || strings.HasPrefix(line, "panic:") ||
			strings.HasPrefix(line, "runtime: ") {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// Module is a compiled task. Call and CallKV are safe for concurrent use:
// they borrow instances from a bounded pool (Options.MaxInstances).
type Module struct {
	rt       *Runtime
	wz       wazero.Runtime // the runtime that compiled it: the native one or the interpreter
	compiled wazero.CompiledModule
	wasm     []byte // the module's bytes while it is interpreted (for Native)
	kind     Kind
	wasmPath string
	cached   bool
	limits   Limits

	idle   chan *Instance // idle instances, cap MaxInstances
	slots  chan struct{}  // one token per live pooled instance
	mu     sync.Mutex     // guards closed
	closed bool           // set once by Close
}

// Kind returns the task's signature kind.
func (m *Module) Kind() Kind { return m.kind }

// WasmPath returns the path of the cached .wasm file.
func (m *Module) WasmPath() string { return m.wasmPath }

// FromCache reports whether the .wasm came from the cache (no go build).
func (m *Module) FromCache() bool { return m.cached }

// Limits returns the limits of the module's calls.
func (m *Module) Limits() Limits { return m.limits }

// Call runs a kind "string" task with input, using a pooled instance.
func (m *Module) Call(ctx context.Context, input string) (string, error) {
	inst, err := m.acquire(ctx)
	if err != nil {
		return "", err
	}
	out, err := inst.Call(ctx, input)
	m.release(inst)
	return out, err
}

// CallKV runs a kind "kv" task with key and data, using a pooled instance.
func (m *Module) CallKV(ctx context.Context, key, data string) (string, string, error) {
	inst, err := m.acquire(ctx)
	if err != nil {
		return "", "", err
	}
	k, d, err := inst.CallKV(ctx, key, data)
	m.release(inst)
	return k, d, err
}

// acquire takes an idle instance, creates one if the pool has room, or
// waits for one to be released.
func (m *Module) acquire(ctx context.Context) (*Instance, error) {
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	select {
	case inst := <-m.idle:
		return inst, nil
	default:
	}
	select {
	case inst := <-m.idle:
		return inst, nil
	case m.slots <- struct{}{}:
		m.mu.Lock()
		closed := m.closed
		m.mu.Unlock()
		if closed {
			<-m.slots
			return nil, ErrClosed
		}
		inst, err := m.NewInstance(ctx)
		if err != nil {
			<-m.slots
			return nil, err
		}
		return inst, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wasmrun: waiting for a free instance: %w", ctx.Err())
	}
}

// Warm fills the pool with up to n instances now, so the first calls do not pay for
// instantiation.
func (m *Module) Warm(ctx context.Context, n int) error {
	var got []*Instance
	defer func() {
		for _, inst := range got {
			m.release(inst)
		}
	}()
	for i := 0; i < min(n, cap(m.slots)); i++ {
		select {
		case m.slots <- struct{}{}:
		default:
			return nil
		}
		inst, err := m.NewInstance(ctx)
		if err != nil {
			<-m.slots
			return err
		}
		got = append(got, inst)
	}
	return nil
}

// release returns a healthy instance to the pool and discards others, and those
// whose memory grew past Limits.RetainMemory (their memory goes back to the system).
func (m *Module) release(inst *Instance) {
	m.mu.Lock()
	if !m.closed && !inst.dead && uint64(inst.mem.Size()) <= m.limits.RetainMemory {
		m.idle <- inst // never blocks: live instances <= cap(idle)
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	_ = inst.Close(context.Background())
	<-m.slots
}

// Close closes idle instances and the compiled module; instances that are
// in use are closed when their call returns. Instances made with
// NewInstance must be closed by their owner.
func (m *Module) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	var errs []error
	for {
		select {
		case inst := <-m.idle:
			errs = append(errs, inst.Close(ctx))
			<-m.slots
			continue
		default:
		}
		break
	}
	errs = append(errs, m.compiled.Close(ctx))
	return errors.Join(errs...)
}

// Instance is one instantiated task module. It is not safe for concurrent
// use; use Module.Call/CallKV from many goroutines instead.
type Instance struct {
	mod    api.Module
	buffer api.Function
	exec   api.Function
	mem    api.Memory
	guard  guardedMemory // mem's region; nil when the module made no memory
	kind   Kind
	limits Limits
	stack  [4]uint64
	stderr *headBuffer
	dead   bool
	// inPtr and inCap locate the guest's input buffer (0 when it has none to keep).
	inPtr, inCap uint32
	st           callState // of the call in progress (reused)
}

// NewInstance instantiates the module (running the Go runtime's
// _initialize) for exclusive use by the caller, who must Close it.
func (m *Module) NewInstance(ctx context.Context) (*Instance, error) {
	head := &headBuffer{max: 64 << 10}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs("task").
		WithStartFunctions("_initialize").
		WithStdout(m.rt.stdout).
		WithStderr(io.MultiWriter(m.rt.stderr, head)).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(crand.Reader)
	// Initialization (package variables, init functions) is bounded like a call.
	ictx, cancel := m.limits.callContext(ctx)
	defer cancel()
	alloc := &memoryAllocator{limit: m.limits.Memory}
	defer func() {
		if alloc.made != nil {
			alloc.made.leave() // instantiation is over (a failed one closed the module)
		}
	}()
	ictx = experimental.WithMemoryAllocator(ictx, alloc)
	mod, err := m.wz.InstantiateModule(ictx, m.compiled, cfg)
	if err != nil {
		if le := m.limits.interrupted(ictx); le != nil || errors.Is(err, errTimeLimit) {
			return nil, fmt.Errorf("wasmrun: initializing task: %w", &LimitError{Limit: LimitTime, Timeout: m.limits.Timeout})
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("wasmrun: instantiating task: %w", ctx.Err())
		}
		if le := m.limits.limitFromOutput(string(head.buf)); le != nil {
			return nil, fmt.Errorf("wasmrun: initializing task: %w", le)
		}
		var exit *sys.ExitError
		if errors.As(err, &exit) {
			return nil, fmt.Errorf("wasmrun: initializing task: %w", &ExitError{Code: exit.ExitCode(), Output: string(head.buf)})
		}
		return nil, fmt.Errorf("wasmrun: instantiating task: %w", err)
	}
	execName := exportExec
	if m.kind == KindKV {
		execName = exportExecKV
	}
	inst := &Instance{
		mod:    mod,
		guard:  alloc.made,
		buffer: mod.ExportedFunction(exportBuffer),
		exec:   mod.ExportedFunction(execName),
		mem:    mod.Memory(),
		kind:   m.kind,
		limits: m.limits,
		stderr: head,
	}
	setLimits := mod.ExportedFunction(exportLimits)
	if inst.buffer == nil || inst.exec == nil || inst.mem == nil || setLimits == nil {
		_ = mod.Close(ctx)
		return nil, fmt.Errorf("wasmrun: task module lacks %s, %s, %s or memory exports", exportBuffer, exportLimits, execName)
	}
	st := inst.stack[:]
	st[0], st[1] = m.limits.softMemoryLimit(), m.limits.Stack
	if err := setLimits.CallWithStack(ictx, st); err != nil {
		_ = mod.Close(ctx)
		return nil, fmt.Errorf("wasmrun: applying limits: %w", err)
	}
	return inst, nil
}

// Call runs a kind "string" task's exec_task(input).
func (i *Instance) Call(ctx context.Context, input string) (string, error) {
	if i.kind != KindString {
		return "", fmt.Errorf("wasmrun: Call on a %q task; use CallKV", i.kind)
	}
	out, _, err := i.call(ctx, input, "")
	return out, err
}

// CallKV runs a kind "kv" task's exec_task(key, data).
func (i *Instance) CallKV(ctx context.Context, key, data string) (string, string, error) {
	if i.kind != KindKV {
		return "", "", fmt.Errorf("wasmrun: CallKV on a %q task; use Call", i.kind)
	}
	return i.call(ctx, key, data)
}

// Close releases the instance.
func (i *Instance) Close(ctx context.Context) error {
	i.dead = true
	if err := i.mod.Close(ctx); err != nil {
		return fmt.Errorf("wasmrun: closing instance: %w", err)
	}
	return nil
}

// call runs one message.
func (i *Instance) call(ctx context.Context, a, b string) (string, string, error) {
	in := [1]Input{{Arg: a, Data: b}}
	var out [1]Result
	n, err := i.run(ctx, in[:], out[:])
	if n == 0 {
		return "", "", err
	}
	return out[0].Out, out[0].Data, out[0].Err
}

// fail marks the instance unusable and classifies err.
func (i *Instance) fail(ctx context.Context, step string, err error) error {
	i.dead = true
	_ = i.mod.Close(context.Background())
	if le := i.limits.interrupted(ctx); le != nil {
		return le
	}
	if errors.Is(err, errTimeLimit) {
		return &LimitError{Limit: LimitTime, Timeout: i.limits.Timeout}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("wasmrun: task call interrupted: %w", ctx.Err())
	}
	if le := i.limits.limitFromOutput(string(i.stderr.buf)); le != nil {
		return le
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return &ExitError{Code: exit.ExitCode(), Output: string(i.stderr.buf)}
	}
	if line := fatalLine(string(i.stderr.buf)); line != "" {
		// e.g. a trap after "runtime: goroutine stack exceeds ..." output.
		return fmt.Errorf("wasmrun: %s: %s: %w", step, line, err)
	}
	return fmt.Errorf("wasmrun: %s: %w", step, err)
}
