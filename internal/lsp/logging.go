package lsp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"go.lsp.dev/protocol"
)

// logSink is where the server's log goes. While a client is connected, every record
// is sent to it as window/logMessage with the message type of its level (debug → Log,
// info → Info, warn → Warning, error → Error), so editors file each line under the
// right level: Neovim, for one, logs everything a server writes to stderr as an
// error. Records also go to the log file when there is one; without one, warnings and
// errors that no client can receive (before initialize, after exit) go to stderr.
type logSink struct {
	level  slog.Leveler
	file   io.Writer // nil: no log file
	stderr io.Writer

	mu      sync.Mutex // serialises formatting and writing
	buf     bytes.Buffer
	fullBuf bytes.Buffer

	client atomic.Pointer[logQueue]
}

// logQueue sends log lines to the client from its own goroutine, so logging never
// waits for the connection (nor takes the server's lock) and lines keep their order.
// When the client falls behind, lines are dropped rather than queued without bound.
type logQueue struct {
	lines   chan logLine
	done    chan struct{}
	dropped atomic.Int64
}

type logLine struct {
	t   protocol.MessageType
	msg string
}

// newLogSink returns a sink at level writing to file (nil: none) and stderr.
func newLogSink(level slog.Leveler, file, stderr io.Writer) *logSink {
	if stderr == nil {
		stderr = io.Discard
	}
	return &logSink{level: level, file: file, stderr: stderr}
}

// logger returns a logger writing to the sink.
func (s *logSink) logger() *slog.Logger {
	all := &slog.HandlerOptions{Level: slog.LevelDebug} // the sink filters
	bare := &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
			return slog.Attr{} // the client has its own time and the message type; the message leads
		}
		return a
	}}
	return slog.New(&logHandler{sink: s, bare: slog.NewTextHandler(&s.buf, bare), full: slog.NewTextHandler(&s.fullBuf, all)})
}

// connect starts sending records to the client through send; disconnect stops it.
func (s *logSink) connect(send func(protocol.MessageType, string)) {
	q := &logQueue{lines: make(chan logLine, 1024), done: make(chan struct{})}
	go func() {
		defer close(q.done)
		for l := range q.lines {
			send(l.t, l.msg)
		}
	}()
	if old := s.client.Swap(q); old != nil {
		old.stop()
	}
}

// disconnect stops sending records to the client, after the queued ones are sent.
func (s *logSink) disconnect() {
	s.mu.Lock()
	q := s.client.Swap(nil)
	s.mu.Unlock()
	if q != nil {
		q.stop()
	}
}

func (q *logQueue) stop() {
	close(q.lines)
	<-q.done
}

// logHandler is the slog.Handler of a logSink: bare formats the attributes of records
// for the client (the message leads; no time, no level), full formats records for the
// log file and stderr.
type logHandler struct {
	sink       *logSink
	bare, full slog.Handler
}

// Enabled implements slog.Handler.
func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.sink.level.Level() }

// Handle implements slog.Handler.
func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	s := h.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.client.Load()
	if q != nil {
		s.buf.Reset()
		if err := h.bare.Handle(ctx, r); err != nil {
			return err
		}
		msg := r.Message
		if attrs := strings.TrimSuffix(s.buf.String(), "\n"); attrs != "" {
			msg += " " + attrs
		}
		select {
		case q.lines <- logLine{t: logMessageType(r.Level), msg: msg}:
		default:
			q.dropped.Add(1)
		}
	}
	var w io.Writer
	switch {
	case s.file != nil:
		w = s.file
	case q == nil && r.Level >= slog.LevelWarn:
		w = s.stderr
	default:
		return nil
	}
	s.fullBuf.Reset()
	if err := h.full.Handle(ctx, r); err != nil {
		return err
	}
	_, err := w.Write(s.fullBuf.Bytes())
	return err
}

// WithAttrs implements slog.Handler.
func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{sink: h.sink, bare: h.bare.WithAttrs(as), full: h.full.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{sink: h.sink, bare: h.bare.WithGroup(name), full: h.full.WithGroup(name)}
}

// logMessageType is the window/logMessage type of a log level.
func logMessageType(l slog.Level) protocol.MessageType {
	switch {
	case l >= slog.LevelError:
		return protocol.MessageTypeError
	case l >= slog.LevelWarn:
		return protocol.MessageTypeWarning
	case l >= slog.LevelInfo:
		return protocol.MessageTypeInfo
	}
	return protocol.MessageTypeLog
}
