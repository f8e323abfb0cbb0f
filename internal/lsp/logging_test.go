package lsp

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/protocol"
)

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogMessageTypes: while a client is connected the log reaches it as
// window/logMessage with the type of each record's level, and nothing is written to
// stderr (which Neovim files as errors); with no client, warnings go to stderr.
func TestLogMessageTypes(t *testing.T) {
	level := new(slog.LevelVar)
	var stderr lockedBuffer
	sink := newLogSink(level, nil, &stderr)
	root := copyProject(t, "temperature")
	c := newClient(t, clientOptions{server: Options{Logger: sink.logger(), Level: level, logSink: sink}})
	c.initialize(fullCaps(), "", root)
	logged := func(typ protocol.MessageType, text string) {
		t.Helper()
		c.waitFor(text, func(m message) bool {
			if m.method != protocol.MethodWindowLogMessage {
				return false
			}
			var p protocol.LogMessageParams
			return protocol.Unmarshal(m.params, &p) == nil && p.Type == typ && strings.HasPrefix(p.Message, text)
		})
	}
	logged(protocol.MessageTypeInfo, "initialized ")
	// A warning: settings the server refuses.
	c.notify(protocol.MethodWorkspaceDidChangeConfiguration, &protocol.DidChangeConfigurationParams{Settings: protocol.LSPAny(`{"pelato":{"debounceMs":-1}}`)})
	logged(protocol.MessageTypeWarning, "notification failed ")
	// Debug lines once logLevel is debug.
	c.notify(protocol.MethodWorkspaceDidChangeConfiguration, &protocol.DidChangeConfigurationParams{Settings: protocol.LSPAny(`{"pelato":{"logLevel":"debug"}}`)})
	c.mustCall(protocol.MethodTextDocumentHover, &protocol.HoverParams{TextDocumentPositionParams: pos(workflowPath(root), 0, 0)})
	logged(protocol.MessageTypeLog, "request served ")
	for _, m := range c.messages() {
		if m.method == protocol.MethodWindowLogMessage && (bytes.Contains(m.params, []byte("level=")) || bytes.Contains(m.params, []byte("time="))) {
			t.Errorf("log line carries its own level or time: %s", m.params)
		}
	}
	if s := stderr.String(); s != "" {
		t.Errorf("stderr while a client is connected: %q", s)
	}
	sink.disconnect()
	slog.New(sink.logger().Handler()).Warn("after the client left")
	slog.New(sink.logger().Handler()).Info("not for stderr")
	deadline := time.Now().Add(time.Second)
	for !strings.Contains(stderr.String(), "after the client left") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if s := stderr.String(); !strings.Contains(s, "level=WARN msg=\"after the client left\"") || strings.Contains(s, "not for stderr") {
		t.Errorf("stderr without a client: %q", s)
	}
}
