//go:build linux && !wasm

package main

func helper(s string) string { return s }
