// Package hostile builds the hostile projects and files of pelato's hardening tests
// (testdata/hostile/ holds those that can be stored in git): workflows of thousands of
// tasks in a ring or on one wildcard, tasks naming thousands of missing files, files
// that are FIFOs, links to /dev/zero or gigabytes long. It also measures what running
// something costs (time, allocation, peak heap) through the Go runtime, so tests can
// assert bounds.
package hostile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Shape is the topology of a generated workflow.
type Shape int

// The shapes.
const (
	// Ring: task i consumes t<i> and publishes t<i+1>, the last feeds the first.
	Ring Shape = iota + 1
	// Wildcard: even tasks consume `a.>` and publish b.t<i>, odd ones consume `b.>`
	// and publish a.t<i>: every task feeds half the others, all in one loop.
	Wildcard
	// MissingCode: every task names its own code file, none of which exists, in a
	// tasks/ folder of as many other files.
	MissingCode
	// Chain: task i consumes t<i> and publishes t<i+1>, no loop (a plain big project).
	Chain
)

// Workflow returns a workflow.yaml of n tasks of the given shape, in flow style (a
// 10 000-task workflow fits pelato's 2 MiB cap), every task sharing tasks/task.go.
func Workflow(shape Shape, n int) []byte {
	var b strings.Builder
	b.WriteString("project_name: Hostile\ntasks:\n")
	for i := 0; i < n; i++ {
		src, dst, code := fmt.Sprintf("t%d", i), fmt.Sprintf("t%d", i+1), "task.go"
		switch shape {
		case Ring:
			dst = fmt.Sprintf("t%d", (i+1)%n)
		case Wildcard:
			src, dst = "a.>", fmt.Sprintf("b.t%d", i)
			if i%2 == 1 {
				src, dst = "b.>", fmt.Sprintf("a.t%d", i)
			}
		case MissingCode:
			code = fmt.Sprintf("missing_%d.go", i)
		}
		fmt.Fprintf(&b, "  - {name: T%d, type: processor_nats, code: %s, targets: [e], source_topic: %s, dest_topic: %s, component_name: c%d, version: 1.0.0}\n", i, code, src, dst, i)
	}
	return []byte(b.String())
}

// TaskSource is a valid task file.
const TaskSource = "package main\n\nfunc exec_task(arg string) string { return arg }\n"

// Project writes a project of n tasks of the given shape into dir and returns dir.
// For MissingCode, tasks/ holds n files whose names are near the missing ones.
func Project(dir string, shape Shape, n int) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tasks"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "workflow.yaml"), Workflow(shape, n), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "tasks", "task.go"), []byte(TaskSource), 0o644); err != nil {
		return "", err
	}
	if shape == MissingCode {
		for i := 0; i < n; i++ {
			if err := os.WriteFile(filepath.Join(dir, "tasks", fmt.Sprintf("present_%d.go", i)), []byte(TaskSource), 0o644); err != nil {
				return "", err
			}
		}
	}
	return dir, nil
}

// File kinds a hostile project may hold in place of a file pelato reads.
const (
	FIFO        = "fifo"          // a named pipe: opening it for reading blocks
	DevZero     = "dev-zero-link" // a symbolic link to /dev/zero: endless
	HugeSparse  = "huge-sparse"   // an 8 GiB file of no blocks
	DevNullLink = "dev-null-link" // a symbolic link to /dev/null: a device
)

// Kinds lists the file kinds.
func Kinds() []string { return []string{FIFO, DevZero, HugeSparse, DevNullLink} }

// MakeFile puts a file of the given kind at path (replacing what is there).
func MakeFile(path, kind string) error {
	_ = os.Remove(path)
	switch kind {
	case FIFO:
		return syscall.Mkfifo(path, 0o644)
	case DevZero:
		return os.Symlink("/dev/zero", path)
	case DevNullLink:
		return os.Symlink("/dev/null", path)
	case HugeSparse:
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Truncate(8 << 30)
	}
	return fmt.Errorf("hostile: unknown file kind %q", kind)
}

// Usage is what running something cost.
type Usage struct {
	// Took is the wall time.
	Took time.Duration
	// Allocated is the bytes allocated on the heap meanwhile (all goroutines).
	Allocated uint64
	// PeakHeap is the highest live heap seen meanwhile, above what was live before.
	PeakHeap uint64
}

func (u Usage) String() string {
	return fmt.Sprintf("%v, %.1f MB allocated, peak heap +%.1f MB", u.Took.Round(time.Millisecond), float64(u.Allocated)/1e6, float64(u.PeakHeap)/1e6)
}

// Measure runs f and reports its cost. The peak heap is sampled every millisecond
// through runtime/metrics (cheap: no stop-the-world), so it is a lower bound of the
// true peak, close for anything that holds memory longer than a sample.
func Measure(f func()) Usage {
	runtime.GC()
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(samples)
	base, allocs := samples[0].Value.Uint64(), samples[1].Value.Uint64()
	peak := base
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	f()
	took := time.Since(start)
	close(stop)
	wg.Wait()
	metrics.Read(samples)
	peak = max(peak, samples[0].Value.Uint64())
	return Usage{Took: took, Allocated: samples[1].Value.Uint64() - allocs, PeakHeap: peak - base}
}
