//go:build ignore

package main

func exec_task(arg string) string {
	if arg != "loop" {
		return "done:" + arg
	}
	n := 0
	for {
		n++
		if n < 0 {
			break
		}
	}
	return "unreachable"
}
