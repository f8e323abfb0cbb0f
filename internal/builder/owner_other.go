//go:build !unix

package builder

// processStart is 0 where pelato cannot read a process's start time.
func processStart(int) uint64 { return 0 }

// processGone never takes a process for gone where it cannot be checked.
func processGone(int, uint64) bool { return false }
