package devrun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pelato-dev/pelato/internal/taskcode"
	"github.com/pelato-dev/pelato/internal/userfile"
	"github.com/pelato-dev/pelato/internal/wasmrun"
	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/templates"
)

// wiring is what connects a task to the world: changing any of it re-wires the task.
// (dest_topic is runtime configuration: a change takes effect with the next message.)
type wiring struct {
	Type, Source, Bucket string
	HTTPPort, Instances  int
}

func wiringOf(s workflow.Spec, tpl *templates.Template) wiring {
	w := wiring{Type: s.Type, Source: s.SourceTopic, Instances: max(s.Instances, 1)}
	if tpl.HTTP {
		w.HTTPPort = s.HTTPPort
	}
	if tpl.Kind == templates.KindKV {
		w.Bucket = s.Bucket
	}
	return w
}

// task is one running task: its current code, its subscriptions (one per instance,
// in a queue group), its HTTP listener and its key-value bucket.
type task struct {
	r      *Runner
	name   string
	tpl    *templates.Template
	wiring wiring
	spec   atomic.Pointer[workflow.Spec]
	mod    atomic.Pointer[wasmrun.Module]
	// fingerprint hashes the code inputs of mod.
	fingerprint string
	// stopUpgrade cancels the native compilation of mod in progress, if any (Runner.mu).
	stopUpgrade context.CancelFunc

	subs []*nats.Subscription
	// batches are the subscriptions' handlers, in the order of subs.
	batches []*batch
	kv      jetstream.KeyValue
	srv     *http.Server
	done    chan struct{} // closed when the HTTP server has stopped
}

