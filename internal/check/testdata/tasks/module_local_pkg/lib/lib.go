// Package lib is shared by the project's tasks.
package lib

import "strings"

// Shout upper-cases s.
func Shout(s string) string { return strings.ToUpper(s) + "!" }
