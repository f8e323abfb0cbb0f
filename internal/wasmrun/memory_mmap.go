//go:build linux || darwin

package wasmrun

import (
	"sync"

	"golang.org/x/sys/unix"
)

// mmapMemory is a linear memory in an anonymous mapping of its whole cap, reserved
// without committing swap (MAP_NORESERVE): pages cost memory only once touched, the
// region never moves when the guest grows its memory, and Free gives it back at once.
//
// The region is not Go memory: unmapping it while a guest still runs in it (its
// module closed from another goroutine, by Runtime.Close say) would make that guest
// fault and crash the whole process. So the instance marks each call (enter/leave),
// and a Free during a call only returns the pages (MADV_DONTNEED: the guest, which is
// stopping anyway, reads zeros) and leaves the unmapping to the call's end.
type mmapMemory struct {
	mu     sync.Mutex
	region []byte
	busy   int  // calls running in the region; 1 from creation until instantiation ends
	freed  bool // Free was called; unmap when busy reaches 0
}

// reserveMemory maps limit bytes, or returns nil when the system refuses (then the
// caller falls back to a Go slice).
func reserveMemory(limit uint64) guardedMemory {
	if limit == 0 || limit > 1<<33 {
		return nil
	}
	b, err := unix.Mmap(-1, 0, int(limit), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	return &mmapMemory{region: b, busy: 1}
}

// Reallocate implements experimental.LinearMemory.
func (m *mmapMemory) Reallocate(size uint64) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.freed || size > uint64(len(m.region)) {
		return nil
	}
	return m.region[:size:size]
}

// Free implements experimental.LinearMemory.
func (m *mmapMemory) Free() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.freed {
		return
	}
	m.freed = true
	if m.busy > 0 {
		_ = unix.Madvise(m.region, unix.MADV_DONTNEED)
		return
	}
	m.unmap()
}

// enter marks a call running in the region; false when the memory was freed.
func (m *mmapMemory) enter() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.freed {
		return false
	}
	m.busy++
	return true
}

// leave ends what enter (or the creation) began, unmapping a freed region once no
// call runs in it.
func (m *mmapMemory) leave() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.busy--
	if m.busy == 0 && m.freed {
		m.unmap()
	}
}

func (m *mmapMemory) unmap() {
	if m.region != nil {
		_ = unix.Munmap(m.region)
		m.region = nil
	}
}
