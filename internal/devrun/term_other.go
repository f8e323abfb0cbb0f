//go:build !(linux || darwin)

package devrun

import "os"

// Terminal reports whether f is a terminal; this platform is not asked.
func Terminal(*os.File) (bool, int) { return false, 0 }
