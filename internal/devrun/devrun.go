// Package devrun runs a whole pelato workflow locally: an embedded NATS server (or an
// existing one), every task compiled to WASI by the host Go toolchain and served by a
// pool of wazero instances subscribed to its source_topic in a queue group, with the
// behaviour of its template's generated component (templates/rules.go), HTTP
// producers on their ports, key-value tasks writing to JetStream buckets, a live log,
// and a watch mode that re-checks on save and swaps in only the tasks that changed.
// `pelato dev` reaches it through internal/pipeline.
package devrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/lines"
	"github.com/pelato-dev/pelato/internal/plural"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/report"
	"github.com/pelato-dev/pelato/internal/wasmrun"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// Options configures a Runner.
type Options struct {
	// Root is the project folder.
	Root string
	// Templates is the template registry; nil means the embedded one.
	Templates *templates.Registry
	// NATSURL is an existing NATS server to use; "" starts an embedded one.
	NATSURL string
	// Host is where the embedded NATS server and the HTTP producers listen
	// (default 127.0.0.1; any other address gets a warning). The embedded server
	// takes a token made for the run, carried by URL.
	Host string
	// Port is the embedded NATS server's port: 0 takes 4222, or any free port when
	// 4222 is taken; -1 takes any free port.
	Port int
	// StoreDir holds the embedded server's JetStream data ("" = DefaultStoreDir).
	StoreDir string
	// CacheDir is the cache of compiled modules ("" = the user cache).
	CacheDir string
	// Limits bound each message's call (time, memory, stack).
	Limits wasmrun.Limits
	// Watch re-checks the project when a file changes and applies the changes.
	Watch bool
	// PollInterval is how often Watch looks at the files (default 50 ms).
	PollInterval time.Duration
	// Events receives the live log; nil discards it. It is called from many
	// goroutines.
	Events func(Event)
	// Record writes the server's URL where `pelato publish` finds it.
	Record bool
	// Base is the folder diagnostics paths are shown relative to ("" = Root).
	Base string
	// JetStreamMaxMemory and JetStreamMaxStore bound the embedded server's JetStream
	// memory and file storage, in bytes (0 = DefaultJetStreamMaxMemory,
	// DefaultJetStreamMaxStore).
	JetStreamMaxMemory, JetStreamMaxStore int64
	// MemoryBudget bounds the memory of all task instances together: instances ×
	// the per-instance cap (Limits.Memory) summed over the tasks may not exceed it, or
	// Start (or a reload) fails with a *BudgetError (0 = DefaultMemoryBudget).
	MemoryBudget uint64
	// HTTPPorts overrides the http_port of HTTP producers in dev, by component_name
	// or task name (workflow.yaml is not changed). A name that is no HTTP producer
	// is an error.
	HTTPPorts map[string]int
	// MaxHops bounds how many tasks a message may pass through (HopsHeader): past
	// it, a result is not published and the message fails with a *LoopError
	// (0 = DefaultMaxHops).
	MaxHops int
}

