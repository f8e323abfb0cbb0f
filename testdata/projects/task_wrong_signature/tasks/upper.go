package main

func exec_task(arg []byte) string {
	return string(arg)
}
