package main

func exec_task(k, d string) (newKey string, newValue int) {
	newKey = k
	newValue = len(d)
	return
}
