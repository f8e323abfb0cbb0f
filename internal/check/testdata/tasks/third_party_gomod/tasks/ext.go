package main

import "github.com/example/notthere/pkg"

func exec_task(arg string) string {
	return pkg.Transform(arg)
}
