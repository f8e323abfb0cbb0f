package main

import "strings"

var exec_task = func(arg string) string {
	return strings.ToUpper(arg)
}
