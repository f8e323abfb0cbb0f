//go:build ignore

package main

// exec_task echoes its input.
func exec_task(arg string) string { return arg }
