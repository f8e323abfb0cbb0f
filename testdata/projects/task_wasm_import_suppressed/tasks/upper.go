package main

import (
	"os/exec"
	// pelato:ignore PL408
	"net"
)

var _ = exec.Command
var _ = net.IPv4len

func exec_task(arg string) string { return arg }
