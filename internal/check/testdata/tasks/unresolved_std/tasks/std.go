package main

import "mylib/foo"

func exec_task(arg string) string { return foo.Do(arg) }
