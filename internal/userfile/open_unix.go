//go:build unix

package userfile

import "syscall"

// openFlags makes opening a FIFO return at once instead of waiting for a writer;
// reads of regular files are unaffected.
const openFlags = syscall.O_NONBLOCK
