//go:build ignore

package main

import (
	"strconv"
	"strings"
)

// exec_task upper-cases the key and reports the data length in bytes and runes.
func exec_task(key string, data string) (string, string) {
	return strings.ToUpper(key), strconv.Itoa(len(data)) + ":" + strconv.Itoa(len([]rune(data))) + ":" + data
}