// codeFingerprint hashes what a task's module is built from: its files, the project's
// go.mod and go.sum and the template's kind.
func codeFingerprint(root string, s workflow.Spec, tpl *templates.Template) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "kind %s\n", tpl.Kind)
	paths, err := taskcode.Files(filepath.Join(root, workflow.TasksDir, filepath.FromSlash(s.Code)))
	if err != nil {
		return "", err
	}
	for _, p := range append(paths, filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum")) {
		b, err := userfile.Read(p, 64<<20) // task files, go.mod, go.sum: regular files only
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", p, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// compile builds the task's module, saying so when that takes long (a first build);
// quick serves a module just built from wazero's interpreter until Runner.upgrade has
// compiled it natively.
func (r *Runner) compile(ctx context.Context, s workflow.Spec, tpl *templates.Template, quick bool) (*wasmrun.Module, error) {
	done := wasmrun.WhileCompiling(wasmrun.SlowCompile, func(msg string) {
		r.emit(Event{Kind: Info, Task: s.ComponentName, Text: msg})
	})
	m, err := r.rt.CompileWith(ctx, wasmrun.Source{
		Path:       filepath.Join(r.opts.Root, workflow.TasksDir, filepath.FromSlash(s.Code)),
		Kind:       wasmrun.Kind(tpl.Kind),
		ProjectDir: r.opts.Root,
	}, wasmrun.CompileOptions{Instances: max(s.Instances, 1), Limits: r.opts.Limits, Quick: quick})
	done(err)
	return m, err
}

// upgrade compiles an interpreted module natively in the background and swaps the
// native one in, unless the task got other code or stopped meanwhile. The task serves
// from the interpreter until then (a save takes effect without waiting for wazero's
// optimizing compiler).
// Called with r.mu held.
func (r *Runner) upgrade(t *task, m *wasmrun.Module) {
	t.cancelUpgrade()
	ctx, cancel := context.WithCancel(r.ctx)
	t.stopUpgrade = cancel
	r.upgrades.Add(1)
	go func() {
		defer r.upgrades.Done()
		defer cancel()
		start := time.Now()
		nm, err := m.Native(ctx)
		if err == nil {
			// Instantiate before serving, as for any new code.
			if err = nm.Warm(ctx, 1); err != nil {
				_ = nm.Close(context.Background())
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				r.emit(Event{Kind: Warning, Task: t.name, Text: "compiling native code failed; the interpreter keeps serving: " + err.Error()})
			}
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.tasks[t.name] != t || t.mod.Load() != m {
			_ = nm.Close(context.Background())
			return
		}
		t.stopUpgrade = nil // done
		t.swap(nm, t.fingerprint)
		r.emit(Event{Kind: Info, Task: t.name, Text: fmt.Sprintf("native code serving (compiled in %s)", time.Since(start).Round(time.Millisecond))})
	}()
}

// cancelUpgrade stops the native compilation in progress for t, if any: new code
// supersedes it (called with Runner.mu held).
func (t *task) cancelUpgrade() {
	if t.stopUpgrade != nil {
		t.stopUpgrade()
		t.stopUpgrade = nil
	}
}

// start wires t: its bucket, its HTTP listener, then its subscriptions.
func (t *task) start(ctx context.Context) error {
	s := t.spec.Load()
	if t.tpl.Kind == templates.KindKV {
		if t.r.js == nil {
			return fmt.Errorf("task %s stores into bucket %q but the NATS server has no JetStream", t.name, s.Bucket)
		}
		kv, err := t.r.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: s.Bucket})
		if err != nil {
			return fmt.Errorf("task %s: open key-value bucket %q: %w", t.name, s.Bucket, err)
		}
		t.kv = kv
	}
	if t.tpl.HTTP {
		addr := net.JoinHostPort(t.r.opts.Host, strconv.Itoa(s.HTTPPort))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			if isAddrInUse(err) {
				return &PortInUseError{Task: t.name, Port: s.HTTPPort, Host: t.r.opts.Host}
			}
			return fmt.Errorf("task %s: listen on %s: %w", t.name, addr, err)
		}
		t.srv = &http.Server{Handler: http.HandlerFunc(t.serveHTTP), ReadHeaderTimeout: 10 * time.Second}
		t.done = make(chan struct{})
		go func() {
			defer close(t.done)
			_ = t.srv.Serve(ln)
		}()
	}
	for i := 0; i < t.wiring.Instances; i++ {
		b := &batch{t: t}
		sub, err := t.r.nc.QueueSubscribe(s.SourceTopic, t.name, b.onMessage)
		if err != nil {
			t.stop(ctx)
			return fmt.Errorf("task %s: subscribe to %s: %w", t.name, s.SourceTopic, err)
		}
		t.subs = append(t.subs, sub)
		t.batches = append(t.batches, b)
	}
	return nil
}

