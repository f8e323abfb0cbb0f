package main

import "../shared"

func exec_task(arg string) string { return shared.Do(arg) }
