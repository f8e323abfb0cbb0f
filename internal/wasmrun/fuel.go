package wasmrun

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// Time limits without wazero's per-loop exits.
//
// wazero's WithCloseOnContextDone makes its compiler leave native code at every loop
// header to look at the context, and Go's WebAssembly code makes every function a
// loop: a few hundred exits of 31–39 ns per call of a small task, three quarters of
// its time (docs/PERFORMANCE.md). pelato instead gives each module a fuel counter:
// a mutable i32 global that every loop header decrements, calling the harness's
// imported pelato.tick only when it reaches zero. tick (hostTickFunc) checks the
// message's deadline and the call's context, stops the guest by panicking when
// either has passed, and otherwise refuels it. So a guest leaves native code once per
// fuelPerTick loop iterations instead of once per iteration; and since native code
// cannot be preempted by Go's scheduler, those exits also bound how long a garbage
// collection's stop-the-world waits for a running guest (a watchdog goroutine could
// not do that: it is stopped by the same stop-the-world).
//
// instrument adds the counter to a module built by the Go toolchain with the harness
// (which imports pelato.tick); built modules are cached instrumented
// (instrumentVersion is part of the cache key).

// instrumentVersion names the instrumentation in the cache key.
const instrumentVersion = "pelato-fuel-1"

// fuelPerTick is how many loop iterations a guest runs between two ticks: a tick
// costs about 0.1 µs, an iteration of Go's Wasm code a few ns, so ticks cost ≈ 1 %
// and come every few tens of µs.
const fuelPerTick = 1 << 12

// Names of the imported tick function.
const hostTick = "tick"

// hostTickFunc is pelato.tick: () -> i32, the fuel until the next tick. It stops the
// guest (a panic that wazero turns into the call's error) when the message in
// progress is past its deadline or the call's context has ended.
func hostTickFunc(ctx context.Context, _ api.Module, stack []uint64) {
	if st, ok := ctx.Value(callKey{}).(*callState); ok && st.timeout > 0 {
		if time.Since(st.last) > st.timeout {
			panic(errTimeLimit)
		}
	}
	if err := ctx.Err(); err != nil {
		if errors.Is(context.Cause(ctx), errTimeLimit) {
			panic(errTimeLimit)
		}
		panic(fmt.Errorf("wasmrun: task call interrupted: %w", err))
	}
	stack[0] = fuelPerTick
}

// WebAssembly encoding constants used by instrument.
const (
	secCustom = 0
	secType   = 1
	secImport = 2
	secGlobal = 6
	secCode   = 10

	opLoop      = 0x03
	opIf        = 0x04
	opEnd       = 0x0b
	opCall      = 0x10
	opGlobalGet = 0x23
	opGlobalSet = 0x24
	opI32Const  = 0x41
	opI32Eqz    = 0x45
	opI32Sub    = 0x6b
	valI32      = 0x7f
	blockEmpty  = 0x40
)

// wasmReader reads a module's binary encoding.
type wasmReader struct {
	b   []byte
	pos int
	err error
}

func (r *wasmReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("at byte %d: %s", r.pos, fmt.Sprintf(format, args...))
	}
}

