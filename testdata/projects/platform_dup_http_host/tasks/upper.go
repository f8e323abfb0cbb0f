package main

import "strings"

func exec_task(arg string) string {
	return strings.ToUpper(arg)
}
