package progressui

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pelato-dev/pelato/internal/pipeline"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// screen replays the output on a simple terminal model: cursor-up and
// clear-to-end erase lines, so the result is what a person sees at the end.
func screen(out string) []string {
	var lines []string
	var cur []byte
	for i := 0; i < len(out); {
		if m := regexp.MustCompile(`^\x1b\[(\d*)([A-Za-z])`).FindStringSubmatch(out[i:]); m != nil {
			if m[2] == "A" {
				n := 1
				if m[1] != "" {
					n = atoi(m[1])
				}
				lines = lines[:max(0, len(lines)-n)]
			}
			i += len(m[0])
			continue
		}
		if out[i] == '\n' {
			lines = append(lines, ansi.ReplaceAllString(string(cur), ""))
			cur = nil
		} else {
			cur = append(cur, out[i])
		}
		i++
	}
	return lines
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestLiveDisplay(t *testing.T) {
	var out syncBuffer
	l := NewLive(&out, 60)
	l.Event(pipeline.Event{Kind: pipeline.Begin, Title: "Building 3 components", Total: 3})
	l.Event(pipeline.Event{Kind: pipeline.Log, Level: "info", Task: "c0", Message: "tinygo build \x1b[31m-target wasip2\r"})
	l.Event(pipeline.Event{Kind: pipeline.Log, Level: "info", Task: "c1", Message: "go: downloading a very long module path that will not fit in sixty columns at all"})
	mid := screen(out.String())
	if len(mid) != 3 || !strings.Contains(mid[0], "Building 3 components [0/3]") || !strings.Contains(mid[1], "c0") || !strings.Contains(mid[1], "tinygo build -target wasip2") {
		t.Fatalf("live area: %q", mid)
	}
	for _, line := range mid {
		if n := len([]rune(line)); n > 60 {
			t.Errorf("line of %d columns: %q", n, line)
		}
	}
	l.Event(pipeline.Event{Kind: pipeline.Step, Task: "c0", Done: 1, Total: 3, Message: "built in 1.2s (1.0 kB)"})
	l.Event(pipeline.Event{Kind: pipeline.Log, Level: "error", Task: "c1", Message: "tasks/c1.go:7:1: undefined: x"})
	l.Event(pipeline.Event{Kind: pipeline.Step, Task: "c1", Done: 2, Total: 3, Level: "error", Err: errors.New("compile error"), Message: "failed: compile error"})
	l.Event(pipeline.Event{Kind: pipeline.Step, Task: "c2", Done: 3, Total: 3, Message: "unchanged, not rebuilt"})
	l.Event(pipeline.Event{Kind: pipeline.End, Message: "1 built, 1 unchanged, 1 failed in 2s"})
	l.Close()
	got := screen(out.String())
	want := []string{
		"✓ c0 built in 1.2s (1.0 kB)",
		"error: c1: tasks/c1.go:7:1: undefined: x",
		"✗ c1 failed: compile error",
		"· c2 unchanged, not rebuilt",
		"1 built, 1 unchanged, 1 failed in 2s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("final screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPlainAndJSON(t *testing.T) {
	var out bytes.Buffer
	d := New(&out, Auto) // a buffer is not a terminal
	d.Event(pipeline.Event{Kind: pipeline.Step, Task: "c0", Done: 1, Total: 1, Message: "built"})
	d.Close()
	if out.String() != "[1/1] c0: built\n" {
		t.Errorf("plain: %q", out.String())
	}
	out.Reset()
	j := NewJSONLines(&out)
	j.Event(pipeline.Event{Kind: pipeline.Step, Task: "c0", Done: 1, Total: 2, Level: "error", Err: errors.New("boom"), Message: "failed: boom"})
	j.Write(map[string]string{"kind": "result"})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var ev JSONEvent
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &ev) != nil || ev.Kind != "step" || ev.Error != "boom" || ev.Done != 1 || ev.Time == "" {
		t.Errorf("json: %q", out.String())
	}
	if !strings.Contains(lines[0], `"task":"c0"`) {
		t.Errorf("not snake_case: %s", lines[0])
	}
}
