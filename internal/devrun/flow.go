package devrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/report"
)

// HopsHeader is the NATS header in which pelato dev counts the tasks a message has
// passed through: a task's result carries its message's count plus one. (Generated
// components do not carry it: it bounds loops in dev only.)
const HopsHeader = "Pelato-Hops"

// DefaultMaxHops is how many tasks a message may pass through in dev before its
// result is no longer published (Options.MaxHops): far more than a chain of tasks
// without a loop has, few enough to stop a loop at once.
const DefaultMaxHops = 32

// hopsOf returns the hop count msg carries (0 for a message from outside).
func hopsOf(msg *nats.Msg) int {
	if msg == nil || msg.Header == nil {
		return 0
	}
	n, err := strconv.Atoi(msg.Header.Get(HopsHeader))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// MaxHops returns the hop bound in force (Options.MaxHops or DefaultMaxHops).
func (r *Runner) MaxHops() int { return r.maxHops() }

// maxHops is the bound in force.
func (r *Runner) maxHops() int {
	if r.opts.MaxHops > 0 {
		return r.opts.MaxHops
	}
	return DefaultMaxHops
}

// LoopError is the error of a message whose result was not published because the
// message had already passed through Options.MaxHops tasks: a loop stopped.
type LoopError struct {
	Hops int
	To   string
}

func (e *LoopError) Error() string {
	return fmt.Sprintf("loop stopped: the message has passed through %d tasks (the bound, --max-hops); its result was not published to %s", e.Hops, strconv.Quote(e.To))
}

// publishResult publishes a task's result to dest as the hops-th step of a chain, or
// refuses with a *LoopError past the bound. The count travels in HopsHeader only
// while the workflow has a loop (the checker's PL301/PL302, see warnLoops).
func (r *Runner) publishResult(dest string, data []byte, hops int) error {
	if hops > r.maxHops() {
		r.looped.Add(1)
		return &LoopError{Hops: hops - 1, To: dest}
	}
	var err error
	if r.loops.Load() {
		err = r.nc.PublishMsg(&nats.Msg{Subject: dest, Data: data, Header: nats.Header{HopsHeader: []string{strconv.Itoa(hops)}}})
	} else {
		// Without a loop in the workflow a chain ends by itself: no count to carry
		// (a header costs about a tenth of a message's way through a task).
		err = r.nc.Publish(dest, data)
	}
	if err != nil {
		return fmt.Errorf("publishing to %s: %w", strconv.Quote(dest), err)
	}
	return nil
}

// Looped returns how many results were not published because of the hop bound.
func (r *Runner) Looped() int64 { return r.looped.Load() }

// warnLoops shows the checker's cycle and self-loop findings (PL301, PL302) as a
// warning when they change: dev bounds such loops by hops (Options.MaxHops).
// Called with r.mu held.
func (r *Runner) warnLoops(res *check.Result) {
	var loops []check.Diagnostic
	for _, d := range res.Diagnostics {
		if d.Code == check.CodeCycle || d.Code == check.CodeSelfLoop {
			loops = append(loops, d)
		}
	}
	r.loops.Store(len(loops) > 0)
	var buf bytes.Buffer
	if len(loops) > 0 {
		_ = report.Write(&buf, "text", report.Input{Root: r.opts.Root, Base: r.opts.Base, Diagnostics: loops, Files: res.Files})
	}
	text := buf.String()
	if text == r.loopText {
		return
	}
	r.loopText = text
	if text != "" {
		r.emit(Event{Kind: Warning, Text: fmt.Sprintf("the workflow has a loop; pelato dev stops a message after it has passed through %d tasks (--max-hops)\n%s", r.maxHops(), strings.TrimRight(text, "\n"))})
	}
}

// SourceTopics returns the source_topic of every running task, sorted, each once.
func (r *Runner) SourceTopics() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, t := range r.tasks {
		if s := t.spec.Load().SourceTopic; !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Consumes reports whether a running task consumes subject (its source_topic, a
// NATS pattern, matches it).
func (r *Runner) Consumes(subject string) bool {
	for _, p := range r.SourceTopics() {
		if SubjectMatches(p, subject) {
			return true
		}
	}
	return false
}

// SubjectMatches reports whether the NATS subject matches pattern ("*" is one token,
// a final ">" one or more).
func SubjectMatches(pattern, subject string) bool {
	pt, st := strings.Split(pattern, "."), strings.Split(subject, ".")
	for i, p := range pt {
		if p == ">" && i == len(pt)-1 {
			return len(st) > i
		}
		if i >= len(st) || (p != "*" && p != st[i]) {
			return false
		}
	}
	return len(pt) == len(st)
}

// ErrMessageBound is returned by Settle when more messages than its bound were handled.
var ErrMessageBound = errors.New("message bound reached")

// inFlight counts the messages received and not yet handled by the running tasks.
func (r *Runner) inFlight() int64 {
	n := r.busy.Load()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tasks {
		for _, sub := range t.subs {
			if p, _, err := sub.Pending(); err == nil && int64(p) > 0 {
				n += int64(p)
			}
		}
	}
	return n
}

// Settle returns once no message is in flight: every message published so far (by
// the caller on Conn, or by a task) has been handled, and the results of the last
// ones too. It returns ErrMessageBound once maxMessages (> 0) messages have been
// handled, and ctx's error when ctx ends first; inFlight then says how many were
// still waiting.
func (r *Runner) Settle(ctx context.Context, maxMessages int64) (inFlight int64, err error) {
	quiet := 0
	for {
		if maxMessages > 0 && r.handled.Load() >= maxMessages {
			return r.inFlight(), ErrMessageBound
		}
		// A round trip to the server: what was published before it has reached the
		// subscriptions (they share this connection) when it returns.
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ferr := r.nc.FlushWithContext(fctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return r.inFlight(), err
		}
		n := r.inFlight()
		if ferr == nil && n == 0 {
			// Twice in a row, a round trip apart: nothing was being handed over.
			if quiet++; quiet == 2 {
				return 0, nil
			}
			continue
		}
		quiet = 0
		select {
		case <-ctx.Done():
			return r.inFlight(), ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
