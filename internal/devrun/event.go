package devrun

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pelato-dev/pelato/internal/termsafe"
)

// EventKind classifies an Event.
type EventKind string

// The kinds of Event.
const (
	// Ready: every task is running; URL is the NATS server to connect clients to.
	Ready EventKind = "ready"
	// Message: a task handled a message (From → Task → To), or failed to (Error).
	Message EventKind = "message"
	// Started, Swapped, Rewired, Stopped: a task began serving, got new code, was
	// re-wired (topics, bucket, port, instances) or stopped.
	Started EventKind = "started"
	Swapped EventKind = "swapped"
	Rewired EventKind = "rewired"
	Stopped EventKind = "stopped"
	// Problems: a check or a build failed; Text holds the diagnostics in the format of
	// `pelato check`. The running version keeps serving.
	Problems EventKind = "problems"
	// Output: a line a task printed (fmt.Println, ...).
	Output EventKind = "output"
	// Done: a `pelato dev --send` run ended: Text says whether the workflow settled or
	// which bound stopped it, and what was handled; Duration is how long it waited.
	Done EventKind = "done"
	// Info and Warning: anything else worth a line.
	Info    EventKind = "info"
	Warning EventKind = "warning"
)

// Event is one line of the live log. Events are delivered from many goroutines.
type Event struct {
	Time time.Time `json:"time"`
	Kind EventKind `json:"kind"`
	// Task is the task's component_name.
	Task string `json:"task,omitempty"`
	// From is where a message came from: its subject, or "POST :8000".
	From string `json:"from,omitempty"`
	// To is where the result went: the dest_topic, or bucket/key for a KV task.
	To string `json:"to,omitempty"`
	// Duration is how long the task took.
	Duration time.Duration `json:"duration_ns,omitempty"`
	// Result is the task's result (the value, for a KV task).
	Result string `json:"result,omitempty"`
	// Error says why the message failed.
	Error string `json:"error,omitempty"`
	// Location is the task's file:line where a panic happened.
	Location string `json:"location,omitempty"`
	// Text is the event's message (diagnostics, output, notes).
	Text string `json:"text,omitempty"`
	// URL is the NATS URL (Ready).
	URL string `json:"url,omitempty"`
}

// Log writes events as the live log: one line per message (time, from → task → to,
// duration, result), in colour on a terminal, or JSON lines. It is safe for
// concurrent use.
type Log struct {
	mu sync.Mutex
	// W receives message lines (stdout); Status receives the rest (stderr). JSON
	// lines all go to W.
	W, Status io.Writer
	// JSON writes one JSON object per event.
	JSON bool
	// Color uses ANSI colours.
	Color bool
	// Width cuts lines to this many columns (0: no cut).
	Width int
	// Quiet leaves out successful message lines.
	Quiet bool
}

const (
	ansiReset = "\x1b[0m"
	ansiDim   = "\x1b[2m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiCyan  = "\x1b[36m"
	ansiYel   = "\x1b[33m"
)

// Event writes e.
func (l *Log) Event(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.JSON {
		if l.Quiet && e.Kind == Message && e.Error == "" {
			return
		}
		b, err := json.Marshal(e)
		if err == nil {
			l.W.Write(append(b, '\n'))
		}
		return
	}
	c := func(code, s string) string {
		if !l.Color || s == "" {
			return s
		}
		return code + s + ansiReset
	}
	stamp := c(ansiDim, e.Time.Format("15:04:05.000"))
	switch e.Kind {
	case Message:
		if l.Quiet && e.Error == "" {
			return
		}
		head := fmt.Sprintf("%s %s → %s", stamp, escape(e.From), c(ansiBold+ansiCyan, e.Task))
		plain := 13 + len([]rune(escape(e.From))) + 3 + len(e.Task)
		if e.To != "" && e.Error == "" {
			head += " → " + escape(e.To)
			plain += 3 + len([]rune(escape(e.To)))
		}
		d := formatDuration(e.Duration)
		head += " " + c(ansiDim, d)
		plain += 1 + len(d)
		if e.Error != "" {
			msg := e.Error
			if e.Location != "" {
				msg += " at " + e.Location
			}
			fmt.Fprintf(l.W, "%s %s\n", head, c(ansiRed, "✗ "+escape(msg)))
			return
		}
		result := escape(e.Result)
		if l.Width > 0 {
			result = cut(result, max(l.Width-plain-1, 10))
		}
		fmt.Fprintf(l.W, "%s %s\n", head, c(ansiGreen, result))
	case Problems:
		fmt.Fprintf(l.Status, "%s %s\n%s", stamp, c(ansiRed+ansiBold, "problems: the running version keeps serving"), ensureNewline(e.Text))
	case Output:
		fmt.Fprintf(l.Status, "%s %s %s\n", stamp, c(ansiDim, "task output:"), escape(e.Text))
	case Warning:
		fmt.Fprintf(l.Status, "%s %s %s\n", stamp, c(ansiYel, "warning:"), taskPrefix(e)+e.Text)
	case Ready:
		fmt.Fprintf(l.Status, "%s %s %s\n", stamp, c(ansiGreen+ansiBold, "ready:"), e.Text)
	default:
		fmt.Fprintf(l.Status, "%s %s%s\n", stamp, taskPrefix(e), e.Text)
	}
}

func taskPrefix(e Event) string {
	if e.Task == "" {
		return ""
	}
	return e.Task + ": "
}

func ensureNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

// formatDuration prints d with a precision that suits its size.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return d.Round(10 * time.Millisecond).String()
}

// escape makes s safe for one terminal line: control characters are shown escaped
// (termsafe.Line, as everywhere in the CLI).
func escape(s string) string { return termsafe.Line(s) }

// cut shortens s to width runes, marking the cut with "…".
func cut(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:max(width-1, 1)]) + "…"
}
