package lsp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"go.lsp.dev/jsonrpc2"
)

// DefaultMaxMessage is the largest message the server reads unless told otherwise:
// far above any real LSP message (a 10 000-task workflow.yaml is about 2 MB), far
// below what would hurt the machine.
const DefaultMaxMessage = 64 << 20

// DefaultMaxPending is how many requests the server reads ahead of its answers.
const DefaultMaxPending = 64

// Transport limits.
const (
	// maxHeaderLine bounds one header line; a longer one is skipped as malformed.
	maxHeaderLine = 4 << 10
	// maxHeaderLines bounds the lines of one header block.
	maxHeaderLines = 32
	// keepBuffer is the largest read or write buffer kept between messages: the
	// buffer of a larger message is released once it has been served.
	keepBuffer = 1 << 20
	// readChunk is how much of a body is read (and the buffer grown) at a time, so a
	// declared length is never allocated before its bytes arrive.
	readChunk = 1 << 20
)

// TransportOptions bound what a client can make the server hold.
type TransportOptions struct {
	// MaxMessage is the largest message body, in bytes, the server reads; a larger
	// one is skipped without being held and answered with InvalidRequest. 0 means
	// DefaultMaxMessage.
	MaxMessage int64
	// MaxPending is how many requests may be read and not yet answered. When the
	// client does not read the answers, the server stops reading (backpressure)
	// instead of queueing work without bound. 0 means DefaultMaxPending.
	MaxPending int
	// Log receives transport problems; nil discards them.
	Log *slog.Logger
}

// transport is the server's jsonrpc2.Stream: LSP header framing that survives a
// hostile or broken client. A frame that is not JSON is answered with ParseError
// (-32700), one that is JSON but not a JSON-RPC message with InvalidRequest
// (-32600), and the server reads on; a frame larger than MaxMessage is skipped, not
// allocated; a header block that cannot be read is answered and skipped. Requests
// read but not answered are counted, and reading pauses while MaxPending of them
// wait. Buffers of large messages are released after use, and their memory given
// back to the operating system soon after (memoryReturn).
//
// It implements jsonrpc2.Stream and the raw-frame methods (ReadFrame, WriteFrame)
// the connection uses when a stream has them.
type transport struct {
	conn       io.ReadWriteCloser
	in         *bufio.Reader
	maxMessage int64
	log        *slog.Logger
	body       []byte // the last frame read; valid until the next read

	wmu  sync.Mutex // serialises writes: each frame is one contiguous write
	wbuf []byte

	mu         sync.Mutex
	cond       *sync.Cond
	pending    int // requests read and not answered
	maxPending int
	closed     bool

	mem memoryReturn // gives the memory of large messages back to the system
}

// NewTransport returns the server side of an LSP connection over conn, bounded by
// opts (see transport).
func NewTransport(conn io.ReadWriteCloser, opts TransportOptions) jsonrpc2.Stream {
	t := &transport{conn: conn, in: bufio.NewReaderSize(conn, maxHeaderLine), maxMessage: opts.MaxMessage, maxPending: opts.MaxPending, log: opts.Log}
	if t.maxMessage <= 0 {
		t.maxMessage = DefaultMaxMessage
	}
	if t.maxPending <= 0 {
		t.maxPending = DefaultMaxPending
	}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// Read implements jsonrpc2.Stream.
func (t *transport) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	body, n, err := t.ReadFrame(ctx)
	if err != nil {
		return nil, 0, err
	}
	msg, err := jsonrpc2.DecodeMessage(body)
	if err != nil {
		return nil, 0, err // ReadFrame returns only frames that decode
	}
	return msg, n, nil
}

// ReadFrame returns the body of the next frame that is a JSON-RPC message, answering
// and skipping every frame that is not. The body is valid until the next call.
func (t *transport) ReadFrame(ctx context.Context) ([]byte, int64, error) {
	if cap(t.body) > keepBuffer {
		t.body = nil // the previous message was large and has been served
		t.mem.soon()
	}
	for {
		if err := t.waitForRoom(ctx); err != nil {
			return nil, 0, err
		}
		length, headerLen, err := t.readHeader()
		var bad *headerError
		switch {
		case errors.As(err, &bad):
			t.log.Warn("skipping a message with a malformed header", "problem", bad.problem)
			t.reply(jsonrpc2.ID{}, jsonrpc2.NewError(jsonrpc2.ParseError, "invalid message header: "+bad.problem))
			continue
		case err != nil:
			return nil, 0, err
		case length > t.maxMessage:
			if _, err := io.CopyN(io.Discard, t.in, length); err != nil {
				return nil, 0, unexpectedEOF(err)
			}
			t.log.Warn("skipping a message larger than the limit", "bytes", length, "limit", t.maxMessage)
			t.reply(jsonrpc2.ID{}, jsonrpc2.Errorf(jsonrpc2.InvalidRequest,
				"message of %d bytes refused: the limit is %d bytes (pelato-lsp --max-message-size)", length, t.maxMessage))
			continue
		}
		body, err := t.readBody(int(length))
		if err != nil {
			return nil, 0, err
		}
		id, call, rpcErr := classify(body)
		if rpcErr != nil {
			t.log.Warn("answering a frame that is not a JSON-RPC message", "code", rpcErr.Code, "problem", rpcErr.Message)
			t.reply(id, rpcErr)
			continue
		}
		if call {
			t.mu.Lock()
			t.pending++
			t.mu.Unlock()
		}
		return body, int64(headerLen) + length, nil
	}
}

