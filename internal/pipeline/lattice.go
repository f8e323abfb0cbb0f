package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/wadm"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// Defaults of deploy, remove and status.
const (
	// DefaultDeployTimeout bounds the wait for applications to be placed (or removed).
	DefaultDeployTimeout = 2 * time.Minute
	// DefaultPollInterval is how often a waiting command asks wadm for the status
	// when it cannot take the statuses wadm publishes (remove; deploy without them).
	DefaultPollInterval = 500 * time.Millisecond
	// DefaultStatusFallback is how often deploy asks wadm for the status while wadm
	// publishes none on wadm.status.<lattice>.<name> (it publishes only changes).
	DefaultStatusFallback = 2 * time.Second
	// latticeJobs bounds the requests in flight at once.
	latticeJobs = 8
)

// LatticeConn says how deploy, remove and status reach the lattice.
type LatticeConn struct {
	// Options are the connection settings (lattice.FromConfig).
	Options lattice.Options
	// Client, when set, is an open connection to use instead (the language server,
	// a pipeline of several steps); it is not closed.
	Client *lattice.Client
}

// open returns the client to use and a function that releases it.
func (lc LatticeConn) open(ctx context.Context) (*lattice.Client, func(), error) {
	if lc.Client != nil {
		return lc.Client, func() {}, nil
	}
	c, err := lattice.Connect(ctx, lc.Options)
	if err != nil {
		return nil, nil, err
	}
	return c, c.Close, nil
}

// names returns the lattice name and the server URL(s) without credentials.
func (lc LatticeConn) names() (string, string) {
	if lc.Client != nil {
		return lc.Client.Lattice(), lc.Client.URL()
	}
	lat, u := lc.Options.Lattice, lc.Options.URL
	if lat == "" {
		lat = lattice.DefaultLattice
	}
	if u == "" {
		u = "nats://127.0.0.1:4222"
	}
	return lat, config.RedactURL(u)
}

// app is one task of the workflow as a wadm application.
type app struct {
	task *workflow.Task
	spec workflow.Spec
	name string // the application name (wadm.AppName of the component name)
}

// projectApps loads the workflow of root (workflow rules only, no Go checks) and
// returns the selected tasks as applications. Tasks without a component_name cannot
// be mapped and are refused when selected by name, skipped otherwise.
func projectApps(ctx context.Context, root string, reg *templates.Registry, keys []string, requireClean bool) (*check.Result, []app, error) {
	res, err := check.Project(ctx, check.Options{Root: root, Registry: reg, SkipTasks: true})
	if err != nil {
		return nil, nil, err
	}
	if requireClean && check.HasErrors(res.Diagnostics) {
		return nil, nil, &CheckFailedError{Result: res}
	}
	tasks, err := selectTasks(res.Workflow, keys)
	if err != nil {
		return nil, nil, err
	}
	var out []app
	for _, t := range tasks {
		spec := t.Spec()
		if spec.ComponentName == "" {
			if len(keys) > 0 {
				return nil, nil, fmt.Errorf("task %s has no component_name; add one to workflow.yaml", t.Label())
			}
			continue
		}
		out = append(out, app{task: t, spec: spec, name: wadm.AppName(spec.ComponentName)})
	}
	return res, out, nil
}

// line returns the 1-based line of byte offset off in workflow.yaml.
func line(w *workflow.Workflow, off int) int {
	return w.File.Mapper.Point(off).Line
}

// versionLine returns the line of a task's `version:` value (0 when absent).
func versionLine(w *workflow.Workflow, t *workflow.Task) int {
	if f := t.Field("version"); f != nil {
		return line(w, f.Value.At().Start)
	}
	return 0
}

// targetLine returns the line of the `targets:` entry of a task naming label, or of
// the key when the entry cannot be found (0 when there is none).
func targetLine(w *workflow.Workflow, t *workflow.Task, label string) int {
	f := t.Field("targets")
	if f == nil {
		f = t.Field("target")
	}
	if f == nil {
		return 0
	}
	for _, it := range f.Value.Items {
		if it.Kind == workflow.Scalar && it.Value == label {
			return line(w, it.At().Start)
		}
	}
	return line(w, f.At().Start)
}

// hostCache gathers the lattice's hosts once per command, on first need.
type hostCache struct {
	once  sync.Once
	hosts []lattice.Host
	err   error
}

func (h *hostCache) get(ctx context.Context, c *lattice.Client) ([]lattice.Host, error) {
	h.once.Do(func() {
		h.hosts, h.err = c.Hosts(ctx, lattice.HostsOptions{Window: min(time.Second, c.Timeout()), Quiet: 200 * time.Millisecond})
	})
	return h.hosts, h.err
}

// pool runs fn(i) for i in [0, n) on at most jobs goroutines; it stops handing out
// work when ctx ends.
func pool(ctx context.Context, n, jobs int, fn func(i int)) {
	if jobs < 1 {
		jobs = latticeJobs
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, jobs) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

// firstFatal keeps the first error that makes every further request pointless.
type firstFatal struct {
	mu     sync.Mutex
	err    error
	cancel context.CancelFunc
}

// check records err when it is fatal, stops the rest, and reports whether it was.
func (f *firstFatal) check(err error) bool {
	var te *lattice.TimeoutError
	if !lattice.IsUnavailable(err) && !errors.As(err, &te) {
		return false
	}
	f.mu.Lock()
	if f.err == nil {
		f.err = err
		f.cancel()
	}
	f.mu.Unlock()
	return true
}

// stopReason says in a few words why a run of deploy or remove stopped early, for
// its summary and the components it left undone; the full error, with the fix, is
// what the run returns.
func stopReason(err error) string {
	var nw *lattice.NoWadmError
	var ce *lattice.ConnectError
	var le *lattice.LostError
	var te *lattice.TimeoutError
	switch {
	case errors.As(err, &nw):
		return fmt.Sprintf("no wadm answers on lattice %s", nw.Lattice)
	case errors.As(err, &ce):
		return "cannot reach NATS at " + ce.URL
	case errors.As(err, &le):
		return "lost the connection to NATS at " + le.URL
	case errors.As(err, &te):
		return fmt.Sprintf("wadm on lattice %s did not answer within %s", te.Lattice, te.After)
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	return err.Error()
}
