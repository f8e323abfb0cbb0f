package lsp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// StdioOptions configure ServeStdio.
type StdioOptions struct {
	// In and Out carry the protocol (the process's stdin and stdout).
	In  io.Reader
	Out io.Writer
	// Log receives the log when LogFile is empty (the process's stderr). The log
	// never goes to Out.
	Log io.Writer
	// LogFile, when set, is a file the log is appended to instead.
	LogFile string
	// LogLevel is the initial level: "debug", "info", "warn" or "error".
	LogLevel string
	// Version is reported at initialize.
	Version string
	// MaxMessage is the largest message the server reads, in bytes; 0 means
	// DefaultMaxMessage (64 MiB). Larger messages are refused, never allocated.
	MaxMessage int64
}

// stdio joins a reader and a writer into the connection a Stream needs.
type stdio struct {
	io.Reader
	io.Writer
}

// Close closes the reader and writer when they can be closed.
func (s stdio) Close() error {
	var err error
	if c, ok := s.Reader.(io.Closer); ok {
		err = c.Close()
	}
	if c, ok := s.Writer.(io.Closer); ok {
		if e := c.Close(); err == nil {
			err = e
		}
	}
	return err
}

// ServeStdio runs a server over In and Out with LSP header framing and returns the
// exit code: 0 after shutdown and exit, 1 otherwise. The log goes to the client as
// window/logMessage (see logSink) and to LogFile when set; without a log file, only
// warnings and errors no client can receive are written to Log.
func ServeStdio(ctx context.Context, o StdioOptions) (int, error) {
	var file io.Writer
	if o.LogFile != "" {
		f, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return 1, fmt.Errorf("open log file: %w", err)
		}
		defer f.Close()
		file = f
	}
	level := new(slog.LevelVar)
	l, err := parseLevel(o.LogLevel)
	if err != nil {
		return 1, err
	}
	level.Set(l)
	sink := newLogSink(level, file, o.Log)
	logger := sink.logger()
	srv := New(Options{Logger: logger, Level: level, Version: o.Version, logSink: sink})
	logger.Info("pelato-lsp starting", "version", o.Version, "pid", os.Getpid())
	stream := NewTransport(stdio{Reader: o.In, Writer: o.Out}, TransportOptions{MaxMessage: o.MaxMessage, Log: logger})
	code := srv.Run(ctx, stream)
	logger.Info("pelato-lsp exiting", "code", code)
	return code, nil
}