// waitForRoom blocks while MaxPending requests wait for their answers: the client is
// not reading them, so the server stops reading too.
func (t *transport) waitForRoom(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.pending >= t.maxPending && !t.closed {
		if err := ctx.Err(); err != nil {
			return err
		}
		t.cond.Wait()
	}
	if t.closed {
		return io.ErrClosedPipe
	}
	return nil
}

// headerError is a header block that was read to its end but cannot be used.
type headerError struct{ problem string }

func (e *headerError) Error() string { return "invalid message header: " + e.problem }

// readHeader reads one header block and returns the declared body length. Lines are
// bounded; a malformed block is read to its blank line and reported as a
// *headerError, so the next block can still be read.
func (t *transport) readHeader() (length int64, consumed int, err error) {
	problem := ""
	length = -1
	for lines := 0; ; {
		line, n, err := t.readLine()
		consumed += n
		if err != nil {
			if errors.Is(err, io.EOF) && consumed > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, consumed, err
		}
		if n > maxHeaderLine && problem == "" {
			problem = fmt.Sprintf("a header line is longer than %d bytes", maxHeaderLine)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if lines == 0 && problem == "" {
				continue // a stray line break between messages
			}
			break
		}
		if lines++; lines > maxHeaderLines && problem == "" {
			problem = fmt.Sprintf("more than %d header lines", maxHeaderLines)
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		switch {
		case problem != "":
		case !ok:
			problem = "a header line has no `:`"
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")):
			v, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
			if err != nil || v < 0 {
				problem = "Content-Length is not a length"
			} else {
				length = v
			}
		}
	}
	switch {
	case problem != "":
		return 0, consumed, &headerError{problem}
	case length < 0:
		return 0, consumed, &headerError{"no Content-Length"}
	case length == 0:
		return 0, consumed, &headerError{"Content-Length is 0"}
	}
	return length, consumed, nil
}

// readLine reads one line, keeping at most maxHeaderLine bytes of it: the rest of a
// longer line is consumed and dropped. n counts every byte consumed.
func (t *transport) readLine() (line []byte, n int, err error) {
	for {
		chunk, err := t.in.ReadSlice('\n')
		n += len(chunk)
		if len(line) < maxHeaderLine {
			line = append(line, chunk[:min(len(chunk), maxHeaderLine-len(line))]...)
		}
		switch {
		case err == nil:
			return line, n, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && n > 0:
			return nil, n, io.ErrUnexpectedEOF
		default:
			return nil, n, err
		}
	}
}

// readBody reads length bytes into the body buffer, growing it as bytes arrive.
func (t *transport) readBody(length int) ([]byte, error) {
	if cap(t.body) >= length {
		t.body = t.body[:length]
		if _, err := io.ReadFull(t.in, t.body); err != nil {
			return nil, unexpectedEOF(err)
		}
		return t.body, nil
	}
	buf := t.body[:0]
	for len(buf) < length {
		n := min(readChunk, length-len(buf))
		if cap(buf)-len(buf) < n {
			grown := make([]byte, len(buf), min(length, max(2*cap(buf), len(buf)+n)))
			copy(grown, buf)
			buf = grown
		}
		if _, err := io.ReadFull(t.in, buf[len(buf):len(buf)+n]); err != nil {
			return nil, unexpectedEOF(err)
		}
		buf = buf[:len(buf)+n]
	}
	t.body = buf
	return buf, nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// classify decides what a frame is: a message the connection can serve (call
// reports whether it is a request awaiting an answer), or the error to answer it
// with, and the id to answer with when one can be read.
func classify(body []byte) (id jsonrpc2.ID, call bool, rpcErr *jsonrpc2.Error) {
	if !json.Valid(body) {
		return jsonrpc2.ID{}, false, jsonrpc2.NewError(jsonrpc2.ParseError, "parse error: the message is not valid JSON")
	}
	if first := bytes.TrimLeft(body, " \t\r\n"); len(first) > 0 && first[0] == '[' {
		return jsonrpc2.ID{}, false, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "invalid request: batches are not part of the Language Server Protocol; send one message per frame")
	}
	msg, err := jsonrpc2.DecodeMessage(body)
	if err != nil {
		return idOf(body), false, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "invalid request: not a JSON-RPC 2.0 request, notification or response (an object with \"jsonrpc\": \"2.0\" and a string \"method\", or an \"id\" with a \"result\" or an \"error\")")
	}
	_, call = msg.(*jsonrpc2.Call)
	return jsonrpc2.ID{}, call, nil
}