// stop drains t's subscriptions (the messages they already received are handled),
// stops its HTTP listener after the requests in progress, and closes its module.
func (t *task) stop(ctx context.Context) {
	t.cancelUpgrade()
	for _, sub := range t.subs {
		_ = sub.Drain()
	}
	if t.srv != nil {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_ = t.srv.Shutdown(sctx)
		cancel()
		<-t.done
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, sub := range t.subs {
		for sub.IsValid() && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
	}
	t.subs = nil
	// The subscriptions' last results are published before the task is gone (and
	// before Close drains the connection).
	for _, b := range t.batches {
		b.stopPublishing()
	}
	t.batches = nil
	if m := t.mod.Swap(nil); m != nil {
		_ = m.Close(context.Background())
	}
}

// swap makes m serve t's next messages; calls in progress finish on the old module,
// which is closed when they are done.
func (t *task) swap(m *wasmrun.Module, fingerprint string) {
	old := t.mod.Swap(m)
	t.fingerprint = fingerprint
	if old != nil {
		_ = old.Close(context.Background())
	}
}

// call runs exec_task on the current module; a module swapped out between loading it
// and calling it is retried on the new one.
func (t *task) call(in string) (string, error) {
	var out [1]wasmrun.Result
	t.callBatch([]wasmrun.Input{{Arg: in}}, out[:])
	return out[0].Out, out[0].Err
}

// callBatch runs exec_task on each input in order and fills out; inputs not run on a
// module swapped out meanwhile run on the new one.
func (t *task) callBatch(in []wasmrun.Input, out []wasmrun.Result) {
	done := 0
	for try := 0; done < len(in); try++ {
		m := t.mod.Load()
		if m == nil {
			fillErr(out[done:len(in)], errors.New("the task is stopping"))
			return
		}
		n, err := m.CallBatch(t.r.ctx, in[done:], out[done:])
		done += n
		if err != nil && (!errors.Is(err, wasmrun.ErrClosed) || try >= 100) {
			fillErr(out[done:len(in)], err)
			return
		}
	}
}

// fillErr gives every result err.
func fillErr(out []wasmrun.Result, err error) {
	for i := range out {
		out[i] = wasmrun.Result{Err: err}
	}
}

// callKV is call for a key-value task.
func (t *task) callKV(key, data string) (string, string, error) {
	for try := 0; ; try++ {
		m := t.mod.Load()
		if m == nil {
			return "", "", errors.New("the task is stopping")
		}
		k, v, err := m.CallKV(t.r.ctx, key, data)
		if errors.Is(err, wasmrun.ErrClosed) && try < 100 {
			continue
		}
		return k, v, err
	}
}

// maxBatch is the most messages of one subscription handed to the task in one call.
const maxBatch = 64

// batch gathers the messages of one subscription. While more messages are queued for
// the subscription, a message waits in the batch for the next one (up to maxBatch):
// a busy task then runs many messages per call into WebAssembly, which costs far less
// than a call each, and an idle one handles each message as it comes. Messages are
// handled in the order they came, each with its own result, error and log line.
//
// A batch's results are published (and logged) by a goroutine of their own while the
// subscription runs the next batch in the task: publishing then costs the task's
// instance no time, as in a wasmCloud host, where the messaging provider publishes
// while the component handles the next message. At most one batch of a subscription
// is being published at a time, and batches are published in the order they ran, so
// results keep the order of their messages; the task still runs one call at a time
// per instance (instances:).
type batch struct {
	t    *task
	msgs []*nats.Msg
	in   []wasmrun.Input

	// spare is the run to fill next; last is the run handed to a publisher most
	// recently (it may still be being published). Both are used by the
	// subscription's goroutine only.
	spare, last *run
	// inFlight counts the run being published (0 or 1).
	inFlight sync.WaitGroup
	// mu guards stopped: once the task is stopping, results are published on the
	// subscription's goroutine, so that task.stop can wait for the last publisher.
	mu      sync.Mutex
	stopped bool
}

// run is one batch that ran in the task: its messages and their results, to publish.
type run struct {
	msgs  []*nats.Msg
	out   []wasmrun.Result
	start time.Time
	spec  *workflow.Spec
}

// onMessage is the subscription's handler (called for one message at a time).
func (b *batch) onMessage(msg *nats.Msg) {
	b.t.r.busy.Add(1)
	b.msgs = append(b.msgs, msg)
	// The subscription counts the message being delivered as pending until its handler
	// returns: more than one means another is queued, and it will be delivered too (a
	// drained subscription delivers what it has queued).
	if n, _, err := msg.Sub.Pending(); err == nil && n > 1 && len(b.msgs) < maxBatch {
		return
	}
	b.flush()
	clear(b.msgs)
	b.msgs = b.msgs[:0]
}

// flush handles the batch's messages as the task's template does.
func (b *batch) flush() {
	t, r := b.t, b.t.r
	start := time.Now()
	spec := t.spec.Load()
	if t.tpl.Kind == templates.KindKV {
		// Storing in the bucket dominates: one message at a time.
		for _, msg := range b.msgs {
			start := time.Now()
			result, to, err := t.store(msg.Subject, msg.Data)
			r.finish(t, msg.Subject, to, start, time.Since(start), result, err)
		}
		return
	}
	ran := b.spare
	if ran == nil {
		ran = &run{}
	}
	ran.msgs = append(ran.msgs[:0], b.msgs...)
	ran.start, ran.spec = start, spec
	b.in = b.in[:0]
	for _, msg := range b.msgs {
		if len(msg.Data) > 0 {
			// No copy: the call copies the argument into the guest, and nothing
			// writes to a received message's data.
			b.in = append(b.in, wasmrun.Input{Arg: unsafe.String(unsafe.SliceData(msg.Data), len(msg.Data))})
		}
	}
	if cap(ran.out) < len(b.in) {
		ran.out = make([]wasmrun.Result, len(b.in), maxBatch)
	}
	ran.out = ran.out[:len(b.in)]
	t.callBatch(b.in, ran.out)
	clear(b.in)
	// The previous run is published: its buffers are free for the next one.
	b.inFlight.Wait()
	b.spare, b.last = b.last, ran
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		b.publish(ran)
		return
	}
	b.inFlight.Add(1)
	b.mu.Unlock()
	go func() {
		defer b.inFlight.Done()
		b.publish(ran)
	}()
}

