//go:build unix

package pipeline

import "syscall"

// syscallNonblock makes opening a FIFO return at once (reads of regular files are
// unaffected).
const syscallNonblock = syscall.O_NONBLOCK
