package main

/*
#include <stdio.h>
*/
import "C"

func exec_task(arg string) string {
	C.puts(C.CString(arg))
	return arg
}
