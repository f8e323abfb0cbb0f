package main

func suffix() string { return "!" }
