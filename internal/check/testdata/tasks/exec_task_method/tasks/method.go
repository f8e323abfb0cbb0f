package main

type T struct{}

func (t *T) exec_task(arg string) string { return arg }
