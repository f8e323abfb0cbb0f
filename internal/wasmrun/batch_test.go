package wasmrun

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCallBatch: each message of a batch has its own result, panic report (with the
// task's file and line), exit and time limit; a message that stops its instance fails
// alone and the ones after it run on another instance, each exactly once.
func TestCallBatch(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1, Limits: Limits{Timeout: time.Second}})
	src := fixture(t, "batch/batch.go")
	m := compile(t, rt, Source{Path: src})
	ctx := context.Background()
	in := []Input{
		{Arg: "keep:a"}, {Arg: "panic:boom"}, {Arg: "keep:b"}, {Arg: "loop"}, {Arg: "keep:c"},
		{Arg: "exit"}, {Arg: "keep:d"}, {Arg: ""}, {Arg: strings.Repeat("x", 3<<20)},
		// Four messages of 400 ms: longer than the limit together, not one by one.
		{Arg: "sleep:400"}, {Arg: "sleep:400"}, {Arg: "sleep:400"}, {Arg: "sleep:400"},
	}
	out := make([]Result, len(in))
	n, err := m.CallBatch(ctx, in, out)
	if n != len(in) || err != nil {
		t.Fatalf("CallBatch = %d, %v; want %d, nil", n, err, len(in))
	}
	// The instance that panicked was discarded (a trap), so keep starts again at b;
	// the one that looped too, so again at c; the exit replaced the next one.
	for i, want := range map[int]string{0: "a", 2: "b", 4: "c", 6: "d", 7: "", 8: in[8].Arg, 9: "slept", 12: "slept"} {
		if out[i].Err != nil || out[i].Out != want {
			t.Errorf("message %d (%.20q): %q, %v; want %q", i, in[i].Arg, out[i].Out, out[i].Err, want)
		}
	}
	var pe *PanicError
	if !errors.As(out[1].Err, &pe) || pe.Value != "boom" || !strings.Contains(pe.Stack, src+":21") {
		t.Errorf("message 1: %v; want the panic at %s:21", out[1].Err, src)
	}
	var le *LimitError
	if !errors.As(out[3].Err, &le) || le.Limit != LimitTime {
		t.Errorf("message 3: %v; want a time LimitError", out[3].Err)
	}
	var ee *ExitError
	if !errors.As(out[5].Err, &ee) || ee.Code != 3 {
		t.Errorf("message 5: %v; want an ExitError with code 3", out[5].Err)
	}
	for i := 9; i < 13; i++ {
		if out[i].Err != nil || out[i].Duration < 400*time.Millisecond {
			t.Errorf("message %d: %q, %v in %v; want slept for 400 ms or more", i, out[i].Out, out[i].Err, out[i].Duration)
		}
	}
	if d := out[3].Duration; d < time.Second {
		t.Errorf("the loop was stopped after %v, before its limit", d)
	}
}

// TestCallBatchCancelled: inputs after a cancellation are not run.
func TestCallBatchCancelled(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{MaxInstances: 1})
	m := compile(t, rt, Source{Path: fixture(t, "batch/batch.go")})
	if err := m.Warm(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	in := []Input{{Arg: "one"}, {Arg: "loop"}, {Arg: "keep:never"}}
	out := make([]Result, len(in))
	n, err := m.CallBatch(ctx, in, out)
	if n != 2 || err == nil || out[0].Out != "one" || !errors.Is(out[1].Err, context.DeadlineExceeded) {
		t.Fatalf("CallBatch = %d, %v, %+v; want 2 run (the loop interrupted) and an error", n, err, out[:2])
	}
	if got, err := m.Call(context.Background(), "keep:x"); err != nil || got != "x" {
		t.Errorf("after the cancellation: %q, %v; want x (the message after the loop never ran)", got, err)
	}
	if _, err := m.CallBatch(context.Background(), in, out[:1]); err == nil {
		t.Error("CallBatch with too little room for results succeeded")
	}
}

// TestCallBatchKV runs a batch on a kv task.
func TestCallBatchKV(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir(), Options{})
	m := compile(t, rt, Source{Path: fixture(t, "kv/kv.go")})
	in := []Input{{Arg: "a", Data: "héllo"}, {Arg: "", Data: ""}, {Arg: "b", Data: "x"}}
	out := make([]Result, len(in))
	if n, err := m.CallBatch(context.Background(), in, out); n != 3 || err != nil {
		t.Fatalf("CallBatch = %d, %v", n, err)
	}
	want := []Result{{Out: "A", Data: "6:5:héllo"}, {Out: "", Data: "0:0:"}, {Out: "B", Data: "1:1:x"}}
	for i := range want {
		if out[i].Out != want[i].Out || out[i].Data != want[i].Data || out[i].Err != nil {
			t.Errorf("message %d: %+v, want %+v", i, out[i], want[i])
		}
	}
}

// BenchmarkCallBatch runs kelvin on batches of n messages (one instance) and reports
// the time per message.
func BenchmarkCallBatch(b *testing.B) {
	rt := newRuntime(b, b.TempDir(), Options{MaxInstances: 1})
	m := compile(b, rt, Source{Path: fixture(b, "kelvin/kelvin.go")})
	ctx := context.Background()
	for _, n := range []int{1, 16, 64} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			in := make([]Input, n)
			for i := range in {
				in[i].Arg = "21.5"
			}
			out := make([]Result, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if k, err := m.CallBatch(ctx, in, out); k != n || err != nil || out[n-1].Out != "294.65" {
					b.Fatalf("CallBatch = %d, %v, %+v", k, err, out[n-1])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
		})
	}
}
