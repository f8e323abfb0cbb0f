package main

import "fmt"

func exec_task(arg string) string { return arg }

// main runs the task locally.
func main() {
	fmt.Println(exec_task("hi"))
}
