package devrun

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestInterruptDuringFirstCompile: Ctrl-C while the first compile runs is not a
// problem of the project: Start returns the cancellation, no ProblemsError, and no
// "problems" event.
func TestInterruptDuringFirstCompile(t *testing.T) {
	requireGo(t)
	// A private cache and a task of its own: the first compile runs `go build`.
	dir := project(t, oneProcessor, map[string]string{"a.go": fmt.Sprintf(versionTask, time.Now().String())})
	ev := newEvents()
	ctx, cancel := context.WithCancel(context.Background())
	// The check takes some 50 ms, the compile over a second: cancel while compiling.
	time.AfterFunc(400*time.Millisecond, cancel)
	_, err := Start(ctx, Options{Root: dir, Port: -1, StoreDir: t.TempDir(), CacheDir: t.TempDir(), Events: ev.add})
	var pe *ProblemsError
	if !errors.Is(err, context.Canceled) || errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want the cancellation and no ProblemsError", err, err)
	}
	for _, e := range ev.snapshot() {
		if e.Kind == Problems {
			t.Errorf("a problems event after Ctrl-C: %q", e.Text)
		}
	}
}

const slowTask = `package main

import "time"

func exec_task(arg string) string {
	time.Sleep(200 * time.Millisecond)
	return "slow:" + arg
}
`

// TestStopWithQueuedMessages: Stop (Ctrl-C) with a slow task and a deep queue
// returns within 2 s, says how many queued messages were not handled, and does not
// count the interrupted ones as failures.
func TestStopWithQueuedMessages(t *testing.T) {
	requireGo(t)
	dir := project(t, oneProcessor, map[string]string{"a.go": slowTask})
	ev := newEvents()
	r, err := Start(context.Background(), Options{Root: dir, Port: -1, StoreDir: t.TempDir(), CacheDir: cacheDir, Events: ev.add})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		if err := r.Conn().Publish("a.in", []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	ev.wait(t, "a first message handled", 10*time.Second, func(e Event) bool { return e.Kind == Message })
	time.Sleep(100 * time.Millisecond) // a batch is running
	start := time.Now()
	if err := r.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Stop took %s with queued messages, want < 2 s", d)
	} else {
		t.Logf("Stop took %s", d)
	}
	ev.wait(t, "the dropped messages", time.Second, func(e Event) bool {
		return e.Kind == Warning && strings.Contains(e.Text, "queued messages not handled")
	})
	if _, failed := r.Stats(); failed != 0 {
		t.Errorf("%d messages failed; interrupted ones are not failures", failed)
	}
}
