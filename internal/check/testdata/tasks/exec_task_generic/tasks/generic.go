package main

func exec_task[S ~string](arg S) S { return arg }
