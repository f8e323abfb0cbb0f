package devrun

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
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

// TestCloseDrainsPublishing closes dev while a burst flows through a task whose
// results are published by a goroutine of their own (batch.publish), slowed down by
// a live log that takes its time: every message dev handled has its result on the
// server, exactly once and in order, by the time Close returns — Close waits for
// the last publisher before it closes the connection. dev uses an existing NATS server here, so the results can
// be counted after dev has gone.
func TestCloseDrainsPublishing(t *testing.T) {
	requireGo(t)
	ns, err := startServer("127.0.0.1", -1, t.TempDir(), "", DefaultJetStreamMaxMemory, DefaultJetStreamMaxStore)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	var got []string
	sub, err := nc.Subscribe("a.out", func(m *nats.Msg) {
		mu.Lock()
		got = append(got, string(m.Data))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	sub.SetPendingLimits(-1, -1)
	dir := project(t, oneProcessor, map[string]string{"a.go": burstTask})
	slowLog := func(e Event) {
		if e.Kind == Message {
			time.Sleep(time.Millisecond)
		}
	}
	r, err := Start(context.Background(), Options{Root: dir, NATSURL: ns.ClientURL(), StoreDir: t.TempDir(), CacheDir: cacheDir, Events: slowLog})
	if err != nil {
		t.Fatal(err)
	}
	const n = 600
	for i := 0; i < n; i++ {
		if err := nc.Publish("a.in", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if h, _ := r.Stats(); h >= 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("fewer than 100 messages handled in 30 s")
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	handled, failed := r.Stats()
	if err := nc.Flush(); err != nil { // every result dev published has reached us
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	// Every message was received before Close (the subscription drains them), so
	// every one was handled by the time Close returned, and has its result.
	if handled != n || failed != 0 || len(got) != n {
		t.Fatalf("after Close: %d messages handled (%d failed) of %d, %d results", handled, failed, n, len(got))
	}
	for i, g := range got {
		if want := "ok:" + strconv.Itoa(i); g != want {
			t.Fatalf("result %d = %q, want %q", i, g, want)
		}
	}
}
