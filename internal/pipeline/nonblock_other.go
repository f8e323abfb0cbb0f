//go:build !unix

package pipeline

// syscallNonblock: without O_NONBLOCK, userfile.Check's refusal is the guard.
const syscallNonblock = 0
