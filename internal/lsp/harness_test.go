package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/workflow"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// message is a message the test client received from the server.
type message struct {
	method string
	params json.RawMessage
	call   bool
}

// client is an in-process LSP client talking to a Server over net.Pipe. It records
// every notification and request the server sends and answers requests with null.
type client struct {
	t    testing.TB
	srv  *Server
	conn jsonrpc2.Conn
	code chan int
	raw  *queuedConn // the client's end, for raw writes

	mu      sync.Mutex
	msgs    []message
	changed chan struct{}
	// wait bounds each waitFor; 0 means 10 s.
	wait    time.Duration
	release chan struct{} // closed when the test ends: ignored requests return
}

// clientOptions tune newClient.
type clientOptions struct {
	server Options
	// setup runs on the server before it serves.
	setup func(*Server)
	// transport bounds the server's transport.
	transport TransportOptions
	// ignore lists requests of the server the client records but never answers.
	ignore []string
}

// newClient starts a server and connects a client to it; the server is stopped when
// the test ends.
func newClient(t testing.TB, o clientOptions) *client {
	t.Helper()
	if o.server.Config == nil {
		cfg := DefaultConfig()
		cfg.Debounce = 0
		o.server.Config = &cfg
	}
	if o.server.Getenv == nil {
		o.server.Getenv = func(string) (string, bool) { return "", false }
	}
	srv := New(o.server)
	if o.setup != nil {
		o.setup(srv)
	}
	pa, pb := net.Pipe()
	a, b := queued(pa), queued(pb)
	c := &client{t: t, srv: srv, code: make(chan int, 1), raw: b, changed: make(chan struct{}), release: make(chan struct{})}
	go func() { c.code <- srv.Run(context.Background(), NewTransport(a, o.transport)) }()
	c.conn = jsonrpc2.NewConn(jsonrpc2.NewStream(b), jsonrpc2.WithCodec(codec{}))
	c.conn.Go(context.Background(), func(ctx context.Context, req *jsonrpc2.Request) (any, error) {
		c.record(message{method: strings.Clone(req.Method()), params: bytes.Clone(req.Params()), call: req.IsCall()})
		if req.IsCall() && slices.Contains(o.ignore, req.Method()) {
			jsonrpc2.Async(ctx)
			<-c.release // never answered while the test runs
		}
		return nil, nil
	})
	t.Cleanup(func() {
		close(c.release)
		_ = c.conn.Notify(context.Background(), protocol.MethodExit, nil)
		select {
		case <-c.code:
		case <-time.After(5 * time.Second):
			t.Errorf("server did not stop after exit")
		}
		_ = c.conn.Close()
	})
	return c
}

func (c *client) record(m message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	close(c.changed)
	c.changed = make(chan struct{})
}

// reset forgets the messages received so far.
func (c *client) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = nil
}

// messages returns the messages received so far.
func (c *client) messages() []message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]message(nil), c.msgs...)
}

// waitFor waits until a received message satisfies ok and returns it.
func (c *client) waitFor(what string, ok func(message) bool) message {
	c.t.Helper()
	wait := c.wait
	if wait == 0 {
		wait = 10 * time.Second
	}
	deadline := time.After(wait)
	seen := 0
	for {
		c.mu.Lock()
		msgs, changed := c.msgs, c.changed
		c.mu.Unlock()
		for ; seen < len(msgs); seen++ {
			if ok(msgs[seen]) {
				return msgs[seen]
			}
		}
		select {
		case <-changed:
		case <-deadline:
			c.t.Fatalf("timed out waiting for %s", what)
			return message{}
		}
	}
}

// call sends a request and decodes its result into result (a *jsonrpc2.RawMessage
// keeps it raw).
func (c *client) call(method string, params, result any) error {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := c.conn.Call(ctx, method, params, result)
	return err
}

// mustCall sends a request that must succeed and returns its raw result.
func (c *client) mustCall(method string, params any) json.RawMessage {
	c.t.Helper()
	var raw jsonrpc2.RawMessage
	if err := c.call(method, params, &raw); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
	return json.RawMessage(raw)
}

// notify sends a notification.
func (c *client) notify(method string, params any) {
	c.t.Helper()
	if err := c.conn.Notify(context.Background(), method, params); err != nil {
		c.t.Fatalf("notify %s: %v", method, err)
	}
}

// fullCaps are the capabilities of a capable client.
func fullCaps() protocol.ClientCapabilities {
	t := true
	return protocol.ClientCapabilities{
		Window: &protocol.WindowClientCapabilities{WorkDoneProgress: &t},
		Workspace: &protocol.WorkspaceClientCapabilities{
			WorkspaceEdit: &protocol.WorkspaceEditClientCapabilities{DocumentChanges: &t,
				ResourceOperations: []protocol.ResourceOperationKind{protocol.ResourceOperationKindCreate}},
			DidChangeWatchedFiles: &protocol.DidChangeWatchedFilesClientCapabilities{DynamicRegistration: &t},
		},
		TextDocument: &protocol.TextDocumentClientCapabilities{
			Completion: &protocol.CompletionClientCapabilities{CompletionItem: &protocol.ClientCompletionItemOptions{SnippetSupport: &t}},
			Hover:      &protocol.HoverClientCapabilities{ContentFormat: []protocol.MarkupKind{protocol.MarkupKindMarkdown}},
		},
	}
}

