package main

// pelato:ignore-file PL408

import (
	"os/exec"
	"strings"
)

var _ = exec.Command

func exec_task(arg string) string {
	// pelato:ignore PL402 -- intentionally unused while prototyping
	unused := strings.ToUpper(arg)
	also := 2 // pelato:ignore PL402
	stillReported := 3
	return arg
}
