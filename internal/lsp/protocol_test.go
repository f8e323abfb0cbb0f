package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/pipeline"
)

func TestInitialize(t *testing.T) {
	root := copyProject(t, "temperature")
	c := newClient(t, clientOptions{server: Options{Version: "test"}})
	res := c.initialize(fullCaps(), "", root)
	golden(t, "initialize.json", normalize(t, res, root))
	if err := c.call(protocol.MethodInitialize, &protocol.InitializeParams{}, nil); rpcCode(err) != jsonrpc2.InvalidRequest {
		t.Errorf("second initialize: got %v, want InvalidRequest", err)
	}
}

func TestRequestBeforeInitialize(t *testing.T) {
	c := newClient(t, clientOptions{})
	err := c.call(protocol.MethodTextDocumentHover, &protocol.HoverParams{TextDocumentPositionParams: pos("/x/workflow.yaml", 0, 0)}, nil)
	if rpcCode(err) != jsonrpc2.ServerNotInitialized {
		t.Fatalf("hover before initialize: got %v, want code -32002", err)
	}
	// A notification before initialize is dropped, not an error that ends the connection.
	c.open("/x/workflow.yaml", "project_name: x\n", 1)
	c.initialize(fullCaps(), "")
	if err := c.call(protocol.MethodTextDocumentHover, &protocol.HoverParams{TextDocumentPositionParams: pos("/x/workflow.yaml", 0, 0)}, nil); err != nil {
		t.Fatalf("hover after initialize: %v", err)
	}
}

func TestUnknownMethodAndInvalidParams(t *testing.T) {
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "")
	if err := c.call("pelato/noSuchMethod", map[string]int{"a": 1}, nil); rpcCode(err) != jsonrpc2.MethodNotFound {
		t.Errorf("unknown method: got %v, want MethodNotFound", err)
	}
	c.notify("pelato/noSuchNotification", nil) // ignored
	bad := []string{`{"textDocument": 5}`, `[1,2]`, `"x"`, `{"textDocument":{"uri":"http://example.com/workflow.yaml"},"position":{"line":0,"character":0}}`}
	for _, p := range bad {
		if err := c.call(protocol.MethodTextDocumentHover, jsonrpc2.RawMessage(p), nil); rpcCode(err) != jsonrpc2.InvalidParams {
			t.Errorf("hover %s: got %v, want InvalidParams", p, err)
		}
	}
	if err := c.call(protocol.MethodTextDocumentHover, nil, nil); rpcCode(err) != jsonrpc2.InvalidParams {
		t.Errorf("hover without params: got %v, want InvalidParams", err)
	}
	// Malformed notifications are dropped and the server keeps serving.
	c.notify(protocol.MethodTextDocumentDidChange, jsonrpc2.RawMessage(`{"textDocument": []}`))
	if err := c.call(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: "no.such"}, nil); rpcCode(err) != jsonrpc2.InvalidParams {
		t.Errorf("unknown command: got %v, want InvalidParams", err)
	}
}

func TestPanicRecovered(t *testing.T) {
	c := newClient(t, clientOptions{setup: func(s *Server) {
		s.RegisterCommand("test.panic", Command{Title: "panic", Silent: true, Run: func(context.Context, json.RawMessage, pipeline.Reporter) (any, error) {
			panic("boom")
		}})
	}})
	c.initialize(fullCaps(), "")
	for range 3 {
		err := c.call(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: "test.panic"}, nil)
		if rpcCode(err) != jsonrpc2.InternalError {
			t.Fatalf("panicking command: got %v, want InternalError", err)
		}
	}
	if err := c.call(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: CmdCheck}, nil); err != nil {
		t.Fatalf("server does not serve after a panic: %v", err)
	}
}

func TestCancelRequest(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan struct{})
	c := newClient(t, clientOptions{setup: func(s *Server) {
		s.RegisterCommand("test.block", Command{Title: "block", Silent: true, Run: func(ctx context.Context, _ json.RawMessage, _ pipeline.Reporter) (any, error) {
			close(started)
			select {
			case <-ctx.Done():
				close(cancelled)
				return nil, ctx.Err()
			case <-time.After(10 * time.Second):
				return nil, errors.New("not cancelled")
			}
		}})
	}})
	c.initialize(fullCaps(), "")
	ctx, cancel := context.WithCancel(context.Background())
	ids := make(chan jsonrpc2.ID, 1)
	go func() {
		id, _ := c.conn.Call(ctx, protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: "test.block"}, nil)
		ids <- id
	}()
	<-started
	// Other requests are served while the command runs.
	c.mustCall(protocol.MethodTextDocumentDocumentSymbol, &protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: fileURI("/nowhere/workflow.yaml")}})
	cancel()
	id := <-ids
	n, _ := id.Number()
	c.notify(protocol.MethodCancelRequest, &protocol.CancelParams{ID: protocol.Integer(n)})
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("$/cancelRequest did not cancel the request's context")
	}
	c.notify(protocol.MethodCancelRequest, jsonrpc2.RawMessage(`{"id": {"bad": true}}`)) // ignored
	c.mustCall(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: CmdCheck})
}

