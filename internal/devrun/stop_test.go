package devrun

import (
	"context"
	"errors"
	"fmt"
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
