package progressui

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/pelato-dev/pelato/internal/pipeline"
)

// The project's text reaches the terminal escaped, in the live display as in plain
// lines: a task name or a message cannot clear the screen or retitle the terminal.
func TestDisplaysEscapeProjectText(t *testing.T) {
	evil := "t\x1b]0;owned\x07\x1b[2J\r"
	for _, mode := range []Mode{Live, Plain} {
		var out bytes.Buffer
		d := New(&out, mode)
		d.Event(pipeline.Event{Kind: pipeline.Begin, Title: "Building " + evil, Total: 1})
		d.Event(pipeline.Event{Kind: pipeline.Log, Task: evil, Level: "warning", Message: "warn " + evil})
		d.Event(pipeline.Event{Kind: pipeline.Step, Task: evil, Done: 1, Total: 1, Message: "done " + evil})
		d.Event(pipeline.Event{Kind: pipeline.End, Message: "end " + evil, Err: errors.New("failed " + evil)})
		d.Close()
		got := out.String()
		for _, raw := range []string{"\x1b]0;", "\x1b[2J", "\x07", "\r"} {
			if strings.Contains(got, raw) {
				t.Errorf("%s: output carries %q raw:\n%q", mode, raw, got)
			}
		}
		if !strings.Contains(got, `\x1b[2J`) {
			t.Errorf("%s: the escape should be shown escaped:\n%q", mode, got)
		}
	}
}
