package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Task files named like generated files (main.go, and task_main.go, the name a
// renamed main.go would take; MAIN.go, which collides on case-insensitive file
// systems) are copied under names that depend only on the input: 20 runs, in fresh
// folders, write byte-identical output.
func TestGenCollisionsAreDeterministic(t *testing.T) {
	var first map[string]string
	for run := 0; run < 20; run++ {
		dir := copyProject(t, "../../testdata/hostile/collisions")
		os.WriteFile(filepath.Join(dir, "tasks", "multi", "MAIN.go"), []byte("package main\n\nfunc upper() string { return \"MAIN\" }\n"), 0o644)
		res, err := Gen(context.Background(), GenOptions{Root: dir})
		if err != nil || res.Failed() > 0 {
			t.Fatalf("run %d: %v %+v", run, err, res)
		}
		got := snapshot(t, filepath.Join(dir, GenDir))
		if first == nil {
			first = got
			continue
		}
		if len(got) != len(first) {
			t.Fatalf("run %d wrote %d files, run 0 wrote %d", run, len(got), len(first))
		}
		for name, content := range first {
			if got[name] != content {
				t.Fatalf("run %d: %s differs from run 0", run, name)
			}
		}
	}
	// Every task file is there, under a name that differs from every generated file's
	// also when case is ignored.
	// Files keeping their own names are placed first (task_main.go, util.go); then,
	// in sorted order, MAIN.go and main.go take the first free task<N>_ name.
	want := map[string]string{
		"multi/task_main.go":  "func shout",      // task_main.go keeps its name
		"multi/task2_MAIN.go": "func upper",      // MAIN.go: task_MAIN.go is task_main.go without case
		"multi/task3_main.go": "func exec_task",  // main.go
		"multi/util.go":       "func suffix",     // no clash
		"single/task_main.go": "func exec_task(", // a single-file task named main.go
		"multi/main.go":       "wit-bindgen-go",  // the harness
		"single/main.go":      "wit-bindgen-go",
	}
	for name, code := range want {
		if !strings.Contains(first[name], code) {
			t.Errorf("%s should hold %q; files: %v", name, code, keys(first))
		}
	}
	if !strings.Contains(first["multi/.pelato-record.json"], `"main.go": "task3_main.go"`) {
		t.Errorf("the record should list the renames:\n%s", first["multi/.pelato-record.json"])
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Two gen runs at once on one project: the second waits for the first, says who holds
// the lock, and both succeed with the same output.
func TestGenConcurrentRunsWaitForTheLock(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature")
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := Gen(ctx, GenOptions{Root: dir})
			if err == nil && res.Failed() > 0 {
				err = fmt.Errorf("%+v", res.Components)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, GenDir))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			t.Errorf("left %s behind", e.Name())
		}
	}
}

func TestGenSaysWhoHoldsTheLock(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature")
	ctx := context.Background()
	if _, err := Gen(ctx, GenOptions{Root: dir}); err != nil {
		t.Fatal(err)
	}
	unlock, err := LockGen(ctx, dir, "pelato build", nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log bytes.Buffer
	rep := ReporterFunc(func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(&log, e.Message)
	})
	done := make(chan error, 1)
	go func() {
		_, err := Gen(ctx, GenOptions{Root: dir, Reporter: rep})
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		said := log.String()
		mu.Unlock()
		if strings.Contains(said, fmt.Sprintf("waiting for pid %d", os.Getpid())) && strings.Contains(said, "(pelato build)") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the waiting run did not say who holds the lock: %q", said)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("gen finished while the lock was held: %v", err)
	default:
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// A waiting run gives up when its context ends, naming the holder.
	unlock, err = LockGen(ctx, dir, "pelato build", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := Gen(short, GenOptions{Root: dir}); err == nil || !strings.Contains(err.Error(), "held by pid") {
		t.Errorf("want a time-out naming the holder, got %v", err)
	}
}

// Temporary folders a killed run left behind are removed by the next run.
func TestGenRemovesStaleTemporaries(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature")
	ctx := context.Background()
	if _, err := Gen(ctx, GenOptions{Root: dir}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".tmp-temp_filter-123456", ".tmp-temp_filter-99.old"} {
		p := filepath.Join(dir, GenDir, name)
		os.MkdirAll(filepath.Join(p, "wit"), 0o755)
		os.WriteFile(filepath.Join(p, "main.go"), []byte("half written"), 0o644)
	}
	var msgs []string
	if _, err := Gen(ctx, GenOptions{Root: dir, Reporter: ReporterFunc(func(e Event) { msgs = append(msgs, e.Message) })}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, GenDir))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			t.Errorf("%s was not removed", e.Name())
		}
	}
	if !strings.Contains(strings.Join(msgs, "\n"), "removed 2 temporary folders") {
		t.Errorf("the cleanup was not reported: %q", msgs)
	}
}

// A lock file that is not a regular file is refused, not opened.
func TestGenLockFileMustBeRegular(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature")
	if _, err := Gen(context.Background(), GenOptions{Root: dir}); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, GenDir, LockFile)
	os.Remove(lock)
	if err := os.Symlink("/dev/zero", lock); err != nil {
		t.Fatal(err)
	}
	_, err := Gen(context.Background(), GenOptions{Root: dir})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("got %v", err)
	}
}
