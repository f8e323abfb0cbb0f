package devrun

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pelato-dev/pelato/internal/workflow"
)

// snapshot fingerprints the files a reload reads: workflow.yaml, go.mod, go.sum and
// everything under tasks/ (names, sizes, modification times). Polling a handful of
// files costs microseconds and works on every platform and file system.
func snapshot(root string) uint64 {
	h := fnv.New64a()
	add := func(p string, info fs.FileInfo) {
		fmt.Fprintf(h, "%s|%d|%d|%v\n", p, info.Size(), info.ModTime().UnixNano(), info.Mode())
	}
	for _, name := range []string{workflow.FileName, "go.mod", "go.sum"} {
		if info, err := os.Stat(filepath.Join(root, name)); err == nil {
			add(name, info)
		}
	}
	_ = filepath.WalkDir(filepath.Join(root, workflow.TasksDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := os.Stat(p); err == nil {
			add(p, info)
		}
		return nil
	})
	return h.Sum64()
}

// watch re-checks and applies the project whenever its files change from last, until
// Close.
func (r *Runner) watch(last uint64) {
	defer close(r.watchDone)
	tick := time.NewTicker(r.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.watchStop:
			return
		case <-tick.C:
		}
		now := snapshot(r.opts.Root)
		if now == last {
			continue
		}
		// Let an editor finish writing (some write a file in several steps).
		for {
			select {
			case <-r.watchStop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			again := snapshot(r.opts.Root)
			if again == now {
				break
			}
			now = again
		}
		last = now
		ctx, cancel := context.WithCancel(r.ctx)
		go func() {
			select {
			case <-r.watchStop:
				cancel()
			case <-ctx.Done():
			}
		}()
		start := time.Now()
		err := r.Reload(ctx)
		cancel()
		var pe *ProblemsError
		switch {
		case errors.As(err, &pe):
			// Already shown; the running version keeps serving.
		case err != nil:
			r.emit(Event{Kind: Warning, Text: err.Error() + " (the running version keeps serving)"})
		default:
			r.emit(Event{Kind: Info, Text: fmt.Sprintf("reloaded in %s", time.Since(start).Round(time.Millisecond))})
		}
	}
}
