package main

// exec_task has the signature of the string templates, not of the KV one.
func exec_task(arg string) string {
	return arg
}
