// Package lines splits a stream of output into lines: what a task prints in the local
// runtime or the language server, and what a build container writes, each reported a
// line at a time.
package lines

import (
	"bytes"
	"sync"
)

// MaxLine is the longest line kept whole: output that goes on longer without a line
// break is emitted in pieces of this size, so a task printing without newlines cannot
// grow the buffer without bound.
const MaxLine = 64 << 10

// Writer is an io.Writer that calls Emit with every complete line written to it
// (without its "\n"). It is safe for concurrent use; Emit is called with the
// Writer's lock held, one line at a time.
type Writer struct {
	Emit func(line string)

	mu  sync.Mutex
	buf []byte
}

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := string(w.buf[:i])
		w.buf = w.buf[i+1:]
		w.Emit(line)
	}
	for len(w.buf) >= MaxLine {
		w.Emit(string(w.buf[:MaxLine]))
		w.buf = w.buf[MaxLine:]
	}
	if len(w.buf) == 0 {
		w.buf = nil // let go of a large backing array
	}
	return len(p), nil
}

// Flush emits what was written after the last line break, if anything.
func (w *Writer) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.Emit(string(w.buf))
		w.buf = nil
	}
}
