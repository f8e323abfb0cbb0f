package main

import "example.com/proj/lib"

func exec_task(arg string) string {
	return lib.Shout(arg) + lib.Whisper(arg)
}
