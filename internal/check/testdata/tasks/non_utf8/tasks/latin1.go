package main

// café au lait
func exec_task(arg string) string {
	return "été" + arg
}
