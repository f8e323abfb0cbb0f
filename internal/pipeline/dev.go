package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pelato-dev/pelato/internal/plural"

	"github.com/pelato-dev/pelato/internal/devrun"
)

// DevOptions configures Dev.
type DevOptions struct {
	devrun.Options
	// Send are messages to publish once every task runs; Dev then returns when the
	// workflow has settled (no message in flight) instead of running until ctx ends.
	Send []DevMessage
	// MaxWait bounds how long a Send run waits for the workflow to settle (default
	// DefaultDevMaxWait).
	MaxWait time.Duration
	// MaxMessages bounds how many messages a Send run handles (default
	// DefaultDevMaxMessages).
	MaxMessages int64
}

// The bounds of a `pelato dev --send` run.
const (
	DefaultDevMaxWait     = 60 * time.Second
	DefaultDevMaxMessages = 10000
)

// DevMessage is a message to publish: Data to Subject.
type DevMessage struct {
	Subject string
	Data    []byte
}

// DevResult summarises a Dev run.
type DevResult struct {
	URL     string `json:"url"`
	Handled int64  `json:"handled"`
	Failed  int64  `json:"failed"`
	// Looped counts the results not published because of the hop bound.
	Looped int64 `json:"looped"`
	// Waited is how long a Send run waited for the workflow to settle.
	Waited time.Duration `json:"waited_ns"`
	// StoppedBy names the bound that ended a Send run before the workflow settled
	// ("--max-wait", "--max-messages"); "" when it settled. InFlight is how many
	// messages were then still waiting.
	StoppedBy string `json:"stopped_by,omitempty"`
	InFlight  int64  `json:"in_flight,omitempty"`
}

// ErrTasksFailed is returned (wrapped) by a Send run in which a task failed.
var ErrTasksFailed = errors.New("a task failed")

// ErrNotSettled is returned (wrapped) by a Send run stopped by a bound.
var ErrNotSettled = errors.New("the workflow did not settle")

// Dev runs the workflow locally (see internal/devrun) until ctx ends — or, with
// Send, publishes the messages, waits until no message is in flight (or a bound
// stops it: MaxWait, MaxMessages; loops are cut by Options.MaxHops), says so in a
// devrun.Done event and stops.
func Dev(ctx context.Context, opts DevOptions) (*DevResult, error) {
	r, err := devrun.Start(ctx, opts.Options)
	if err != nil {
		return nil, err
	}
	emit := func(e devrun.Event) {
		if opts.Events != nil {
			e.Time = time.Now()
			opts.Events(e)
		}
	}
	res := &DevResult{URL: r.URL()}
	if len(opts.Send) == 0 {
		<-ctx.Done()
		err = r.Stop()
		res.Handled, res.Failed = r.Stats()
		res.Looped = r.Looped()
		return res, errors.Join(err, ctx.Err())
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultDevMaxWait
	}
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = DefaultDevMaxMessages
	}
	warned := map[string]bool{}
	for _, m := range opts.Send {
		if !r.Consumes(m.Subject) && !warned[m.Subject] {
			warned[m.Subject] = true
			emit(devrun.Event{Kind: devrun.Warning, Text: fmt.Sprintf("no task consumes %s; the tasks consume %s", m.Subject, strings.Join(r.SourceTopics(), ", "))})
		}
	}
	start := time.Now()
	for _, m := range opts.Send {
		if err := r.Conn().Publish(m.Subject, m.Data); err != nil {
			_ = r.Close()
			return nil, fmt.Errorf("publish to %s: %w", m.Subject, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, opts.MaxWait)
	inFlight, serr := r.Settle(wctx, opts.MaxMessages)
	cancel()
	res.Waited = time.Since(start)
	interrupted := ctx.Err()
	switch {
	case interrupted != nil:
	case errors.Is(serr, devrun.ErrMessageBound):
		res.StoppedBy = "--max-messages"
	case serr != nil:
		res.StoppedBy = "--max-wait"
	}
	res.InFlight = inFlight
	if interrupted != nil || res.StoppedBy != "" {
		err = r.Stop()
	} else {
		err = r.Close()
	}
	res.Handled, res.Failed = r.Stats()
	res.Looped = r.Looped()
	if interrupted != nil {
		return res, errors.Join(err, interrupted)
	}
	summary := plural.Count(int(res.Handled), "message") + " handled, "
	if res.Failed == 0 {
		summary += "none failed"
	} else {
		summary += fmt.Sprintf("%d failed", res.Failed)
	}
	if res.Looped > 0 {
		summary += fmt.Sprintf(" (%d stopped by --max-hops %d: the workflow has a loop)", res.Looped, r.MaxHops())
	}
	waited := res.Waited.Round(time.Millisecond)
	if res.StoppedBy != "" {
		bound := fmt.Sprintf("%s %s", res.StoppedBy, opts.MaxWait)
		if res.StoppedBy == "--max-messages" {
			bound = fmt.Sprintf("%s %d", res.StoppedBy, opts.MaxMessages)
		}
		text := fmt.Sprintf("stopped by %s after %s, %s still in flight: %s", bound, waited, plural.Count(int(inFlight), "message"), summary)
		emit(devrun.Event{Kind: devrun.Done, Duration: res.Waited, Text: text})
		return res, errors.Join(err, fmt.Errorf("%s: %w", text, ErrNotSettled))
	}
	emit(devrun.Event{Kind: devrun.Done, Duration: res.Waited, Text: fmt.Sprintf("settled after %s (no message in flight): %s", waited, summary)})
	if err == nil && res.Failed > 0 {
		err = fmt.Errorf("%d of %s failed: %w", res.Failed, plural.Count(int(res.Handled), "message"), ErrTasksFailed)
	}
	return res, err
}

// PublishOptions configures Publish.
type PublishOptions struct {
	// URL is the NATS server; "" finds a running `pelato dev`, else localhost:4222.
	URL string
	// Fallback is the URL used when no `pelato dev` runs and URL is "".
	Fallback string
	Subject  string
	Data     []byte
}

// Publish sends one message to a NATS server (a running `pelato dev` by default) and
// returns the URL it used.
func Publish(ctx context.Context, opts PublishOptions) (string, error) {
	url := opts.URL
	if url == "" {
		if u, ok := devrun.RunningURL(); ok {
			url = u
		} else if opts.Fallback != "" {
			url = opts.Fallback
		} else {
			url = "nats://localhost:4222"
		}
	}
	if err := ctx.Err(); err != nil {
		return url, err
	}
	return url, devrun.Publish(url, opts.Subject, opts.Data)
}
