//go:build ignore

package main

func exec_task(arg string) string {
	if arg == "ok" {
		return "fine"
	}
	return explode(arg)
}

func explode(arg string) string {
	panic("boom: " + arg)
}
