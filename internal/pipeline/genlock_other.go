//go:build !unix && !windows

package pipeline

import "os"

// On platforms with neither flock(2) nor LockFileEx (js, wasip1, plan9) one pelato
// process runs at a time; gen's atomic renames still keep each component whole.
func tryLock(*os.File) (bool, error) { return true, nil }

func unlock(*os.File) error { return nil }
