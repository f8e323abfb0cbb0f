package lsp

import (
	"runtime/debug"
	"sync"
	"time"
)

// returnDelay is how long after a large message the server gives its memory back:
// long enough for the message's handler to have dropped it, short enough that an
// editor's user sees the memory return (docs/PERFORMANCE.md).
const returnDelay = time.Second

// memoryReturn gives the memory of large messages back to the operating system soon
// after they were served. Go's runtime returns freed heap only gradually (its
// background scavenger), so a 60 MB message or a 64 MiB command result would leave
// the server's resident memory high for minutes; debug.FreeOSMemory returns it at
// once. It runs at most once per returnDelay, and only after a message larger than
// keepBuffer.
type memoryReturn struct {
	mu     sync.Mutex
	timer  *time.Timer
	closed bool
}

// soon schedules a return of memory, unless one is already scheduled.
func (r *memoryReturn) soon() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer != nil || r.closed {
		return
	}
	r.timer = time.AfterFunc(returnDelay, func() {
		debug.FreeOSMemory()
		r.mu.Lock()
		r.timer = nil
		r.mu.Unlock()
	})
}

// stop cancels a scheduled return (the connection is closing).
func (r *memoryReturn) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}
