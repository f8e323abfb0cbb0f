//go:build ignore

package main

import (
	"fmt"
	"os"
)

func exec_task(arg string) string {
	fmt.Println("stdout:", arg)
	fmt.Fprintln(os.Stderr, "stderr:", arg)
	return "printed"
}
