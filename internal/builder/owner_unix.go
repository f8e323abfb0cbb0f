//go:build unix

package builder

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// processStart returns a process's start time in clock ticks since boot from
// /proc/<pid>/stat (field 22), or 0 where there is no /proc (macOS, BSD).
func processStart(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces and ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64) // field 22: after ")" come fields 3, 4, ...
	return n
}

// processGone reports whether no process with pid and (when known) start time runs.
func processGone(pid int, start uint64) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	} else if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	// A process with that pid runs: the same one unless its start time differs (the
	// pid was reused).
	if start == 0 {
		return false
	}
	now := processStart(pid)
	return now != 0 && now != start
}
