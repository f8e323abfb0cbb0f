package wasmrun

import (
	"github.com/tetratelabs/wazero/experimental"
)

// wasmPageSize is the size of a WebAssembly memory page.
const wasmPageSize = 64 << 10

// memoryAllocator backs each instance's linear memory with a region of its own,
// capped at limit bytes: a grow past the cap fails (the Go runtime in the guest then
// reports "out of memory"), and closing the instance gives the region straight back
// to the operating system, so a long-lived process does not keep the memory of a
// finished or failed run. Where the platform can reserve address space (mmap), the
// region never moves and pages are only committed when the guest touches them;
// elsewhere a Go slice is grown and left to the garbage collector.
//
// The allocator keeps the memory it made (made), which starts busy: the instance
// calls leave once instantiation is over, and enter/leave around each call (see
// mmapMemory for why).
type memoryAllocator struct {
	limit uint64
	made  guardedMemory
}

// guardedMemory is a linear memory that knows when a guest runs in it.
type guardedMemory interface {
	experimental.LinearMemory
	// enter marks a call starting; false when the memory was freed.
	enter() bool
	// leave marks a call (or the instantiation) ended.
	leave()
}

// Allocate implements experimental.MemoryAllocator.
func (a *memoryAllocator) Allocate(capacity, max uint64) experimental.LinearMemory {
	limit := min(max, a.limit)
	limit -= limit % wasmPageSize
	if m := reserveMemory(limit); m != nil {
		a.made = m
		return m
	}
	m := &sliceMemory{limit: limit, buf: make([]byte, 0, min(capacity, limit))}
	a.made = m
	return m
}

// sliceMemory is a linear memory in a Go slice, capped at limit bytes.
type sliceMemory struct {
	limit uint64
	buf   []byte
}

// Reallocate implements experimental.LinearMemory.
func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.limit {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	grown := make([]byte, size, min(max(size, 2*uint64(cap(m.buf))), m.limit))
	copy(grown, m.buf)
	m.buf = grown
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *sliceMemory) Free() { m.buf = nil }

// enter implements guardedMemory: Go memory stays valid while the guest uses it.
func (m *sliceMemory) enter() bool { return true }

// leave implements guardedMemory.
func (m *sliceMemory) leave() {}
