package main

import "strings"

func helper(s string) string { return strings.Repeat(s, 2) }
