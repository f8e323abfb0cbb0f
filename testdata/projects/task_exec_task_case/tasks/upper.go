package main

import "strings"

// Exec_task upper-cases its input.
func Exec_task(arg string) string {
	return strings.ToUpper(arg)
}

func twice(arg string) string { return Exec_task(Exec_task(arg)) }

var _ = twice
