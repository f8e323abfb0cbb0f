package main

import "strings"

func exec_task(key string, data string) (string, string) {
	return strings.ToLower(key), strings.ToUpper(data)
}
