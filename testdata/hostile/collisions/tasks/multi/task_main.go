package main

import "strings"

func shout(s string) string { return strings.ToUpper(s) }
