package templates

import (
	"regexp"
	"sync"
)

var tinyGoArg = regexp.MustCompile(`(?m)^ARG TINYGO_VERSION=([0-9][0-9A-Za-z.+-]*)\s*$`)

// TinyGoVersion returns the TinyGo version pelato's builder image pins (the default
// of `ARG TINYGO_VERSION` in builder/Dockerfile), such as "0.42.0": the toolchain the
// components are built with, which rules about TinyGo's behaviour follow.
var TinyGoVersion = sync.OnceValue(func() string {
	m := tinyGoArg.FindSubmatch(Builder())
	if m == nil {
		panic("templates: builder/Dockerfile has no `ARG TINYGO_VERSION=` default")
	}
	return string(m[1])
})
