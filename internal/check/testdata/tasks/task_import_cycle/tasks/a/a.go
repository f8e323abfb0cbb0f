package main

import "example.com/proj/tasks/b"

func exec_task(arg string) string { return b.Helper(arg) }