// Runner is a running workflow.
type Runner struct {
	opts    Options
	ctx     context.Context // calls; cancelled by Close after the tasks stopped
	cancel  context.CancelFunc
	rt      *wasmrun.Runtime
	ns      *server.Server
	nc      *nats.Conn
	ncDone  chan struct{}
	js      jetstream.JetStream
	url     string
	checker *check.TaskChecker

	mu    sync.Mutex // guards tasks and serialises Reload
	tasks map[string]*task
	// loaded is set once the first Reload succeeded: later ones (saves) serve new code
	// from wazero's interpreter while it is compiled natively; the first compiles
	// natively, so dev starts at full speed.
	loaded bool

	busy     atomic.Int64 // messages being handled
	lastDone atomic.Int64 // unix nanoseconds of the last message handled
	handled  atomic.Int64
	failed   atomic.Int64
	looped   atomic.Int64 // results not published because of MaxHops
	stopping atomic.Bool  // Stop was called: interrupted calls are not failures

	loopText string      // the loop warning last shown (Runner.mu)
	loops    atomic.Bool // the workflow has a loop: results carry HopsHeader

	upgrades sync.WaitGroup // background native compilations (Runner.upgrade)

	watchStop chan struct{}
	watchDone chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// ProblemsError is returned by Start when the project has errors: Text lists them as
// `pelato check` does.
type ProblemsError struct {
	Text string
}

func (e *ProblemsError) Error() string {
	return "the project has errors; fix them first:\n" + strings.TrimRight(e.Text, "\n")
}

// Start checks the project, starts NATS, compiles every task and wires it. Close stops
// everything it started.
func Start(ctx context.Context, opts Options) (*Runner, error) {
	if opts.Templates == nil {
		opts.Templates = templates.Default()
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 50 * time.Millisecond
	}
	if opts.Base == "" {
		opts.Base = opts.Root
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &Runner{opts: opts, ctx: rctx, cancel: cancel, tasks: map[string]*task{}, ncDone: make(chan struct{})}
	r.checker = check.NewTaskChecker(check.TaskCheckerOptions{})
	ok := false
	defer func() {
		if !ok {
			_ = r.Close()
		}
	}()
	rt, err := wasmrun.NewRuntime(ctx, wasmrun.Options{CacheDir: opts.CacheDir, Stdout: r.outputWriter(), Stderr: r.outputWriter(), Limits: opts.Limits})
	if err != nil {
		return nil, err
	}
	r.rt = rt
	if err := r.connect(); err != nil {
		return nil, err
	}
	if exposed(opts.Host) {
		what := "the HTTP producers (no authentication)"
		if opts.NATSURL == "" {
			what = "the embedded NATS server (its token is in the URL) and " + what
		}
		r.emit(Event{Kind: Warning, Text: fmt.Sprintf("--host %s: %s can be reached from other machines; the default, 127.0.0.1, keeps them on this one", opts.Host, what)})
	}
	// Taken before the first load, so a file saved while it runs is seen.
	snap := snapshot(opts.Root)
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.loaded = true
	r.mu.Unlock()
	if opts.Record {
		writeState(r.url, opts.Root)
	}
	if opts.Watch {
		r.watchStop, r.watchDone = make(chan struct{}), make(chan struct{})
		go r.watch(snap)
	}
	ok = true
	r.emit(Event{Kind: Ready, URL: r.url, Text: fmt.Sprintf("%s running; NATS at %s", plural.Count(len(r.tasks), "task"), r.url)})
	return r, nil
}

// connect starts the embedded NATS server, or dials Options.NATSURL.
func (r *Runner) connect() error {
	closed := nats.ClosedHandler(func(*nats.Conn) { close(r.ncDone) })
	if r.opts.NATSURL != "" {
		nc, err := nats.Connect(r.opts.NATSURL, nats.Name("pelato dev"), closed)
		if err != nil {
			return fmt.Errorf("connect to NATS at %s: %w", config.RedactURL(r.opts.NATSURL), err)
		}
		r.nc, r.url = nc, r.opts.NATSURL
	} else {
		store := r.opts.StoreDir
		if store == "" {
			var err error
			if store, err = DefaultStoreDir(r.opts.Root); err != nil {
				return err
			}
		}
		port, err := choosePort(r.opts.Host, r.opts.Port)
		if err != nil {
			return err
		}
		token, err := newToken()
		if err != nil {
			return err
		}
		maxMem, maxStore := r.opts.JetStreamMaxMemory, r.opts.JetStreamMaxStore
		if maxMem <= 0 {
			maxMem = DefaultJetStreamMaxMemory
		}
		if maxStore <= 0 {
			maxStore = DefaultJetStreamMaxStore
		}
		ns, err := startServer(r.opts.Host, port, store, token, maxMem, maxStore)
		if err != nil {
			return err
		}
		r.ns, r.url = ns, withToken(ns.ClientURL(), token)
		nc, err := nats.Connect(r.url, nats.InProcessServer(ns), nats.Name("pelato dev"), closed)
		if err != nil {
			return fmt.Errorf("connect to the embedded NATS server: %w", err)
		}
		r.nc = nc
	}
	js, err := jetstream.New(r.nc)
	if err == nil {
		actx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
		_, err = js.AccountInfo(actx)
		cancel()
	}
	if err == nil {
		r.js = js
	}
	return nil
}

// URL returns the NATS URL clients connect to.
func (r *Runner) URL() string { return r.url }

// Conn returns the Runner's NATS connection (tests and benchmarks publish with it).
func (r *Runner) Conn() *nats.Conn { return r.nc }

// Stats returns how many messages were handled and how many of those failed.
func (r *Runner) Stats() (handled, failed int64) { return r.handled.Load(), r.failed.Load() }

// Tasks returns the names of the running tasks, sorted.
func (r *Runner) Tasks() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.tasks))
	for n := range r.tasks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// WaitQuiet returns once, for quiet since the call or since the last message handled,
