package main

import "example.com/proj/tasks/a"

func Helper(s string) string { return s }

func exec_task(arg string) string { return a.Other(arg) }
