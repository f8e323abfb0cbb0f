//go:build ignore

package main

import "example.com/greet"

func exec_task(arg string) string { return greet.Hello(arg) }
