//go:build ignore

package main

import (
	"os"
	"strconv"
	"strings"
	"time"
)

var kept []string

// exec_task obeys its argument: "panic:V" panics with V, "exit" exits, "loop" never
// returns, "sleep:N" sleeps N milliseconds, "keep:V" keeps V and returns everything
// kept so far; anything else comes back unchanged.
func exec_task(arg string) string {
	cmd, v, _ := strings.Cut(arg, ":")
	switch cmd {
	case "panic":
		panic(v)
	case "exit":
		os.Exit(3)
	case "loop":
		for n := 0; ; n++ {
			if n < 0 {
				break
			}
		}
	case "sleep":
		ms, _ := strconv.Atoi(v)
		time.Sleep(time.Duration(ms) * time.Millisecond)
		return "slept"
	case "keep":
		kept = append(kept, v)
		return strings.Join(kept, ",")
	}
	return arg
}
