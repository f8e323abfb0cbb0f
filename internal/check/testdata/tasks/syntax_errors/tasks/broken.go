package main

func exec_task(arg string) string {
	x := [1, 2
	if arg == {
		return "a"
	}
	return arg +
}

func other() {
	for i := 0; i < 10 i++ {
	}
}