func (r *wasmReader) byte() byte {
	if r.pos >= len(r.b) {
		r.fail("unexpected end")
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

// u32 reads an unsigned LEB128 number of at most 32 bits.
func (r *wasmReader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail("LEB128 number too long")
	return 0
}

// leb skips a (signed or unsigned) LEB128 number of up to 64 bits.
func (r *wasmReader) leb() {
	for range 10 {
		if r.byte()&0x80 == 0 || r.err != nil {
			return
		}
	}
	r.fail("LEB128 number too long")
}

func (r *wasmReader) skip(n int) {
	if n < 0 || r.pos+n > len(r.b) {
		r.fail("unexpected end")
		r.pos = len(r.b)
		return
	}
	r.pos += n
}

func (r *wasmReader) name() string {
	n := int(r.u32())
	start := r.pos
	r.skip(n)
	if r.err != nil {
		return ""
	}
	return string(r.b[start:r.pos])
}

// limits skips a table's or memory's limits.
func (r *wasmReader) limits() {
	flags := r.byte()
	r.leb()
	if flags&1 != 0 {
		r.leb()
	}
}

// blockType skips a block type: empty, a value type, or a type index (s33).
func (r *wasmReader) blockType() {
	if r.pos < len(r.b) {
		switch r.b[r.pos] {
		case blockEmpty, 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
			r.pos++
			return
		}
	}
	r.leb()
}

// memarg skips a memory instruction's alignment (with a memory index when its bit 6
// is set) and offset.
func (r *wasmReader) memarg() {
	if r.u32()&0x40 != 0 {
		r.leb()
	}
	r.leb()
}

// appendU32 appends v as unsigned LEB128.
func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// appendS32 appends v as signed LEB128.
func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// instrument returns wasm with a fuel counter: a new mutable i32 global that every
// loop header (and the entry of every function without a loop) decrements, calling
// the imported pelato.tick to refuel it when it reaches zero. DWARF sections are
// dropped (their code offsets would be wrong); everything else is kept.
func instrument(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || !bytes.Equal(wasm[:4], []byte("\x00asm")) || binary.LittleEndian.Uint32(wasm[4:8]) != 1 {
		return nil, errors.New("wasmrun: instrumenting: not a WebAssembly 1 module")
	}
	out := make([]byte, 0, len(wasm)+len(wasm)/8)
	out = append(out, wasm[:8]...)
	r := &wasmReader{b: wasm, pos: 8}
	var (
		types          [][2]int // params, results of each function type
		importedFuncs  uint32
		importedGlobal uint32
		definedGlobals uint32
		tick           = -1
		sawGlobals     bool
		sawCode        bool
	)
	for r.pos < len(wasm) && r.err == nil {
		id := r.byte()
		size := int(r.u32())
		start := r.pos
		r.skip(size)
		if r.err != nil {
			break
		}
		body := wasm[start:r.pos]
		sr := &wasmReader{b: body}
		switch id {
		case secCustom:
			if name := sr.name(); sr.err == nil && bytes.HasPrefix([]byte(name), []byte(".debug_")) {
				continue
			}
		case secType:
			for n := sr.u32(); n > 0 && sr.err == nil; n-- {
				if form := sr.byte(); form != 0x60 {
					sr.fail("function type form 0x%x", form)
				}
				params := sr.u32()
				sr.skip(int(params))
				results := sr.u32()
				sr.skip(int(results))
				if len(types) > 1<<20 {
					sr.fail("too many types")
				}
				types = append(types, [2]int{int(params), int(results)})
			}
		case secImport:
			for n := sr.u32(); n > 0 && sr.err == nil; n-- {
				mod, field := sr.name(), sr.name()
				switch kind := sr.byte(); kind {
				case 0: // function
					ti := sr.u32()
					if mod == hostModule && field == hostTick {
						if int(ti) >= len(types) || types[ti] != [2]int{0, 1} {
							sr.fail("pelato.tick does not have the type () -> i32")
						}
						tick = int(importedFuncs)
					}
					importedFuncs++
				case 1: // table
					sr.byte()
					sr.limits()
				case 2: // memory
					sr.limits()
				case 3: // global
					sr.byte()
					sr.byte()
					importedGlobal++
				case 4: // tag
					sr.byte()
					sr.leb()
				default:
					sr.fail("import kind 0x%x", kind)
				}
			}
		case secGlobal:
			sawGlobals = true
			definedGlobals = sr.u32()
			if sr.err == nil {
				// The counter goes last: no other global's index changes.
				body = appendU32(nil, definedGlobals+1)
				body = append(body, sr.b[sr.pos:]...)
				body = append(body, valI32, 1, opI32Const)
				body = appendS32(body, fuelPerTick)
				body = append(body, opEnd)
			}
		case secCode:
			sawCode = true
			if !sawGlobals || tick < 0 {
				return nil, errors.New("wasmrun: instrumenting: the module has no globals or does not import pelato.tick (not built with pelato's harness)")
			}
			var err error
			body, err = instrumentCode(body, importedGlobal+definedGlobals, uint32(tick))
			if err != nil {
				return nil, fmt.Errorf("wasmrun: instrumenting code: %w", err)
			}
		}
		if sr.err != nil {
			return nil, fmt.Errorf("wasmrun: instrumenting section %d: %w", id, sr.err)
		}
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	if r.err != nil {
		return nil, fmt.Errorf("wasmrun: instrumenting: %w", r.err)
	}
	if !sawCode {
		return nil, errors.New("wasmrun: instrumenting: the module has no code")
	}
	return out, nil
}

// fuelCheck is the code inserted at a loop header: decrement the counter; when it
// was zero, refuel it from pelato.tick first.
func fuelCheck(global, tick uint32) []byte {
	var c []byte
	c = append(c, opGlobalGet)
	c = appendU32(c, global)
	c = append(c, opI32Eqz, opIf, blockEmpty, opCall)
	c = appendU32(c, tick)
	c = append(c, opGlobalSet)
	c = appendU32(c, global)
	c = append(c, opEnd, opGlobalGet)
	c = appendU32(c, global)
	c = append(c, opI32Const, 1, opI32Sub, opGlobalSet)
	c = appendU32(c, global)
	return c
}

// instrumentCode rewrites the code section's function bodies.
func instrumentCode(sec []byte, global, tick uint32) ([]byte, error) {
	check := fuelCheck(global, tick)
	r := &wasmReader{b: sec}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(sec)+len(sec)/8), n)
	var fn []byte
	for i := uint32(0); i < n && r.err == nil; i++ {
		size := int(r.u32())
		start := r.pos
		r.skip(size)
		if r.err != nil {
			break
		}
		var err error
		fn, err = instrumentBody(fn[:0], sec[start:r.pos], check)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

// instrumentBody appends body to out with check after every loop's block type, or at
// its start when it has no loop.
func instrumentBody(out, body, check []byte) ([]byte, error) {
	r := &wasmReader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- { // locals
		r.leb()
		r.byte()
	}
	if r.err != nil {
		return nil, r.err
	}
	head := r.pos
	out = append(out, body[:head]...)
	atEntry := len(out)
	out = append(out, check...) // removed again if a loop is found
	loops := 0
	copied := head
	for r.pos < len(body) && r.err == nil {
		op := r.byte()
		switch {
		case op == opLoop:
			r.blockType()
			out = append(out, body[copied:r.pos]...)
			out = append(out, check...)
			copied = r.pos
			loops++
		case op == 0x02 || op == opIf || op == 0x06: // block, if, try
			r.blockType()
		case op <= 0x01 || op == 0x05 || op == opEnd || op == 0x0a || op == 0x0f || op == 0x19 ||
			op == 0x1a || op == 0x1b || op == 0xd1 || (op >= 0x45 && op <= 0xc4):
			// no immediate
		case op == 0x07 || op == 0x08 || op == 0x09 || op == 0x0c || op == 0x0d || op == 0x18 ||
			op == opCall || op == 0x12 || (op >= 0x20 && op <= 0x26) || op == 0xd2 || op == 0x3f || op == 0x40 ||
			op == opI32Const || op == 0x42:
			r.leb()
		case op == 0x0e: // br_table
			for k := r.u32(); k > 0 && r.err == nil; k-- {
				r.leb()
			}
			r.leb()
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect
			r.leb()
			r.leb()
		case op == 0x1c: // select t*
			r.skip(int(r.u32()))
		case op >= 0x28 && op <= 0x3e:
			r.memarg()
		case op == 0x43:
			r.skip(4)
		case op == 0x44:
			r.skip(8)
		case op == 0xd0: // ref.null
			r.byte()
		case op == 0x1f: // try_table
			r.blockType()
			for k := r.u32(); k > 0 && r.err == nil; k-- {
				if kind := r.byte(); kind <= 1 {
					r.leb()
				}
				r.leb()
			}
		case op == 0xfc:
			switch sub := r.u32(); {
			case sub <= 7:
			case sub == 8 || sub == 10 || sub == 12 || sub == 14:
				r.leb()
				r.leb()
			case sub <= 17:
				r.leb()
			default:
				r.fail("unknown instruction 0xfc %d", sub)
			}
		case op == 0xfd:
			switch sub := r.u32(); {
			case sub <= 11 || sub == 92 || sub == 93:
				r.memarg()
			case sub == 12 || sub == 13:
				r.skip(16)
			case sub >= 21 && sub <= 34:
				r.byte()
			case sub >= 84 && sub <= 91:
				r.memarg()
				r.byte()
			}
		case op == 0xfe:
			if sub := r.u32(); sub == 3 {
				r.byte()
			} else {
				r.memarg()
			}
		default:
			r.fail("unknown instruction 0x%x", op)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	out = append(out, body[copied:]...)
	if loops > 0 {
		out = append(out[:atEntry], out[atEntry+len(check):]...)
	}
	return out, nil
}
