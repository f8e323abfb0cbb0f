// Package gotoolchain finds the go command, which pelato runs to load the type
// information of the tasks' imports (check, the language server) and to compile tasks
// (invoke, dev), and says once, for all of them, how to install it when it is missing.
package gotoolchain

import (
	"errors"
	"fmt"
	"os/exec"
)

// ErrNotFound is returned (wrapped) when the go command cannot be found; its text is
// the install hint.
var ErrNotFound = errors.New("`go` was not found on PATH; install Go 1.24 or newer from https://go.dev/dl/ (or your package manager) and make sure `go` is on PATH")

// LookPath finds the go command name ("go", or a path) as exec.LookPath does; when
// it is not there, the error wraps ErrNotFound.
func LookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	if name == "go" && errors.Is(err, exec.ErrNotFound) {
		return "", ErrNotFound
	}
	return "", fmt.Errorf("the go command %q: %w (%w)", name, err, ErrNotFound)
}
