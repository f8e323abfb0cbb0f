//go:build linux || darwin

package wasmrun

import (
	"sync"

	"golang.org/x/sys/unix"
)

// mmapMemory is a linear memory in an anonymous mapping of its whole cap, reserved
// without committing swap (MAP_NORESERVE): pages cost memory only once touched, the
// region never moves when the guest grows its memory, and Free unmaps it at once.
type mmapMemory struct {
	region []byte
	size   uint64
	once   sync.Once
}

// reserveMemory maps limit bytes, or returns nil when the system refuses (then the
// caller falls back to a Go slice).
func reserveMemory(limit uint64) *mmapMemory {
	if limit == 0 || limit > 1<<33 {
		return nil
	}
	b, err := unix.Mmap(-1, 0, int(limit), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	return &mmapMemory{region: b}
}

// Reallocate implements experimental.LinearMemory.
func (m *mmapMemory) Reallocate(size uint64) []byte {
	if m.region == nil || size > uint64(len(m.region)) {
		return nil
	}
	m.size = size
	return m.region[:size:size]
}

// Free implements experimental.LinearMemory.
func (m *mmapMemory) Free() {
	m.once.Do(func() {
		if m.region != nil {
			_ = unix.Munmap(m.region)
			m.region = nil
		}
	})
}