// no message has been handled and none is being handled; or when ctx ends.
func (r *Runner) WaitQuiet(ctx context.Context, quiet time.Duration) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	since := time.Now()
	for {
		last := time.Unix(0, r.lastDone.Load())
		if last.Before(since) {
			last = since
		}
		if r.busy.Load() == 0 && time.Since(last) >= quiet {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// finish records a handled message, which started at start and took d, and logs it.
func (r *Runner) finish(t *task, from, to string, start time.Time, d time.Duration, result string, err error) {
	r.finishAt(t, from, to, start, d, result, err, time.Now())
}

// finishAt is finish for a message whose handling ended at now.
func (r *Runner) finishAt(t *task, from, to string, start time.Time, d time.Duration, result string, err error, now time.Time) {
	if err != nil && r.stopping.Load() && errors.Is(err, context.Canceled) {
		// Interrupted by Stop: not handled, and not the task's failure.
		r.lastDone.Store(now.UnixNano())
		r.busy.Add(-1)
		return
	}
	r.handled.Add(1)
	if err != nil {
		r.failed.Add(1)
	}
	if r.opts.Events != nil {
		e := Event{Time: start, Kind: Message, Task: t.name, From: from, To: to, Duration: d, Result: result}
		if err != nil {
			e.Result, e.Error = "", describe(err)
			var pe *wasmrun.PanicError
			if errors.As(err, &pe) {
				e.Location = panicLocation(r.opts.Root, pe.Stack)
				e.Text = pe.Stack
			}
		}
		r.opts.Events(e)
	}
	r.lastDone.Store(now.UnixNano())
	r.busy.Add(-1)
}

// emit sends e to the live log.
func (r *Runner) emit(e Event) {
	if r.opts.Events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.opts.Events(e)
}

// Stop stops at once (Ctrl-C): calls in progress are interrupted, the messages the
// subscriptions hold and have not handled are dropped (a Warning says how many), then
// everything is closed as Close does.
func (r *Runner) Stop() error {
	r.stopping.Store(true)
	r.cancel() // interrupts calls, waits for instances, a reload in progress
	r.mu.Lock()
	dropped := 0
	for _, t := range r.tasks {
		for _, sub := range t.subs {
			if n, _, err := sub.Pending(); err == nil {
				dropped += n
			}
			_ = sub.Unsubscribe()
		}
	}
	r.mu.Unlock()
	if dropped > 0 {
		r.emit(Event{Kind: Warning, Text: fmt.Sprintf("stopping: %s not handled", plural.Count(dropped, "queued message"))})
	}
	return r.Close()
}

// Close stops the watch, drains every subscription (messages already received are
// handled), stops the HTTP listeners and the NATS server, and frees every instance.
func (r *Runner) Close() error {
	r.closeOnce.Do(func() {
		r.checker.Close()
		if r.watchStop != nil {
			close(r.watchStop)
			<-r.watchDone
		}
		r.mu.Lock()
		var wg sync.WaitGroup
		for _, t := range r.tasks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.stop(context.Background())
			}()
		}
		wg.Wait()
		r.tasks = map[string]*task{}
		r.mu.Unlock()
		var errs []error
		if r.nc != nil {
			if err := r.nc.Drain(); err != nil {
				r.nc.Close()
			}
			select {
			case <-r.ncDone:
			case <-time.After(30 * time.Second):
				r.nc.Close()
			}
		}
		r.cancel()
		r.upgrades.Wait()
		if r.rt != nil {
			errs = append(errs, r.rt.Close(context.Background()))
		}
		if r.ns != nil {
			r.ns.Shutdown()
			r.ns.WaitForShutdown()
		}
		if r.opts.Record {
			clearState()
		}
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// Reload checks the project and applies it: new tasks start, removed tasks stop,
// tasks whose code changed get new modules (swapped in without losing a message),
// tasks whose topics, bucket, port or instances changed are re-wired. When the
// project has errors nothing changes and a ProblemsError lists them.
func (r *Runner) Reload(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, err := check.Project(ctx, check.Options{Root: r.opts.Root, Registry: r.opts.Templates, Tasks: r.checker})
	if err := interrupted(ctx); err != nil {
		return err
	}
	if err != nil {
		return err
	}
	if check.HasErrors(res.Diagnostics) {
		return r.problems(res)
	}
	r.warnLoops(res)
	type plan struct {
		spec        workflow.Spec
		tpl         *templates.Template
		fingerprint string
		old         *task
		mod         *wasmrun.Module
		err         error
	}
	var plans []*plan
	want := map[string]bool{}
	overridden := map[string]bool{}
	for _, wt := range res.Workflow.Tasks {
		s := wt.Spec()
		tpl, _ := r.opts.Templates.Lookup(s.Type)
		for _, name := range []string{s.ComponentName, s.Name} {
			if p, ok := r.opts.HTTPPorts[name]; ok && tpl.HTTP {
				s.HTTPPort, overridden[name] = p, true
			}
		}
		fp, err := codeFingerprint(r.opts.Root, s, tpl)
		if err != nil {
			return fmt.Errorf("read task %s: %w", s.ComponentName, err)
		}
		want[s.ComponentName] = true
		plans = append(plans, &plan{spec: s, tpl: tpl, fingerprint: fp, old: r.tasks[s.ComponentName]})
	}
	specs := make([]workflow.Spec, len(plans))
	for i, p := range plans {
		specs[i] = p.spec
	}
	if err := r.checkBudget(specs); err != nil {
		return err
	}
	var unknown []string
	for name := range r.opts.HTTPPorts {
		if !overridden[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("--http-port %s: no HTTP producer (http_producer_nats task) has that component_name or name", strings.Join(unknown, ", "))
	}
	// A task whose native compilation is stopped below but which keeps its code (the
	// new code does not build, say) gets it started again.
	var cancelled []*task
	defer func() {
		for _, t := range cancelled {
			if m := t.mod.Load(); r.tasks[t.name] == t && m != nil && m.Interpreted() && t.stopUpgrade == nil {
				r.upgrade(t, m)
			}
		}
	}()
	// Build what changed, in parallel.
	quick := r.loaded
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, p := range plans {
		if p.old != nil && p.old.fingerprint == p.fingerprint && p.old.wiring == wiringOf(p.spec, p.tpl) {
			continue
		}
		if p.old != nil && p.old.stopUpgrade != nil {
			// Its code changed: a native compilation of the code it replaces would
			// only compete with this build for the CPU.
			p.old.cancelUpgrade()
			cancelled = append(cancelled, p.old)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p.mod, p.err = r.compile(ctx, p.spec, p.tpl, quick)
			if p.err == nil {
				// Instantiate before serving: the first message does not wait for it.
				if p.err = p.mod.Warm(ctx, 1); p.err != nil {
					_ = p.mod.Close(context.Background())
					p.mod = nil
				}
			}
		}()
	}
	wg.Wait()
	if err := interrupted(ctx); err != nil {
		// Builds stopped by the cancellation are no problem of the project.
		for _, p := range plans {
			if p.mod != nil {
				_ = p.mod.Close(context.Background())
			}
		}
		return err
	}
	var buildErrs []error
	for _, p := range plans {
		if p.err != nil {
			buildErrs = append(buildErrs, fmt.Errorf("%s: %w", p.spec.ComponentName, p.err))
		}
	}
	if len(buildErrs) > 0 {
		for _, p := range plans {
			if p.mod != nil {
				_ = p.mod.Close(context.Background())
			}
		}
		return r.buildProblems(buildErrs)
	}
	// Check the HTTP ports before touching anything.
	ports := map[int]string{}
	for _, p := range plans {
		if !p.tpl.HTTP {
			continue
		}
		if other, ok := ports[p.spec.HTTPPort]; ok {
			for _, q := range plans {
				if q.mod != nil {
					_ = q.mod.Close(context.Background())
				}
			}
			return fmt.Errorf("tasks %s and %s both listen on http_port %d: on one machine they cannot; give one of them another http_port", other, p.spec.ComponentName, p.spec.HTTPPort)
		}
		ports[p.spec.HTTPPort] = p.spec.ComponentName
	}
	// Stop removed tasks first (they may hold ports the new ones need).
	for name, t := range r.tasks {
		if !want[name] {
			t.stop(ctx)
			delete(r.tasks, name)
			r.emit(Event{Kind: Stopped, Task: name, Text: "stopped: no longer in workflow.yaml"})
		}
	}
	var errs []error
	subscribed := false
	for _, p := range plans {
		s := p.spec
		w := wiringOf(s, p.tpl)
		switch {
		case p.old != nil && p.old.wiring == w:
			p.old.spec.Store(&s)
			if p.mod != nil {
				p.old.swap(p.mod, p.fingerprint)
				r.emit(Event{Kind: Swapped, Task: s.ComponentName, Text: "new code serving" + tierNote(p.mod)})
				if p.mod.Interpreted() {
					r.upgrade(p.old, p.mod)
				}
			}
		default:
			if p.mod == nil { // unreachable: a re-wired task is always rebuilt
				continue
			}
			if p.old != nil {
				// Stop the old wiring first: the new one may need its port.
				p.old.stop(ctx)
				delete(r.tasks, s.ComponentName)
			}
			t := &task{r: r, name: s.ComponentName, tpl: p.tpl, wiring: w, fingerprint: p.fingerprint}
			t.spec.Store(&s)
			t.mod.Store(p.mod)
			if err := t.start(ctx); err != nil {
				t.stop(ctx)
				errs = append(errs, err)
				continue
			}
			r.tasks[s.ComponentName] = t
			subscribed = true
			kind, text := Started, "serving "+describeWiring(s, p.tpl, r.opts.Host)
			if p.old != nil {
				kind, text = Rewired, "re-wired: "+describeWiring(s, p.tpl, r.opts.Host)
			}
			r.emit(Event{Kind: kind, Task: s.ComponentName, Text: text + tierNote(p.mod)})
			if p.mod.Interpreted() {
				r.upgrade(t, p.mod)
			}
		}
	}
	if subscribed {
		// The server has every new subscription once it answers a ping: a message
		// published after this (after the Ready event) reaches its task, even on an
		// existing server at the other end of a network.
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := r.nc.FlushWithContext(fctx); err != nil {
			if ierr := interrupted(ctx); ierr != nil {
				err = ierr // Ctrl-C: no problem of the server's
			} else {
				err = fmt.Errorf("subscribing the tasks on the NATS server: %w", err)
			}
			errs = append(errs, err)
		}
		cancel()
	}
	return errors.Join(errs...)
}

// interrupted returns an error wrapping ctx's when ctx ended (Ctrl-C): what was cut
// short then is no problem of the project.
func interrupted(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pelato dev stopped: %w", err)
	}
	return nil
}

// tierNote tells that a module is interpreted until its native code is ready.
func tierNote(m *wasmrun.Module) string {
	if m.Interpreted() {
		return " (interpreted until its native code is compiled)"
	}
	return ""
}

// describeWiring says what a task listens to and where its results go.
func describeWiring(s workflow.Spec, tpl *templates.Template, host string) string {
	var b strings.Builder
	b.WriteString(s.SourceTopic)
	if tpl.HTTP {
		fmt.Fprintf(&b, " and http://%s:%d", host, s.HTTPPort)
	}
	switch {
	case tpl.Publishes:
		b.WriteString(" → " + s.DestTopic)
	case tpl.Kind == templates.KindKV:
		b.WriteString(" → bucket " + s.Bucket)
	}
	if s.Instances > 1 {
		fmt.Fprintf(&b, " (%d instances)", s.Instances)
	}
	return b.String()
}

// problems reports a check with errors.
func (r *Runner) problems(res *check.Result) error {
	var buf bytes.Buffer
	var shown []check.Diagnostic
	for _, d := range res.Diagnostics {
		if d.Severity <= check.Warning {
			shown = append(shown, d)
		}
	}
	_ = report.Write(&buf, "text", report.Input{Root: r.opts.Root, Base: r.opts.Base, Diagnostics: shown, Files: res.Files})
	r.emit(Event{Kind: Problems, Text: buf.String()})
	return &ProblemsError{Text: buf.String()}
}

// buildProblems reports tasks that did not compile.
func (r *Runner) buildProblems(errs []error) error {
	var b strings.Builder
	for _, err := range errs {
		var be *wasmrun.BuildError
		if errors.As(err, &be) {
			out := be.Output
			if r.opts.Base != "" {
				out = strings.ReplaceAll(out, r.opts.Base+string(filepath.Separator), "")
			}
			b.WriteString(out)
		} else {
			b.WriteString(err.Error())
		}
		if !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
	}
	r.emit(Event{Kind: Problems, Text: b.String()})
	return &ProblemsError{Text: b.String()}
}

// outputWriter turns what tasks print into Output events, a line at a time.
func (r *Runner) outputWriter() io.Writer {
	return &lines.Writer{Emit: func(line string) { r.emit(Event{Kind: Output, Text: line}) }}
}
