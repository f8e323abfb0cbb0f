//go:build ignore
// +build ignore

package main

import "strings"

func exec_task(arg string) string { return strings.TrimSpace(arg) }
