//go:build ignore

package main

import (
	"strconv"
	"strings"
)

// exec_task converts a temperature in degrees Celsius to Kelvin.
func exec_task(arg string) string {
	c, err := strconv.ParseFloat(strings.TrimSpace(arg), 64)
	if err != nil {
		return "error: " + err.Error()
	}
	return strconv.FormatFloat(c+273.15, 'f', 2, 64)
}
