package main

func exec_task(arg string) string {
	n := 1
	return arg + n
}
