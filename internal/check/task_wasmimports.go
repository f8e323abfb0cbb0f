package check

import "strings"

// WasmImport is an import path that cannot work inside a wasip2 component built by
// TinyGo and run by wasmCloud, with the reason shown in the PL408 warning.
type WasmImport struct {
	// Path is the import path; a path ending in "/..." also matches every package
	// below it.
	Path string
	// Reason completes the sentence "<path> cannot work in a wasip2 component: ...".
	Reason string
}

// WasmIncompatibleImports returns the table behind PL408, in the order it is matched.
//
// The rationale: a wasmCloud component is a WebAssembly component (TinyGo's wasip2
// target) that reaches the world only through the WIT interfaces its template links
// (wasmcloud:messaging, wasi:http, wasi:keyvalue, wasi:cli). It has no processes, no
// signals, no user database, no dynamic loading, no C, no raw system calls and no
// sockets of its own. Packages that merely parse or format network data (net/url,
// net/netip, net/mail, net/textproto, mime, ...) are fine and are not listed; so are
// unsafe and reflect.
func WasmIncompatibleImports() []WasmImport {
	const (
		noSockets = "wasmCloud components have no sockets of their own; they talk to the world only through the template's WIT interfaces (messaging, wasi:http, key-value), so dialing and listening fail at run time"
		noSyscall = "WebAssembly has no raw system calls (TinyGo's syscall is a stub); use os, io and the template's interfaces"
		noCgo     = "TinyGo's wasip2 target compiles Go only: there is no C toolchain, libc or cgo in a component"
		noProfile = "TinyGo does not implement profiling or execution tracing"
	)
	return []WasmImport{
		{"C", noCgo},
		{"runtime/cgo", noCgo},
		{"os/exec", "a component cannot start processes: exec.Command always fails"},
		{"os/signal", "a component receives no operating-system signals"},
		{"os/user", "a component has no user database"},
		{"plugin", "TinyGo and WebAssembly cannot load plugins (dynamically linked Go code)"},
		{"syscall", noSyscall},
		{"golang.org/x/sys/unix", noSyscall},
		{"golang.org/x/sys/windows", noSyscall},
		{"net", noSockets},
		{"net/http", "net/http cannot listen or dial in a component: http_producer_nats already serves HTTP through wasi:http, and outgoing requests need a wasi:http client, not net/http"},
		{"net/http/...", "it builds on net/http, which cannot listen or dial in a component"},
		{"net/rpc/...", noSockets},
		{"net/rpc", noSockets},
		{"net/smtp", noSockets},
		{"crypto/tls", "TLS runs over sockets, which a component does not have (certificate parsing with crypto/x509 is fine)"},
		{"log/syslog", "there is no syslog socket in a component; write to the log package or standard error instead"},
		{"runtime/pprof", noProfile},
		{"runtime/trace", noProfile},
	}
}

// wasmIncompatible returns the PL408 reason for an import path, or "".
func wasmIncompatible(path string) string {
	for _, w := range WasmIncompatibleImports() {
		if prefix, ok := strings.CutSuffix(w.Path, "/..."); ok {
			if strings.HasPrefix(path, prefix+"/") {
				return w.Reason
			}
		} else if w.Path == path {
			return w.Reason
		}
	}
	return ""
}
