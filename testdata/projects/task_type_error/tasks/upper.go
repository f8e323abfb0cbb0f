package main

import "strings"

func exec_task(arg string) string {
	s := "é🌡"; return strings.ToUpper(arg) + 42 + s
}
