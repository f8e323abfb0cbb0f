// Package progressui shows the progress of pipeline commands (build, push, deploy,
// ...) to a person or a script: a live display on a terminal — one line per running
// task with its latest output, finished tasks and warnings scrolling above — plain
// lines when the output is not a terminal, or JSON lines for scripts. Every form is
// a pipeline.Reporter, so any command that reports through internal/pipeline can use
// it unchanged.
//
// The live display reads events this way: a Begin starts an operation (its Title
// and Total head the display); a Log with a Task marks that task running and, at
// level "info", becomes its current line; a Step with a Task marks it finished
// (failed when Level is "error" or Err is set); warnings and errors are printed
// above the display; an End prints its Message and clears the running tasks.
package progressui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/pelato-dev/pelato/internal/pipeline"
	"github.com/pelato-dev/pelato/internal/termsafe"
)

// Mode chooses the display.
type Mode string

// The modes.
const (
	// Auto is Live when the writer is a terminal and TERM is not "dumb", else Plain.
	Auto  Mode = "auto"
	Live  Mode = "tty"
	Plain Mode = "plain"
)

// Modes lists the values a --progress flag accepts.
var Modes = []string{string(Auto), string(Live), string(Plain)}

// Display is a Reporter that must be closed when the command ends.
type Display interface {
	pipeline.Reporter
	// Close stops redrawing and leaves the final state on screen.
	Close()
}

// New returns the display for w in mode.
func New(w io.Writer, mode Mode) Display {
	if mode == Live || (mode == Auto && IsTerminal(w)) {
		width := 0
		if f, ok := w.(*os.File); ok {
			width, _, _ = term.GetSize(int(f.Fd()))
		}
		return NewLive(w, width)
	}
	return plain{&pipeline.TextReporter{W: w}}
}

// IsTerminal reports whether w is a terminal a live display can redraw.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb"
}

type plain struct{ *pipeline.TextReporter }

func (plain) Close() {}

// JSONEvent is one line of the JSON event stream.
type JSONEvent struct {
	Kind    string `json:"kind"` // begin, step, log, end
	Time    string `json:"time"`
	Title   string `json:"title,omitempty"`
	Task    string `json:"task,omitempty"`
	Message string `json:"message,omitempty"`
	Level   string `json:"level,omitempty"`
	Done    int    `json:"done,omitempty"`
	Total   int    `json:"total,omitempty"`
	Error   string `json:"error,omitempty"`
}

// KindName names an event kind in the JSON stream.
func KindName(k pipeline.EventKind) string {
	switch k {
	case pipeline.Begin:
		return "begin"
	case pipeline.Step:
		return "step"
	case pipeline.Log:
		return "log"
	case pipeline.End:
		return "end"
	}
	return "unknown"
}

// JSONLines writes each event as one JSON object per line.
type JSONLines struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSONLines returns a JSON-lines reporter writing to w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{enc: json.NewEncoder(w)} }

// Event writes e.
func (j *JSONLines) Event(e pipeline.Event) {
	je := JSONEvent{Kind: KindName(e.Kind), Time: time.Now().UTC().Format(time.RFC3339Nano), Title: e.Title, Task: e.Task,
		Message: e.Message, Level: e.Level, Done: e.Done, Total: e.Total}
	if e.Err != nil {
		je.Error = e.Err.Error()
	}
	j.Write(je)
}

// Write writes any value as one line (a command's final result line).
func (j *JSONLines) Write(v any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(v)
}

// Close implements Display.
func (j *JSONLines) Close() {}

// task is a task's state in the live display.
type task struct {
	name    string
	start   time.Time
	line    string
	running bool
}

// LiveDisplay redraws the running tasks in place on a terminal.
type LiveDisplay struct {
	w     io.Writer
	width int

	mu      sync.Mutex
	title   string
	done    int
	total   int
	tasks   []*task
	byName  map[string]*task
	drawn   int // lines of the live area on screen
	frame   int
	closed  bool
	stop    chan struct{}
	stopped chan struct{}
	now     func() time.Time
}

// NewLive returns a live display on w, width columns wide (0: 80), redrawn ten
// times a second until Close.
func NewLive(w io.Writer, width int) *LiveDisplay {
	if width <= 0 {
		width = 80
	}
	l := &LiveDisplay{w: w, width: width, byName: map[string]*task{}, stop: make(chan struct{}), stopped: make(chan struct{}), now: time.Now}
	go l.loop()
	return l
}

func (l *LiveDisplay) loop() {
	defer close(l.stopped)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			l.frame++
			l.redraw()
			l.mu.Unlock()
		}
	}
}

