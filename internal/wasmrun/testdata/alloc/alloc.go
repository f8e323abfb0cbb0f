//go:build ignore

package main

import "strconv"

// keep holds what the task allocates, so the garbage collector cannot free it.
var keep [][]byte

// exec_task allocates and touches the number of MiB it is given, holding all of it
// until the call returns; "forever" allocates until something stops it.
func exec_task(arg string) string {
	keep = nil
	n, err := strconv.Atoi(arg)
	if err != nil {
		n = 1 << 30
	}
	total := 0
	for i := 0; i < n; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
		total += len(b)
	}
	keep = nil
	return strconv.Itoa(total >> 20)
}