// idOf returns the id of an invalid request when it is a number or a string, so the
// error answer can name it; else the null id.
func idOf(body []byte) jsonrpc2.ID {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &m) != nil || len(m.ID) == 0 {
		return jsonrpc2.ID{}
	}
	var n int64
	if json.Unmarshal(m.ID, &n) == nil {
		return jsonrpc2.NewNumberID(n)
	}
	var s string
	if json.Unmarshal(m.ID, &s) == nil {
		return jsonrpc2.NewStringID(s)
	}
	return jsonrpc2.ID{}
}

// reply writes an error answer the connection does not know about.
func (t *transport) reply(id jsonrpc2.ID, e *jsonrpc2.Error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	buf := jsonrpc2.AppendResponse(t.frameStart(), id, nil, e)
	if _, err := t.writeLocked(buf); err != nil {
		t.log.Debug("answer a bad message", "err", err)
	}
}

// Write implements jsonrpc2.Stream. An answer to a request makes room for reading
// the next one, written or not (a failed write ends the connection anyway).
func (t *transport) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	t.wmu.Lock()
	buf := jsonrpc2.AppendMessage(t.frameStart(), msg)
	response := isResponse(msg, buf[headerReserve:])
	var n int64
	err := ctx.Err()
	if err == nil {
		n, err = t.writeLocked(buf)
	}
	t.wmu.Unlock()
	if response {
		t.answered()
	}
	return n, err
}

// WriteFrame implements the raw-frame write the connection uses for batch answers.
func (t *transport) WriteFrame(ctx context.Context, data []byte) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	return t.writeLocked(append(t.frameStart(), data...))
}

// headerReserve is the room left before a body for its header.
const headerReserve = len("Content-Length: \r\n\r\n") + 20

// frameStart returns the write buffer with room for a header; t.wmu is held.
func (t *transport) frameStart() []byte {
	if cap(t.wbuf) < headerReserve+512 {
		t.wbuf = make([]byte, 0, 4096)
	}
	return t.wbuf[:headerReserve]
}

// writeLocked writes buf (headerReserve bytes of room, then a body) as one frame,
// in one write; t.wmu is held. A buffer grown past keepBuffer is released.
func (t *transport) writeLocked(buf []byte) (int64, error) {
	header := "Content-Length: " + strconv.Itoa(len(buf)-headerReserve) + "\r\n\r\n"
	start := headerReserve - len(header)
	copy(buf[start:], header)
	n, err := t.conn.Write(buf[start:])
	if cap(buf) <= keepBuffer {
		t.wbuf = buf[:0]
	} else {
		t.wbuf = nil
		t.mem.soon()
	}
	return int64(n), err
}

// isResponse reports whether msg, encoded as body, answers a request. The
// connection passes its own response type, which is not exported: the encoding
// tells (a request carries a "method").
func isResponse(msg jsonrpc2.Message, body []byte) bool {
	switch msg.(type) {
	case *jsonrpc2.Response:
		return true
	case *jsonrpc2.Call, *jsonrpc2.Notification:
		return false
	}
	decoded, err := jsonrpc2.DecodeMessage(body)
	if err != nil {
		return false
	}
	_, ok := decoded.(*jsonrpc2.Response)
	return ok
}

// answered records that a request has been answered.
func (t *transport) answered() {
	t.mu.Lock()
	if t.pending > 0 {
		t.pending--
	}
	t.mu.Unlock()
	t.cond.Broadcast()
}

// Close implements jsonrpc2.Stream.
func (t *transport) Close() error {
	t.mem.stop()
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.cond.Broadcast()
	return t.conn.Close()
}

// ParseSize reads a size for --max-message-size: a number of bytes with an optional
// unit (K, M, G, KiB, MiB, GiB; powers of 1024), such as 65536, 64M or 64MiB.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("size %q is not a positive number of bytes (e.g. 65536, 64M, 64MiB)", s)
	}
	return n * mult, nil
}