// Event implements pipeline.Reporter.
func (l *LiveDisplay) Event(e pipeline.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	// The display draws with its own escape sequences; the project's text (task
	// names, messages quoting it) has its control characters escaped so that it
	// cannot drive the terminal. Tool output lines are stripped by printable.
	raw := e.Message
	e.Title, e.Task, e.Message = termsafe.Line(e.Title), termsafe.Line(e.Task), termsafe.Line(e.Message)
	if e.Err != nil {
		e.Err = errors.New(termsafe.Line(e.Err.Error()))
	}
	switch e.Kind {
	case pipeline.Begin:
		l.title, l.done, l.total = e.Title, 0, e.Total
		l.tasks, l.byName = nil, map[string]*task{}
	case pipeline.Log:
		if e.Task != "" {
			t := l.task(e.Task)
			if e.Level == "info" || e.Level == "" {
				t.line = printable(raw)
			}
		}
		if e.Level == "warning" || e.Level == "error" {
			l.above(fmt.Sprintf("%s%s%s", levelMark(e.Level), prefix(e.Task), e.Message))
		}
	case pipeline.Step:
		l.done, l.total = e.Done, max(l.total, e.Total)
		if e.Task != "" {
			t := l.task(e.Task)
			t.running = false
			mark := "\x1b[32m✓\x1b[0m"
			switch {
			case e.Level == "error" || e.Err != nil:
				mark = "\x1b[31m✗\x1b[0m"
			case strings.Contains(e.Message, "unchanged") || strings.Contains(e.Message, "already"):
				mark = "\x1b[2m·\x1b[0m"
			}
			l.above(fmt.Sprintf("%s %s %s", mark, t.name, e.Message))
		} else if e.Message != "" {
			l.above(e.Message)
		}
	case pipeline.End:
		for _, t := range l.tasks {
			t.running = false
		}
		msg := e.Message
		if e.Err != nil {
			msg = fmt.Sprintf("%s (%v)", msg, e.Err)
		}
		l.title = ""
		l.above(msg)
	}
	l.redraw()
}

func (l *LiveDisplay) task(name string) *task {
	if t, ok := l.byName[name]; ok {
		return t
	}
	t := &task{name: name, start: l.now(), running: true}
	l.byName[name] = t
	l.tasks = append(l.tasks, t)
	return t
}

// above prints a permanent line above the live area.
func (l *LiveDisplay) above(line string) {
	l.clear()
	fmt.Fprintln(l.w, line)
}

// clear erases the live area.
func (l *LiveDisplay) clear() {
	if l.drawn > 0 {
		fmt.Fprintf(l.w, "\x1b[%dA\x1b[J", l.drawn)
		l.drawn = 0
	}
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// redraw replaces the live area: the operation's title and count, then one line per
// running task with its elapsed time and latest output.
func (l *LiveDisplay) redraw() {
	l.clear()
	if l.closed || l.title == "" {
		return
	}
	var lines []string
	count := ""
	if l.total > 0 {
		count = fmt.Sprintf(" [%d/%d]", l.done, l.total)
	}
	lines = append(lines, fmt.Sprintf("%s %s%s", spinner[l.frame%len(spinner)], l.title, count))
	for _, t := range l.tasks {
		if !t.running {
			continue
		}
		el := l.now().Sub(t.start).Truncate(100 * time.Millisecond)
		lines = append(lines, fmt.Sprintf("  \x1b[36m%s\x1b[0m %5.1fs \x1b[2m%s\x1b[0m", t.name, el.Seconds(), t.line))
	}
	for _, s := range lines {
		fmt.Fprintln(l.w, truncate(s, l.width))
	}
	l.drawn = len(lines)
}

// Close stops the display, leaving what was printed above it.
func (l *LiveDisplay) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.clear()
	l.mu.Unlock()
	close(l.stop)
	<-l.stopped
}

func levelMark(level string) string {
	switch level {
	case "warning":
		return "\x1b[33mwarning:\x1b[0m "
	case "error":
		return "\x1b[31merror:\x1b[0m "
	}
	return ""
}

func prefix(task string) string {
	if task == "" {
		return ""
	}
	return task + ": "
}

// truncate cuts s to width visible columns (escape sequences do not count), ending
// it with a reset so no colour leaks.
func truncate(s string, width int) string {
	var b strings.Builder
	cols, esc := 0, false
	for _, r := range s {
		switch {
		case esc:
			b.WriteRune(r)
			if r >= '@' && r <= '~' && r != '[' {
				esc = false
			}
			continue
		case r == '\x1b':
			esc = true
			b.WriteRune(r)
			continue
		case r == '\t':
			r = ' '
		case r < ' ':
			continue
		}
		if cols >= width-1 {
			b.WriteString("…\x1b[0m")
			return b.String()
		}
		b.WriteRune(r)
		cols++
	}
	return b.String()
}

// escapes matches terminal escape sequences (CSI and two-character ones).
var escapes = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_])`)

// printable drops control characters (a build's colour codes, carriage returns) from
// a task's output line, so it cannot move the cursor of the display.
func printable(s string) string {
	s = escapes.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
