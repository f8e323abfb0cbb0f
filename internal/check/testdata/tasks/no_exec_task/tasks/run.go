package main

import "strings"

func run(arg string) string { return strings.ToUpper(arg) }