// publish publishes a run's results in the order of its messages and logs each one.
func (b *batch) publish(ran *run) {
	t, r := b.t, b.t.r
	start, spec := ran.start, ran.spec
	// One monotonic clock reading per message (time.Since): it ends this message's
	// publishing and starts the next one's.
	prev := time.Now()
	j := 0
	for _, msg := range ran.msgs {
		if len(msg.Data) == 0 {
			r.finishAt(t, msg.Subject, spec.DestTopic, start, 0, "", templates.EmptyBodyError(msg.Subject), prev)
			continue
		}
		res := ran.out[j]
		j++
		err := res.Err
		if err == nil && t.tpl.Publishes {
			// The connection copies what it publishes: the result's bytes need no copy.
			if perr := r.publishResult(spec.DestTopic, unsafe.Slice(unsafe.StringData(res.Out), len(res.Out)), hopsOf(msg)+1); perr != nil {
				err = perr
			} else if msg.Reply != "" {
				if perr := r.nc.Publish(msg.Reply, []byte(res.Out)); perr != nil {
					err = fmt.Errorf("replying to %s: %w", strconv.Quote(msg.Reply), perr)
				}
			}
		}
		now := prev.Add(time.Since(prev))
		r.finishAt(t, msg.Subject, spec.DestTopic, start, res.Duration+now.Sub(prev), res.Out, err, now)
		start, prev = start.Add(res.Duration), now
	}
	clear(ran.msgs)
	clear(ran.out)
}

// stopPublishing makes the batch publish on the subscription's goroutine from now on
// and waits for the run being published, if any.
func (b *batch) stopPublishing() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.inFlight.Wait()
}

// process runs a string task on body and publishes the result to dest.
func (t *task) process(subject string, body []byte, dest string) (string, error) {
	if len(body) == 0 {
		return "", templates.EmptyBodyError(subject)
	}
	out, err := t.call(string(body))
	if err != nil {
		return "", err
	}
	if t.tpl.Publishes {
		// A request from outside: its result is the first hop.
		if err := t.r.publishResult(dest, []byte(out), 1); err != nil {
			return out, &publishError{err}
		}
	}
	return out, nil
}

// PortInUseError is the error of an HTTP producer whose port is taken.
type PortInUseError struct {
	Task string
	Port int
	Host string
}

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("task %s: http_port %d is already in use on %s (by another program, another task or another pelato dev); "+
		"run dev with --http-port %s=PORT to use another port in dev, change http_port in workflow.yaml, or stop the other program", e.Task, e.Port, e.Host, e.Task)
}

// publishError marks a failure to publish (HTTP 502).
type publishError struct{ error }

