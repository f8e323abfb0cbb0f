package main

import (
	"fmt"
	"os"
	"strings"
)

func exec_task(arg string) string {
	unused := 1
	n := strings.Count(arg, "a") + "x"
	fmt.Println(undefinedThing)
	var s string = 3.5
	return n
}

func helper() int {
	if true {
		return 1
	}
}
