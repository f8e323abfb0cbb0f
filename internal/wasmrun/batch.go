package wasmrun

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Input is one message for a task: Arg is exec_task's argument (a kv task's key);
// Data is a kv task's data ("" for a string task).
type Input struct {
	Arg, Data string
}

// Result is what exec_task made of one Input: Out is its result (a kv task's key),
// Data a kv task's data; Err is set instead when the call failed (*PanicError,
// *LimitError, *ExitError, ...). Duration is how long it ran.
type Result struct {
	Out, Data string
	Err       error
	Duration  time.Duration
}

// callKey is the context key of the callState of the call in progress.
type callKey struct{}

// callState collects the results of one pelato_exec call as the guest hands them
// over (hostResultFunc runs on the calling goroutine).
type callState struct {
	inst    *Instance
	results []Result
	timeout time.Duration // the time limit of each message (0: none), checked by hostTickFunc
	harness error         // the guest reported a harness fault
	trapped bool          // exec_task panicked: the guest stopped the batch there
	last    time.Time     // when the message in progress started
}

// instantiateHost adds the harness's host module (pelato.result) to a wazero runtime.
func instantiateHost(ctx context.Context, wz wazero.Runtime) error {
	_, err := wz.NewHostModuleBuilder(hostModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostResultFunc), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, nil).
		Export(hostResult).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostTickFunc), nil, []api.ValueType{api.ValueTypeI32}).
		Export(hostTick).
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("wasmrun: instantiating the harness's host functions: %w", err)
	}
	return nil
}

// hostResultFunc receives one result from the guest (see harness.go):
// (status, ptrA, lenA, ptrB, lenB).
func hostResultFunc(ctx context.Context, mod api.Module, stack []uint64) {
	st, ok := ctx.Value(callKey{}).(*callState)
	if !ok {
		return // not during a call of ours: nothing to deliver to
	}
	status, a, b, err := readResult(mod.Memory(), stack)
	// time.Since reads only the monotonic clock: half the cost of time.Now.
	d := time.Since(st.last)
	switch {
	case err != nil:
		st.harness = err
		return
	case status == statusOK:
		st.results = append(st.results, Result{Out: a, Data: b, Duration: d})
	case status == statusPanic:
		st.results = append(st.results, Result{Err: &PanicError{Value: a, Stack: trimPanicStack(b)}, Duration: d})
		st.trapped = true
	default:
		st.harness = errors.New(a)
		return
	}
	st.last = st.last.Add(d)
	st.inst.stderr.reset()
}

// readResult copies the two strings of a pelato.result call out of guest memory.
func readResult(mem api.Memory, stack []uint64) (status uint32, a, b string, err error) {
	status = uint32(stack[0])
	for i, s := range []*string{&a, &b} {
		ptr, n := uint32(stack[1+2*i]), uint32(stack[2+2*i])
		buf, ok := mem.Read(ptr, n)
		if !ok {
			return 0, "", "", fmt.Errorf("result [%d, +%d) is outside guest memory", ptr, n)
		}
		*s = string(buf)
	}
	return status, a, b, nil
}

// CallBatch runs exec_task on each input in order, on pooled instances, and puts
// each one's result in out (len(out) ≥ len(in)). Every input is run at most once and
// has its own result, panic recovery and time limit: when one stops its instance (a
// time or memory limit, an exit), its Result says so and the inputs after it go on
// in another instance. It returns how many inputs were run; the others were not,
// because ctx ended or the module was closed (err says which; ErrClosed then).
// CallBatch copies the inputs into the guest and keeps none of them once it returns.
func (m *Module) CallBatch(ctx context.Context, in []Input, out []Result) (int, error) {
	if len(out) < len(in) {
		return 0, fmt.Errorf("wasmrun: CallBatch with %d inputs but room for %d results", len(in), len(out))
	}
	done := 0
	for done < len(in) {
		inst, err := m.acquire(ctx)
		if err != nil {
			return done, err
		}
		n, err := inst.run(ctx, in[done:], out[done:])
		failedAt := inst.st.last
		m.release(inst)
		done += n
		if err != nil {
			if n == 0 && !inst.dead {
				// Nothing ran (ctx ended before the call).
				return done, err
			}
			out[done] = Result{Err: err, Duration: time.Since(failedAt)}
			done++
		}
	}
	return done, nil
}