func (e *publishError) Unwrap() error { return e.error }

// store runs a key-value task on a JSON message and stores the returned pair.
func (t *task) store(subject string, body []byte) (value, to string, err error) {
	bucket := t.spec.Load().Bucket
	if len(body) == 0 {
		return "", "", templates.EmptyBodyError(subject)
	}
	key, data, err := templates.DecodeKVMessage(body)
	if err != nil {
		return "", "", fmt.Errorf("message on subject %s: %w", strconv.Quote(subject), err)
	}
	if key == "" {
		key = subject
	}
	k, v, err := t.callKV(key, data)
	if err != nil {
		return "", "", err
	}
	if k == "" {
		return "", "", templates.ErrEmptyKey
	}
	to = bucket + "/" + k
	if _, err := t.kv.Put(t.r.ctx, k, []byte(v)); err != nil {
		return "", to, fmt.Errorf("storing key %s in bucket %s: %w", strconv.Quote(k), strconv.Quote(bucket), err)
	}
	return v, to, nil
}

// serveHTTP answers one request as the HTTP template does.
func (t *task) serveHTTP(w http.ResponseWriter, req *http.Request) {
	r := t.r
	r.busy.Add(1)
	start := time.Now()
	spec := t.spec.Load()
	from := req.Method + " :" + strconv.Itoa(spec.HTTPPort)
	reply := func(status int, body string, err error) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if status >= 400 {
			body += "\n"
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
		to := spec.DestTopic
		r.finish(t, from, to, start, time.Since(start), body, err)
	}
	if origin := req.Header.Get("Origin"); origin != "" && origin != "http://"+req.Host {
		// A page of another site posting through the user's browser: refused.
		msg := fmt.Sprintf("cross-origin request from %s refused: pelato dev accepts requests from this origin or from clients that send no Origin (curl, pelato)", strconv.Quote(origin))
		reply(http.StatusForbidden, msg, errors.New(msg))
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		msg := templates.MethodNotAllowedMessage(strings.ToUpper(req.Method))
		reply(templates.StatusMethodNotAllowed, msg, errors.New(msg))
		return
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, templates.MaxHTTPBody+1))
	switch {
	case err != nil:
		msg := "reading the request body failed: " + err.Error()
		reply(templates.StatusEmptyBody, msg, errors.New(msg))
		return
	case len(data) > templates.MaxHTTPBody:
		msg := fmt.Sprintf("request body larger than %d bytes", templates.MaxHTTPBody)
		reply(templates.StatusTooLarge, msg, errors.New(msg))
		return
	case len(data) == 0:
		reply(templates.StatusEmptyBody, "empty request body", errors.New("empty request body"))
		return
	}
	out, err := t.process(from, data, spec.DestTopic)
	var pe *publishError
	switch {
	case errors.As(err, &pe):
		reply(templates.StatusPublishFailed, err.Error(), err)
	case err != nil:
		reply(templates.StatusTaskFailed, describe(err), err)
	default:
		reply(templates.StatusOK, out, nil)
	}
}

// describe is the one-line reason of a failed call. A panic is reported as the trap
// it is in production (templates/rules.go): the message failed, its instance is gone.
func describe(err error) string {
	var pe *wasmrun.PanicError
	if errors.As(err, &pe) {
		return "trap: " + templates.PanicMessage(pe.Value)
	}
	return err.Error()
}

// panicLocation returns the first frame of a panic's stack in the project's files, as
// a path relative to root with its line ("tasks/filter.go:8").
func panicLocation(root string, stack string) string {
	for _, line := range strings.Split(stack, "\n") {
		if !strings.HasPrefix(line, "\t") {
			continue
		}
		loc := strings.TrimSpace(line)
		if i := strings.LastIndex(loc, " +0x"); i >= 0 {
			loc = loc[:i]
		}
		if rel, err := filepath.Rel(root, loc); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return ""
}
