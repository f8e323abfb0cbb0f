package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pelato-dev/pelato/internal/plural"

	"github.com/pelato-dev/pelato/internal/devrun"
)

// DevOptions configures Dev.
type DevOptions struct {
	devrun.Options
	// Send are messages to publish once every task runs; Dev then returns when the
	// workflow has been quiet for Quiet (instead of running until ctx ends).
	Send []DevMessage
	// Quiet is how long nothing must happen before a Send run ends (default 500 ms).
	Quiet time.Duration
	// MaxWait bounds a Send run (default 60 s).
	MaxWait time.Duration
}

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
}

// ErrTasksFailed is returned (wrapped) by a Send run in which a task failed.
var ErrTasksFailed = errors.New("a task failed")

// Dev runs the workflow locally (see internal/devrun) until ctx ends — or, with
// Send, publishes the messages, waits until the workflow is quiet and stops.
func Dev(ctx context.Context, opts DevOptions) (*DevResult, error) {
	r, err := devrun.Start(ctx, opts.Options)
	if err != nil {
		return nil, err
	}
	res := &DevResult{URL: r.URL()}
	if len(opts.Send) == 0 {
		<-ctx.Done()
	} else {
		if opts.Quiet <= 0 {
			opts.Quiet = 500 * time.Millisecond
		}
		if opts.MaxWait <= 0 {
			opts.MaxWait = 60 * time.Second
		}
		for _, m := range opts.Send {
			if err := r.Conn().Publish(m.Subject, m.Data); err != nil {
				_ = r.Close()
				return nil, fmt.Errorf("publish to %s: %w", m.Subject, err)
			}
		}
		if err := r.Conn().Flush(); err != nil {
			_ = r.Close()
			return nil, fmt.Errorf("publish: %w", err)
		}
		wctx, cancel := context.WithTimeout(ctx, opts.MaxWait)
		_ = r.WaitQuiet(wctx, opts.Quiet)
		cancel()
	}
	err = r.Close()
	res.Handled, res.Failed = r.Stats()
	if err == nil && len(opts.Send) > 0 && res.Failed > 0 {
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