// run runs in on the instance and fills out. It returns how many inputs got their
// result from the guest; err is set when the instance failed (or ctx ended) before
// input n had its result, and is that input's error.
func (i *Instance) run(ctx context.Context, in []Input, out []Result) (int, error) {
	if i.dead {
		return 0, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("wasmrun: calling task: %w", err)
	}
	if len(in) == 0 {
		return 0, nil
	}
	if i.guard != nil {
		if !i.guard.enter() {
			return 0, ErrClosed
		}
		defer i.guard.leave()
	}
	size := uint64(0)
	for _, x := range in {
		size += inputHeader + uint64(len(x.Arg)) + uint64(len(x.Data))
	}
	if size > math.MaxUint32 {
		if len(in) > 1 {
			// Too much at once: run the first half, the caller goes on with the rest.
			return i.run(ctx, in[:len(in)/2], out)
		}
		return 0, fmt.Errorf("wasmrun: input of %d bytes is too large", size-inputHeader)
	}
	st := &i.st
	*st = callState{inst: i, results: out[:0], timeout: max(i.limits.Timeout, 0)}
	// The time limit is enforced by pelato.tick (fuel.go), from the guest's loops.
	cctx := context.WithValue(ctx, callKey{}, st)
	i.stderr.reset()
	st.last = time.Now()
	if err := i.writeInputs(cctx, in, uint32(size)); err != nil {
		return 0, err
	}
	s := i.stack[:]
	s[0], s[1] = uint64(len(in)), size
	err := i.exec.CallWithStack(cctx, s)
	n := len(st.results)
	st.results = nil
	if st.trapped && err == nil && st.harness == nil {
		// A panic is a trap in production: discard the instance; the caller runs
		// the rest of the batch in another.
		i.dead = true
		_ = i.mod.Close(context.Background())
		return n, nil
	}
	if err == nil && st.harness == nil && n < len(in) {
		err = fmt.Errorf("the harness returned %d results for %d messages", n, len(in))
	}
	var ferr error
	switch {
	case err != nil:
		ferr = i.fail(cctx, "running exec_task", err)
	case st.harness != nil:
		ferr = i.fail(cctx, "harness", st.harness)
	}
	if n >= len(in) {
		// Every message has its result; if the instance stopped after the last one
		// (its time limit passed just then, say), it is discarded and no message failed.
		return n, nil
	}
	return n, ferr
}

// writeInputs copies the batch into the guest's input buffer.
func (i *Instance) writeInputs(ctx context.Context, in []Input, size uint32) error {
	if size > i.inCap {
		st := i.stack[:]
		st[0] = uint64(size)
		if err := i.buffer.CallWithStack(ctx, st); err != nil {
			return i.fail(ctx, "allocating input", err)
		}
		i.inPtr, i.inCap = uint32(st[0]), size
	}
	buf, ok := i.mem.Read(i.inPtr, size)
	if i.inPtr == 0 || !ok {
		return i.fail(ctx, "writing input", fmt.Errorf("guest returned invalid buffer %d for %d bytes", i.inPtr, size))
	}
	for _, x := range in {
		binary.LittleEndian.PutUint32(buf[0:4], uint32(len(x.Arg)))
		binary.LittleEndian.PutUint32(buf[4:8], uint32(len(x.Data)))
		n := inputHeader + copy(buf[inputHeader:], x.Arg)
		n += copy(buf[n:], x.Data)
		buf = buf[n:]
	}
	if i.inCap > keepBuffer {
		i.inPtr, i.inCap = 0, 0 // the guest drops it after this call
	}
	return nil
}
