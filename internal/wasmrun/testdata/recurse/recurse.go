//go:build ignore

package main

import "strconv"

// exec_task recurses without end on "forever", else to the depth it is given.
func exec_task(arg string) string {
	if arg == "forever" {
		return strconv.Itoa(down(1 << 62))
	}
	n, _ := strconv.Atoi(arg)
	return strconv.Itoa(down(n))
}

func down(n int) int {
	var pad [64]byte
	pad[n%64] = byte(n)
	if n == 0 {
		return 0
	}
	return down(n-1) + int(pad[n%64]&1)
}
