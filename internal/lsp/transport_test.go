package lsp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/hostile"
)

// rawPeer is a client that writes bytes, not messages, to a server over OS pipes
// (with the buffering of a real stdin and stdout).
type rawPeer struct {
	t    testing.TB
	srv  *Server
	out  *os.File // the client's writing end: the server's stdin
	in   *bufio.Reader
	inF  *os.File
	code chan int
	read atomic.Int64 // bytes the server has read
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func newRawPeer(t testing.TB, opts TransportOptions) *rawPeer {
	t.Helper()
	srvIn, cliOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cliIn, srvOut, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{t: t, out: cliOut, in: bufio.NewReader(cliIn), inF: cliIn, code: make(chan int, 1)}
	p.srv = New(Options{Getenv: func(string) (string, bool) { return "", false }, ProgressTimeout: 200 * time.Millisecond})
	conn := stdio{Reader: countingReader{srvIn, &p.read}, Writer: srvOut}
	go func() {
		code := p.srv.Run(context.Background(), NewTransport(conn, opts))
		srvIn.Close()
		srvOut.Close()
		p.code <- code
	}()
	t.Cleanup(func() {
		cliOut.Close()
		cliIn.Close()
		select {
		case <-p.code:
		case <-time.After(5 * time.Second):
			t.Errorf("the server did not stop when its stdin closed")
		}
	})
	return p
}

// send writes raw bytes to the server.
func (p *rawPeer) send(b []byte) {
	p.t.Helper()
	if _, err := p.out.Write(b); err != nil {
		p.t.Fatalf("write to the server: %v", err)
	}
}

// reply is a message read from the server.
type reply struct {
	ID     any             `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// next reads the next message the server sends, failing after timeout.
func (p *rawPeer) next(timeout time.Duration) reply {
	p.t.Helper()
	type result struct {
		r   reply
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var r reply
		n := -1
		for {
			line, err := p.in.ReadString('\n')
			if err != nil {
				ch <- result{err: err}
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				n, _ = strconv.Atoi(v)
			}
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(p.in, body); err != nil {
			ch <- result{err: err}
			return
		}
		ch <- result{r, json.Unmarshal(body, &r)}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			p.t.Fatalf("read from the server: %v", res.err)
		}
		return res.r
	case <-time.After(timeout):
		p.t.Fatalf("no message from the server within %v", timeout)
		return reply{}
	}
}

// answerTo reads messages until the answer to id, skipping notifications.
func (p *rawPeer) answerTo(id any) reply {
	p.t.Helper()
	for {
		r := p.next(10 * time.Second)
		if r.Method == "" && fmt.Sprint(r.ID) == fmt.Sprint(id) {
			return r
		}
	}
}

// probe sends a request and checks that the server answers it: it is alive.
func (p *rawPeer) probe(id string) {
	p.t.Helper()
	p.send(frame(`{"jsonrpc":"2.0","id":"` + id + `","method":"pelato/probe"}`))
	if r := p.answerTo(id); r.Error == nil {
		p.t.Fatalf("probe %s: want an error answer (the server is not initialized), got %+v", id, r)
	}
}

// Every malformed frame is answered with the JSON-RPC error it deserves, and the
// server reads on: the probe after it is answered.
func TestTransportAnswersMalformedFramesAndGoesOn(t *testing.T) {
	long := "X-Padding: " + strings.Repeat("x", 10<<10) + "\r\n"
	for _, tc := range []struct {
		name string
		raw  []byte
		code int
		id   any
		says string
	}{
		{"invalid JSON", frame(`{"jsonrpc":`), -32700, nil, "not valid JSON"},
		{"not JSON", frame(`hello`), -32700, nil, "not valid JSON"},
		{"binary", frame("\x00\xff\xfe"), -32700, nil, "not valid JSON"},
		{"a number", frame(`42`), -32600, nil, "not a JSON-RPC 2.0"},
		{"no jsonrpc member", frame(`{"id":7,"method":"x"}`), -32600, 7.0, "not a JSON-RPC 2.0"},
		{"method not a string", frame(`{"jsonrpc":"2.0","id":"s","method":5}`), -32600, "s", "not a JSON-RPC 2.0"},
		{"result and error", frame(`{"jsonrpc":"2.0","id":3,"result":1,"error":{"code":1,"message":"m"}}`), -32600, 3.0, "not a JSON-RPC 2.0"},
		{"batch", frame(`[{"jsonrpc":"2.0","id":9,"method":"x"}]`), -32600, nil, "batches"},
		{"empty batch", frame(`[]`), -32600, nil, "batches"},
		{"bad length", []byte("Content-Length: abc\r\n\r\n"), -32700, nil, "Content-Length is not a length"},
		{"no length", []byte("Content-Type: x\r\n\r\n"), -32700, nil, "no Content-Length"},
		{"zero length", []byte("Content-Length: 0\r\n\r\n"), -32700, nil, "Content-Length is 0"},
		{"no colon", []byte("garbage\r\n\r\n"), -32700, nil, "no `:`"},
		{"long header line", []byte(long + "\r\n"), -32700, nil, "longer than"},
		{"too many header lines", []byte(strings.Repeat("X: y\r\n", 40) + "\r\n"), -32700, nil, "header lines"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRawPeer(t, TransportOptions{})
			p.send(tc.raw)
			r := p.next(5 * time.Second)
			if r.Error == nil || r.Error.Code != tc.code || fmt.Sprint(r.ID) != fmt.Sprint(tc.id) || !strings.Contains(r.Error.Message, tc.says) {
				t.Errorf("got %+v %+v; want code %d, id %v, a message saying %q", r, r.Error, tc.code, tc.id, tc.says)
			}
			p.probe("after")
		})
	}
}

// A frame over the limit is skipped without being held, answered, and the server
// reads on; a declared length far past the data never allocates it.
func TestTransportRefusesOversizedFrames(t *testing.T) {
	p := newRawPeer(t, TransportOptions{MaxMessage: 1 << 20})
	body := `{"jsonrpc":"2.0","method":"x","params":"` + strings.Repeat("a", 8<<20) + `"}`
	big := frame(body)
	u := hostile.Measure(func() {
		p.send(big)
		r := p.next(10 * time.Second)
		if r.Error == nil || r.Error.Code != -32600 || !strings.Contains(r.Error.Message, "limit is 1048576 bytes") {
			t.Errorf("got %+v", r.Error)
		}
	})
	// The client's 8 MB write and the server's skipping of it: the server must not
	// have held the frame.
	if u.PeakHeap > 4<<20 {
		t.Errorf("refusing an 8 MB frame took %s; the frame must not be held", u)
	}
	t.Logf("an 8 MB frame over a 1 MiB limit: %s", u)
	p.probe("after")

	q := newRawPeer(t, TransportOptions{})
	u = hostile.Measure(func() {
		q.send([]byte("Content-Length: 2147483647\r\n\r\n{\"jsonrpc\""))
		q.out.Close()
		select {
		case <-q.code:
			q.code <- 1
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not stop at the end of a truncated frame")
		}
	})
	if u.Allocated > 8<<20 {
		t.Errorf("a frame declaring 2 GiB with 10 bytes sent cost %s: the declared length must not be allocated", u)
	}
	t.Logf("a frame declaring 2 GiB, 10 bytes sent: %s", u)
}

// A large message's buffer is released once it has been served.
func TestTransportReleasesLargeBuffers(t *testing.T) {
	r, w := io.Pipe()
	tr := NewTransport(stdio{Reader: r, Writer: io.Discard}, TransportOptions{}).(*transport)
	go func() {
		w.Write(frame(`{"jsonrpc":"2.0","method":"x","params":"` + strings.Repeat("a", 50<<20) + `"}`))
		w.Write(frame(`{"jsonrpc":"2.0","method":"y"}`))
		w.Close()
	}()
	ctx := context.Background()
	body, _, err := tr.ReadFrame(ctx)
	if err != nil || len(body) < 50<<20 {
		t.Fatalf("%d bytes, %v", len(body), err)
	}
	body, _, err = tr.ReadFrame(ctx)
	if err != nil || !bytes.Contains(body, []byte(`"y"`)) {
		t.Fatalf("%q, %v", body, err)
	}
	if cap(tr.body) > keepBuffer {
		t.Errorf("the transport keeps a buffer of %d bytes after a 50 MB message", cap(tr.body))
	}
}

// A client that sends 20 000 requests and reads no answer: the server stops reading
// after MaxPending of them instead of queueing work without bound, and answers all
// once the client reads.
func TestTransportBackpressure(t *testing.T) {
	p := newRawPeer(t, TransportOptions{MaxPending: 16})
	p.send(frame(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"capabilities":{}}}`))
	p.answerTo("init")
	// Hover requests are served concurrently (each on its own goroutine): without
	// backpressure every one read would wait, with its answer, to be written.
	const n = 20000
	var reqs bytes.Buffer
	for i := 0; i < n; i++ {
		reqs.Write(frame(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///nowhere/%s.go"},"position":{"line":0,"character":0}}}`, i, strings.Repeat("p", 200))))
	}
	sent := make(chan error, 1)
	u := hostile.Measure(func() {
		go func() {
			_, err := p.out.Write(reqs.Bytes())
			sent <- err
		}()
		// The server's answers fill its stdout (a pipe nobody reads); it must then stop
		// reading. Give it time to read all it would.
		time.Sleep(1500 * time.Millisecond)
	})
	select {
	case err := <-sent:
		t.Fatalf("the server read all %d requests while its answers were not read (%v)", n, err)
	default:
	}
	// What was read is bounded by the pending requests plus the pipes' buffers.
	if read := p.read.Load(); read > int64(reqs.Len())/4 {
		t.Errorf("the server read %d of %d bytes without its answers being read", read, reqs.Len())
	}
	if u.PeakHeap > 32<<20 {
		t.Errorf("holding unread answers cost %s", u)
	}
	t.Logf("with no answer read: %d of %d bytes of requests read; %s", p.read.Load(), reqs.Len(), u)
	// Now the client reads: every request is answered.
	answered := 0
	for answered < n {
		if r := p.next(10 * time.Second); r.Method == "" {
			answered++
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"65536": 65536, "64M": 64 << 20, "64MiB": 64 << 20, "1G": 1 << 30, "512K": 512 << 10, " 2 MiB ": 2 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-1", "x", "64TB", "99999999999G"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

// FuzzServerFrames sends one framed message of any content, then a probe: the server
// answers whatever it can, stays alive and answers the probe. (An exit notification
// is the one message after which it may stop.)
func FuzzServerFrames(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}`,
		`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///nowhere/workflow.yaml","languageId":"yaml","version":1,"text":"tasks:\n"}}}`,
		`{"jsonrpc":"2.0","id":2,"method":"textDocument/hover","params":null}`,
		`{"jsonrpc":"2.0","id":{"x":1},"method":"x"}`,
		`{"jsonrpc":"2.0","id":3,"result":null}`,
		`{"jsonrpc":"2.0","id":`, `[]`, `[1,2]`, `"str"`, `null`, "\x00\xff", `{"jsonrpc":"2.0","method":"x","params":"\ud800"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) == 0 || bytes.Contains(body, []byte(`"exit"`)) || bytes.Contains(body, []byte(`\u0065xit`)) {
			t.Skip("an empty frame is a header error (covered above); exit may stop the server")
		}
		p := newRawPeer(t, TransportOptions{})
		p.send(frame(string(body)))
		p.send(frame(`{"jsonrpc":"2.0","id":"probe","method":"pelato/probe"}`))
		for {
			r := p.next(10 * time.Second)
			if fmt.Sprint(r.ID) == "probe" {
				return
			}
		}
	})
}

// A client that announces work-done progress but never answers
// window/workDoneProgress/create does not hold a command: past the time-out it runs
// without progress reports and answers.
func TestProgressCreateTimesOut(t *testing.T) {
	dir := copyProject(t, "temperature")
	c := newClient(t, clientOptions{server: Options{ProgressTimeout: 300 * time.Millisecond}, ignore: []string{protocol.MethodWindowWorkDoneProgressCreate}})
	c.initialize(fullCaps(), "", dir)
	start := time.Now()
	var n int
	raw := c.mustCall(protocol.MethodWorkspaceExecuteCommand, &protocol.ExecuteCommandParams{Command: CmdCheck,
		Arguments: []protocol.LSPAny{protocol.LSPAny(`{"uri":"` + string(fileURI(filepath.Join(dir, "workflow.yaml"))) + `"}`)}})
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatalf("result %s: %v", raw, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the command took %v waiting for progress", took)
	}
	c.waitFor("the create request", func(m message) bool { return m.method == protocol.MethodWindowWorkDoneProgressCreate })
	for _, m := range c.messages() {
		if m.method == protocol.MethodProgress {
			t.Errorf("progress reported with a token the client never accepted: %s", m.params)
		}
	}
}
