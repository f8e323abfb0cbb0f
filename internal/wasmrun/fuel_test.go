package wasmrun

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// section appends a module section.
func section(b []byte, id byte, body []byte) []byte {
	b = append(b, id)
	b = appendU32(b, uint32(len(body)))
	return append(b, body...)
}

// loopModule is a hand-assembled module like the ones pelato builds, in miniature: it
// imports pelato.tick, has one global, and exports "spin" (an endless loop) and "flat"
// (a function without a loop that returns 7).
func loopModule() []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = section(m, secType, []byte{2, 0x60, 0, 1, valI32, 0x60, 0, 0})
	imp := []byte{1, 6}
	imp = append(imp, "pelato"...)
	imp = append(imp, 4)
	imp = append(imp, "tick"...)
	imp = append(imp, 0, 0)
	m = section(m, secImport, imp)
	m = section(m, 3, []byte{2, 1, 0}) // spin: () -> (), flat: () -> i32
	m = section(m, secGlobal, []byte{1, valI32, 1, opI32Const, 0, opEnd})
	exp := []byte{2, 4}
	exp = append(exp, "spin"...)
	exp = append(exp, 0, 1, 4)
	exp = append(exp, "flat"...)
	exp = append(exp, 0, 2)
	m = section(m, 7, exp)
	spin := []byte{0, opLoop, blockEmpty, 0x0c, 0, opEnd, opEnd}
	flat := []byte{0, opI32Const, 7, opEnd}
	code := []byte{2}
	code = append(appendU32(code, uint32(len(spin))), spin...)
	code = append(appendU32(code, uint32(len(flat))), flat...)
	m = section(m, secCode, code)
	return section(m, secCustom, append([]byte{12}, ".debug_info\x00"...))
}

// TestInstrumentStopsLoop runs an instrumented endless loop with a tick that stops it
// on its third call: it is called once every fuelPerTick iterations, even while the
// garbage collector keeps asking to stop the world.
func TestInstrumentStopsLoop(t *testing.T) {
	wasm, err := instrument(loopModule())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  wazero.RuntimeConfig
	}{{"compiler", wazero.NewRuntimeConfig()}, {"interpreter", wazero.NewRuntimeConfigInterpreter()}} {
		t.Run(tc.name, func(t *testing.T) {
			wz := wazero.NewRuntimeWithConfig(ctx, tc.cfg)
			defer wz.Close(ctx)
			var ticks int
			stop := errors.New("stop")
			_, err := wz.NewHostModuleBuilder(hostModule).NewFunctionBuilder().
				WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, s []uint64) {
					ticks++
					if ticks == 3 {
						panic(stop)
					}
					s[0] = fuelPerTick
				}), nil, []api.ValueType{api.ValueTypeI32}).Export(hostTick).Instantiate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			mod, err := wz.Instantiate(ctx, wasm)
			if err != nil {
				t.Fatal(err)
			}
			stopGC := collectWhile() // stop-the-world requests while the guest runs
			start := time.Now()
			_, err = mod.ExportedFunction("spin").Call(ctx)
			stopGC()
			if !errors.Is(err, stop) || ticks != 3 {
				t.Fatalf("spin: %v after %d ticks; want it stopped by the third tick", err, ticks)
			}
			t.Logf("stopped after %v", time.Since(start))
			// A function without a loop is checked at its entry: a fresh instance's
			// counter runs out at call fuelPerTick+1.
			ticks = 0
			mod2, err := wz.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName("second"))
			if err != nil {
				t.Fatal(err)
			}
			flat := mod2.ExportedFunction("flat")
			for i := range fuelPerTick + 1 {
				if res, err := flat.Call(ctx); err != nil || res[0] != 7 {
					t.Fatalf("flat = %v, %v", res, err)
				}
				if want := i / fuelPerTick; ticks != want {
					t.Fatalf("%d ticks after %d calls of flat, want %d", ticks, i+1, want)
				}
			}
		})
	}
}

func TestInstrumentRejects(t *testing.T) {
	good := loopModule()
	for name, wasm := range map[string][]byte{
		"empty":     nil,
		"not wasm":  []byte("hello world, not a module"),
		"truncated": good[:len(good)-20],
		"bad op":    append(good[:len(good):len(good)], 0),
	} {
		if _, err := instrument(wasm); err == nil {
			t.Errorf("%s: instrumented without an error", name)
		}
	}
	// Without the pelato.tick import there is nothing to call.
	noTick := []byte(string(good))
	i := len("\x00asm\x01\x00\x00\x00") + 2 + 8 + 2 + 2 + 7 // the "t" of "tick"
	noTick[i] = 'x'
	if _, err := instrument(noTick); err == nil {
		t.Error("a module without pelato.tick was instrumented")
	}
}

// FuzzInstrument: instrument never panics and what it accepts it can instrument again.
func FuzzInstrument(f *testing.F) {
	f.Add(loopModule())
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out, err := instrument(wasm)
		if err != nil {
			return
		}
		if _, err := instrument(out); err != nil {
			t.Fatalf("instrumented module does not instrument again: %v", err)
		}
	})
}

// collectWhile runs garbage collections back to back (each a stop-the-world request)
// until the returned function is called; that function returns once they stopped.
func collectWhile() (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			default:
				runtime.GC()
			}
		}
	}()
	return func() { close(done); <-stopped }
}
