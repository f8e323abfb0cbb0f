package lsp

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/pipeline"
)

// TestCommandLogIsBounded: a command whose task prints 100 MB (200 000 lines of
// 500 bytes, and one line of 10 MB) sends a bounded number of log messages, each
// bounded, and one note of what was left out (issue 18).
func TestCommandLogIsBounded(t *testing.T) {
	c := newClient(t, clientOptions{setup: func(s *Server) {
		s.RegisterCommand("test.noisy", Command{Title: "noisy", Run: func(_ context.Context, _ json.RawMessage, r pipeline.Reporter) (any, error) {
			r.Event(pipeline.Event{Kind: pipeline.Log, Level: "info", Task: "t", Message: strings.Repeat("x", 10<<20)})
			line := strings.Repeat("y", 500)
			for range 200000 {
				r.Event(pipeline.Event{Kind: pipeline.Log, Task: "t", Message: line})
			}
			r.Event(pipeline.Event{Kind: pipeline.Log, Level: "error", Task: "t", Message: "the error at the end"})
			return nil, nil
		}})
	}})
	c.initialize(fullCaps(), "")
	if err := c.call(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: "test.noisy"}, nil); err != nil {
		t.Fatal(err)
	}
	c.waitFor("the note", func(m message) bool {
		return m.method == protocol.MethodWindowLogMessage && contains(m.params, "more log lines") && contains(m.params, "not shown")
	})
	c.waitFor("the outcome", func(m message) bool { return m.method == protocol.MethodWindowShowMessage })
	n, bytes, sawError := 0, 0, false
	for _, m := range c.messages() {
		if m.method != protocol.MethodWindowLogMessage {
			continue
		}
		n++
		bytes += len(m.params)
		if len(m.params) > maxLogLine+512 {
			t.Errorf("a log message of %d bytes", len(m.params))
		}
		sawError = sawError || contains(m.params, "the error at the end")
	}
	if n > maxLogLines+maxLogLines+10 || bytes > 2*maxLogBytes {
		t.Errorf("%d log messages, %d bytes", n, bytes)
	}
	if !sawError {
		t.Error("an error past the budget was not sent")
	}
}

// TestCommandsStayInWorkspace: a command naming a project outside the workspace
// folders is refused; a huge argument is not echoed whole (issue 18).
func TestCommandsStayInWorkspace(t *testing.T) {
	inside := copyProject(t, "temperature")
	outside := copyProject(t, "temperature")
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "", inside)
	if _, err := c.command(CmdCheck, CommandArgs{URI: string(fileURI(workflowPath(inside)))}); err != nil {
		t.Fatalf("inside: %v", err)
	}
	_, err := c.command(CmdGen, CommandArgs{URI: string(fileURI(workflowPath(outside)))})
	if err == nil || !strings.Contains(err.Error(), "outside the workspace") {
		t.Fatalf("outside: %v", err)
	}
	huge := strings.Repeat("A", 1<<20)
	for _, cmd := range []string{CmdGen, "pelato." + huge} {
		args := CommandArgs{URI: string(fileURI(outside + "/" + huge))}
		raw, _ := json.Marshal(args)
		err := c.call(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: cmd, Arguments: []protocol.LSPAny{raw}}, nil)
		if err == nil {
			t.Fatalf("%.40s: accepted", cmd)
		}
		if len(err.Error()) > 2*maxShown {
			t.Errorf("%.40s: error of %d bytes", cmd, len(err.Error()))
		}
	}
	for _, m := range c.messages() {
		if len(m.params) > 2*maxShown+maxLogLine {
			t.Errorf("%s of %d bytes", m.method, len(m.params))
		}
	}
}
