package main

func helper(s string) string { return s }