// initialize sends initialize (with folders as workspace folders) and initialized.
func (c *client) initialize(caps protocol.ClientCapabilities, options string, folders ...string) json.RawMessage {
	c.t.Helper()
	p := &protocol.InitializeParams{Capabilities: caps}
	var wf []protocol.WorkspaceFolder
	for _, f := range folders {
		wf = append(wf, protocol.WorkspaceFolder{URI: fileURI(f), Name: filepath.Base(f)})
	}
	p.WorkspaceFolders = protocol.NewNullable(wf)
	if options != "" {
		p.InitializationOptions = protocol.LSPAny(options)
	}
	res := c.mustCall(protocol.MethodInitialize, p)
	c.notify(protocol.MethodInitialized, &protocol.InitializedParams{})
	return res
}

// open sends didOpen for path with text.
func (c *client) open(path, text string, version int32) {
	c.t.Helper()
	lang := protocol.LanguageKind("yaml")
	if strings.HasSuffix(path, ".go") {
		lang = "go"
	}
	c.notify(protocol.MethodTextDocumentDidOpen, &protocol.DidOpenTextDocumentParams{
		TextDocument: protocol.TextDocumentItem{URI: fileURI(path), LanguageID: lang, Version: version, Text: text}})
}

// replace sends a full-content didChange.
func (c *client) replace(path, text string, version int32) {
	c.t.Helper()
	c.notify(protocol.MethodTextDocumentDidChange, &protocol.DidChangeTextDocumentParams{
		TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: fileURI(path)}, Version: version},
		ContentChanges: []protocol.TextDocumentContentChangeEvent{&protocol.TextDocumentContentChangeWholeDocument{Text: text}},
	})
}

// diagnostics waits for the publication of path's diagnostics that satisfies ok.
func (c *client) diagnostics(path string, ok func(*protocol.PublishDiagnosticsParams) bool) *protocol.PublishDiagnosticsParams {
	c.t.Helper()
	u := fileURI(path)
	var out *protocol.PublishDiagnosticsParams
	c.waitFor("diagnostics of "+path, func(m message) bool {
		if m.method != protocol.MethodTextDocumentPublishDiagnostics {
			return false
		}
		var p protocol.PublishDiagnosticsParams
		if err := protocol.Unmarshal(m.params, &p); err != nil || p.URI != u {
			return false
		}
		if ok == nil || ok(&p) {
			out = &p
			return true
		}
		return false
	})
	return out
}

// version returns the version of a publication (-1 without one).
func version(p *protocol.PublishDiagnosticsParams) int32 {
	if v, ok := p.Version.Get(); ok {
		return v
	}
	return -1
}

// copyProject copies examples/<name> into a new temporary folder and returns it.
func copyProject(t testing.TB, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	copyDir(t, filepath.Join("..", "..", "examples", name), dst)
	return dst
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// read returns a file's content.
func read(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// write writes a file, creating folders.
func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// normalize makes JSON deterministic (sorted keys, indented) and replaces the
// temporary project folder with $ROOT.
func normalize(t testing.TB, raw []byte, root string) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("bad JSON %s: %v", raw, err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	if root != "" {
		out = strings.ReplaceAll(out, string(fileURI(root)), "file:///$ROOT")
		out = strings.ReplaceAll(out, root, "$ROOT")
	}
	return []byte(out + "\n")
}

// golden compares got with testdata/<name>, rewriting it with -update.
func golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		write(t, path, string(got))
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file (run go test -update after checking):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// rpcCode returns the JSON-RPC code of an error answer.
func rpcCode(err error) jsonrpc2.Code {
	var e *jsonrpc2.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// workflowPath returns root/workflow.yaml.
func workflowPath(root string) string { return filepath.Join(root, workflow.FileName) }

// pos is a text document position request for path.
func pos(path string, line, char uint32) protocol.TextDocumentPositionParams {
	return protocol.TextDocumentPositionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: fileURI(path)},
		Position:     protocol.Position{Line: line, Character: char},
	}
}

// positionOf returns the LSP position (UTF-16) of the first occurrence of needle in
// text, plus delta characters.
func positionOf(t testing.TB, text, needle string, delta int) protocol.Position {
	t.Helper()
	i := strings.Index(text, needle)
	if i < 0 {
		t.Fatalf("%q not in text", needle)
	}
	line := strings.Count(text[:i], "\n")
	start := strings.LastIndex(text[:i], "\n") + 1
	col := 0
	for _, r := range text[start:i] {
		col++
		if r >= 0x10000 {
			col++
		}
	}
	return protocol.Position{Line: uint32(line), Character: uint32(col + delta)}
}

// queuedConn queues writes to a net.Pipe end and writes them from its own goroutine,
// so that two peers whose read loops both answer inline cannot block each other on
// the unbuffered pipe (an OS pipe buffers; net.Pipe does not).
type queuedConn struct {
	net.Conn
	mu     sync.Mutex
	cond   *sync.Cond
	queue  [][]byte
	closed bool
}

func queued(c net.Conn) *queuedConn {
	q := &queuedConn{Conn: c}
	q.cond = sync.NewCond(&q.mu)
	go q.drain()
	return q
}

func (q *queuedConn) drain() {
	for {
		q.mu.Lock()
		for len(q.queue) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.queue) == 0 {
			q.mu.Unlock()
			return
		}
		b := q.queue[0]
		q.queue = q.queue[1:]
		q.mu.Unlock()
		if _, err := q.Conn.Write(b); err != nil {
			return
		}
	}
}

// Write queues b.
func (q *queuedConn) Write(b []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, net.ErrClosed
	}
	q.queue = append(q.queue, bytes.Clone(b))
	q.cond.Signal()
	return len(b), nil
}

// Close closes the pipe end.
func (q *queuedConn) Close() error {
	q.mu.Lock()
	q.closed = true
	q.cond.Signal()
	q.mu.Unlock()
	return q.Conn.Close()
}
