package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"os/signal"
	"plugin"
	"syscall"
	"unsafe"
)

var (
	_ = net.Dial
	_ = http.Get
	_ = httptest.NewServer
	_ = url.Parse
	_ = exec.Command
	_ = signal.Notify
	_ = plugin.Open
	_ = syscall.Getpid
	_ = unsafe.Sizeof(0)
)

func exec_task(arg string) string { return arg }
