// Package pipeline runs pelato's operations on a checked project: generate, build,
// push, deploy, remove, status, and the local runtime (invoke, dev). The CLI and the
// language server both call it; each reports progress through a Reporter.
package pipeline

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pelato-dev/pelato/internal/termsafe"
)

// EventKind classifies a progress Event.
type EventKind int

// The event kinds.
const (
	// Begin starts an operation of Total steps.
	Begin EventKind = iota + 1
	// Step reports that Done of Total steps are finished.
	Step
	// Log carries a line of log output (Level: "info", "warning", "error").
	Log
	// End finishes the operation with a summary Message (Err set on failure).
	End
)

// Event is one progress notification.
type Event struct {
	Kind    EventKind
	Title   string // Begin: the operation, e.g. "Generating 3 components"
	Task    string // the task (component name) the event is about, if any
	Message string
	Level   string
	Done    int
	Total   int
	Err     error
}

// Reporter receives progress events. Implementations must be safe for concurrent use.
type Reporter interface {
	Event(Event)
}

// ReporterFunc adapts a function to a Reporter.
type ReporterFunc func(Event)

// Event calls f.
func (f ReporterFunc) Event(e Event) { f(e) }

// steps reports the Step events of an operation of total steps whose steps finish
// on many goroutines: each event gets the next Done count, in the order reported.
type steps struct {
	rep   Reporter
	total int
	mu    sync.Mutex
	done  int
}

// step reports ev as the next finished step (its Kind, Done and Total are set here).
func (s *steps) step(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done++
	ev.Kind, ev.Done, ev.Total = Step, s.done, s.total
	s.rep.Event(ev)
}

// Discard is a Reporter that drops every event.
var Discard Reporter = ReporterFunc(func(Event) {})

// TextReporter writes events as plain lines to W (for the CLI and logs).
type TextReporter struct {
	mu sync.Mutex
	W  io.Writer
	// Verbose also prints Log events at level "info".
	Verbose bool
}

// Event writes e as one line, with control characters of the project's text (task
// names, messages quoting it) escaped.
func (t *TextReporter) Event(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	prefix := ""
	if e.Task != "" {
		prefix = e.Task + ": "
	}
	prefix, e.Title, e.Message = termsafe.Line(prefix), termsafe.Line(e.Title), termsafe.Text(e.Message)
	if e.Err != nil {
		e.Err = errors.New(termsafe.Text(e.Err.Error()))
	}
	switch e.Kind {
	case Begin:
		fmt.Fprintln(t.W, e.Title)
	case Step:
		if e.Message != "" {
			fmt.Fprintf(t.W, "[%d/%d] %s%s\n", e.Done, e.Total, prefix, e.Message)
		}
	case Log:
		if e.Level != "info" || t.Verbose {
			fmt.Fprintf(t.W, "%s%s%s\n", levelPrefix(e.Level), prefix, e.Message)
		}
	case End:
		if e.Err != nil {
			fmt.Fprintf(t.W, "%s%s (%v)\n", prefix, e.Message, e.Err)
		} else {
			fmt.Fprintf(t.W, "%s%s\n", prefix, e.Message)
		}
	}
}

func levelPrefix(level string) string {
	switch level {
	case "warning":
		return "warning: "
	case "error":
		return "error: "
	}
	return ""
}