func TestProgressCancel(t *testing.T) {
	c := newClient(t, clientOptions{setup: func(s *Server) {
		s.RegisterCommand("test.long", Command{Title: "pelato: Long", Run: func(ctx context.Context, _ json.RawMessage, rep pipeline.Reporter) (any, error) {
			rep.Event(pipeline.Event{Kind: pipeline.Begin, Title: "Working", Total: 2})
			rep.Event(pipeline.Event{Kind: pipeline.Step, Done: 1, Total: 2, Task: "t", Message: "half way"})
			rep.Event(pipeline.Event{Kind: pipeline.Log, Level: "warning", Task: "t", Message: "a log line"})
			<-ctx.Done()
			return nil, ctx.Err()
		}})
	}})
	c.initialize(fullCaps(), "")
	errc := make(chan error, 1)
	go func() {
		errc <- c.call(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: "test.long"}, nil)
	}()
	create := c.waitFor("progress create", func(m message) bool { return m.method == protocol.MethodWindowWorkDoneProgressCreate })
	var cp protocol.WorkDoneProgressCreateParams
	if err := protocol.Unmarshal(create.params, &cp); err != nil {
		t.Fatal(err)
	}
	c.waitFor("progress report", func(m message) bool { return m.method == protocol.MethodProgress && contains(m.params, "half way") })
	c.waitFor("log line", func(m message) bool {
		return m.method == protocol.MethodWindowLogMessage && contains(m.params, "t: a log line")
	})
	c.notify(protocol.MethodWindowWorkDoneProgressCancel, &protocol.WorkDoneProgressCancelParams{Token: cp.Token})
	select {
	case err := <-errc:
		if code := rpcCode(err); code != protocol.CodeRequestCancelled {
			t.Fatalf("cancelled command answered %v (code %d), want RequestCancelled", err, code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("window/workDoneProgress/cancel did not cancel the command")
	}
	c.waitFor("progress end", func(m message) bool { return m.method == protocol.MethodProgress && contains(m.params, `"end"`) })
	// A cancellation is said plainly, as information, not as a failure.
	c.waitFor("cancelled message", func(m message) bool {
		return m.method == protocol.MethodWindowShowMessage && contains(m.params, "pelato: Long: cancelled") && contains(m.params, `"type":3`)
	})
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }

func TestShutdownExit(t *testing.T) {
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "")
	var res jsonrpc2.RawMessage
	if err := c.call(protocol.MethodShutdown, nil, &res); err != nil || string(res) != "null" {
		t.Fatalf("shutdown: %s, %v", res, err)
	}
	if err := c.call(protocol.MethodTextDocumentHover, &protocol.HoverParams{}, nil); rpcCode(err) != jsonrpc2.InvalidRequest {
		t.Errorf("request after shutdown: got %v, want InvalidRequest", err)
	}
	c.notify(protocol.MethodExit, nil)
	select {
	case code := <-c.code:
		if code != 0 {
			t.Errorf("exit after shutdown: code %d, want 0", code)
		}
		c.code <- code // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("server did not exit")
	}
}

func TestExitWithoutShutdown(t *testing.T) {
	c := newClient(t, clientOptions{})
	c.initialize(fullCaps(), "")
	c.notify(protocol.MethodExit, nil)
	select {
	case code := <-c.code:
		if code != 1 {
			t.Errorf("exit without shutdown: code %d, want 1", code)
		}
		c.code <- code
	case <-time.After(5 * time.Second):
		t.Fatal("server did not exit")
	}
}

func TestStreamClosed(t *testing.T) {
	a, b := net.Pipe()
	srv := New(Options{})
	done := make(chan int, 1)
	go func() { done <- srv.Run(context.Background(), NewTransport(a, TransportOptions{})) }()
	_ = b.Close()
	select {
	case code := <-done:
		if code != 1 {
			t.Errorf("end of stream without shutdown: code %d, want 1", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server did not stop at the end of its stream")
	}
}
