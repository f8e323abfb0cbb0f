//go:build unix

package lsp

import "syscall"

// noFollow makes creating a file fail when its last component is a symbolic link.
const noFollow = syscall.O_NOFOLLOW
