//go:build !(linux || darwin)

package wasmrun

// reserveMemory cannot reserve address space on this platform: the caller uses a Go
// slice instead.
func reserveMemory(uint64) guardedMemory { return nil }
