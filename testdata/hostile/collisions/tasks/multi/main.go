package main

// exec_task shouts its input.
func exec_task(arg string) string { return shout(arg) + suffix() }
