//go:build !unix

package userfile

// openFlags: without O_NONBLOCK, Check's refusal of special files is the guard.
const openFlags = 0
