//go:build linux || darwin

package devrun

import (
	"os"

	"golang.org/x/sys/unix"
)

// Terminal reports whether f is a terminal and, if so, its width in columns.
func Terminal(f *os.File) (bool, int) {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return false, 0
	}
	return true, int(ws.Col)
}
