package main

func exec_task(key string, data string) (string, string) {
	return key, data
}
