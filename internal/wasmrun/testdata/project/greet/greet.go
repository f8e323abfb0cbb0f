// Package greet is a local dependency pinned by the project go.mod.
package greet

// Hello greets name.
func Hello(name string) string { return "hi " + name + " from greet" }
