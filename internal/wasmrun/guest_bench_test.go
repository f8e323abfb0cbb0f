package wasmrun

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// guestLoop is added to a task to time exec_task inside the guest, with no call from
// the host per message.
const guestLoop = `package main

var pelatoBenchSink string

//go:wasmexport pelato_bench_loop
func pelatoBenchLoop(n uint32) {
	for i := uint32(0); i < n; i++ {
		pelatoBenchSink = exec_task(pelatoBenchInput)
	}
}
`

// BenchmarkGuestExec times exec_task of examples/temperature's tasks compiled to
// WebAssembly and run natively by wazero, looping inside the guest: the floor of what
// one message costs in `pelato dev`, whatever the host does around the call.
func BenchmarkGuestExec(b *testing.B) {
	for _, tc := range []struct{ task, input string }{{"convert", "21.5"}, {"filter", "294.65"}} {
		b.Run(tc.task, func(b *testing.B) {
			src, err := os.ReadFile(filepath.Join("..", "..", "examples", "temperature", "tasks", tc.task+".go"))
			if err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "task.go"), src, 0o644); err != nil {
				b.Fatal(err)
			}
			loop := guestLoop + "\nconst pelatoBenchInput = \"" + tc.input + "\"\n"
			if err := os.WriteFile(filepath.Join(dir, "loop.go"), []byte(loop), 0o644); err != nil {
				b.Fatal(err)
			}
			rt := newRuntime(b, b.TempDir(), Options{MaxInstances: 1})
			m := compile(b, rt, Source{Path: dir})
			ctx := context.Background()
			inst, err := m.NewInstance(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer inst.Close(ctx)
			f := inst.mod.ExportedFunction("pelato_bench_loop")
			st := []uint64{1000}
			if err := f.CallWithStack(ctx, st); err != nil { // warm up
				b.Fatal(err)
			}
			b.ResetTimer()
			st[0] = uint64(b.N)
			if err := f.CallWithStack(ctx, st); err != nil {
				b.Fatal(err)
			}
		})
	}
}
