//go:build ignore

package main

import (
	"strconv"
	"strings"
)

// exec_task converts a temperature in degrees Celsius, sent as text such as "21.5",
// into kelvin, returned as text with two decimals ("294.65").
func exec_task(arg string) string {
	celsius, err := strconv.ParseFloat(strings.TrimSpace(arg), 64)
	if err != nil {
		return "error: not a temperature in Celsius: " + strconv.Quote(arg)
	}
	return strconv.FormatFloat(celsius+273.15, 'f', 2, 64)
}
