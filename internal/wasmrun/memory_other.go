//go:build !(linux || darwin)

package wasmrun

import "github.com/tetratelabs/wazero/experimental"

// reserveMemory cannot reserve address space on this platform: the caller uses a Go
// slice instead.
func reserveMemory(uint64) experimental.LinearMemory { return nil }
