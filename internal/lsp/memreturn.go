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
// keepBuffer; a second pass, secondPass later, returns what was still in use at the
// first (on a loaded machine the handler of a large result may not have dropped it
// within returnDelay).
type memoryReturn struct {
	mu     sync.Mutex
	timer  *time.Timer
	closed bool
}

// secondPass is how long after the first return of memory the second one runs.
const secondPass = 3 * time.Second

// soon schedules a return of memory, unless one is already scheduled.
func (r *memoryReturn) soon() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer != nil || r.closed {
		return
	}
	r.schedule(returnDelay, true)
}

// schedule returns memory after d, and again secondPass later when again is set;
// r.mu is held.
func (r *memoryReturn) schedule(d time.Duration, again bool) {
	r.timer = time.AfterFunc(d, func() {
		debug.FreeOSMemory()
		r.mu.Lock()
		defer r.mu.Unlock()
		r.timer = nil
		if again && !r.closed {
			r.schedule(secondPass, false)
		}
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
