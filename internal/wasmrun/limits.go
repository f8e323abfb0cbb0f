package wasmrun

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Default limits of a task call. A task is a function from a message to a result:
// these leave ample room for that while stopping a loop, a runaway allocation or an
// unbounded recursion quickly.
const (
	// DefaultTimeout is the longest one call may run.
	DefaultTimeout = 10 * time.Second
	// DefaultMemory caps an instance's linear memory (the task's whole Go heap).
	DefaultMemory = 512 << 20
	// DefaultStack caps the task's goroutine stack; Go's own default (1 GiB) makes an
	// unbounded recursion take 16 s before it traps; at 8 MiB (a
	// usual thread stack) it traps in about half a second.
	DefaultStack = 8 << 20
	// DefaultRetainMemory is the most linear memory a pooled instance keeps after a
	// call: one that grew beyond it is closed, so its memory goes back to the system.
	DefaultRetainMemory = 64 << 20
	// MaxMemory is the largest memory a 32-bit WebAssembly instance can address.
	MaxMemory = 4 << 30
)

// Limits bound the calls of a task. The zero value of each field means its default;
// Options.Limits sets a Runtime's defaults and CompileOptions.Limits a Module's.
type Limits struct {
	// Timeout is the longest a call may run before the instance is stopped
	// (DefaultTimeout when 0; no limit when negative).
	Timeout time.Duration
	// Memory caps each instance's linear memory in bytes (DefaultMemory when 0; at
	// most MaxMemory). The guest's garbage collector is told to work harder as the
	// heap nears it; a task that needs more is stopped.
	Memory uint64
	// Stack caps the task's goroutine stack in bytes (DefaultStack when 0).
	Stack uint64
	// RetainMemory is the most memory a pooled instance keeps between calls
	// (DefaultRetainMemory when 0); a larger instance is closed after its call.
	RetainMemory uint64
}

// withDefaults fills the zero fields of l from def, then from the package defaults.
func (l Limits) withDefaults(def Limits) Limits {
	pick := func(v, d, fallback uint64) uint64 {
		switch {
		case v != 0:
			return v
		case d != 0:
			return d
		}
		return fallback
	}
	if l.Timeout == 0 {
		l.Timeout = def.Timeout
	}
	if l.Timeout == 0 {
		l.Timeout = DefaultTimeout
	}
	l.Memory = min(pick(l.Memory, def.Memory, DefaultMemory), MaxMemory)
	l.Memory = max(l.Memory-l.Memory%wasmPageSize, 16*wasmPageSize)
	l.Stack = pick(l.Stack, def.Stack, DefaultStack)
	l.RetainMemory = pick(l.RetainMemory, def.RetainMemory, DefaultRetainMemory)
	return l
}

// softMemoryLimit is the Go memory limit the guest's runtime gets: below the hard cap,
// so its garbage collector frees what it can before a grow would fail.
func (l Limits) softMemoryLimit() uint64 { return l.Memory - l.Memory/8 }

// Which limit a LimitError is about.
const (
	LimitTime   = "time"
	LimitMemory = "memory"
	LimitStack  = "stack"
)

// LimitError reports that a call was stopped because the task exceeded a limit. The
// instance is discarded; the Module makes a new one for the next call.
type LimitError struct {
	// Limit is LimitTime, LimitMemory or LimitStack.
	Limit string
	// Timeout is the time limit (LimitTime).
	Timeout time.Duration
	// Bytes is the memory or stack limit.
	Bytes uint64
}

// Error implements error.
func (e *LimitError) Error() string {
	switch e.Limit {
	case LimitTime:
		return fmt.Sprintf("task stopped: still running after its time limit of %s (an endless loop?)", e.Timeout)
	case LimitMemory:
		return fmt.Sprintf("task stopped: it needed more than its memory limit of %s", FormatBytes(e.Bytes))
	case LimitStack:
		return fmt.Sprintf("task stopped: its stack grew past the limit of %s (unbounded recursion?)", FormatBytes(e.Bytes))
	}
	return "task stopped: limit " + e.Limit + " exceeded"
}

// Is makes a time LimitError match context.DeadlineExceeded.
func (e *LimitError) Is(target error) bool {
	return e.Limit == LimitTime && target == context.DeadlineExceeded
}

// errTimeLimit is the cancellation cause of a call that ran out of time.
var errTimeLimit = errors.New("wasmrun: call time limit reached")

// limitFromOutput recognises the Go runtime's report of a stack overflow or of
// memory exhaustion in what a crashed guest wrote to stderr.
func (l Limits) limitFromOutput(out string) *LimitError {
	switch {
	case strings.Contains(out, "goroutine stack exceeds") || strings.Contains(out, "fatal error: stack overflow"):
		return &LimitError{Limit: LimitStack, Bytes: l.Stack}
	case strings.Contains(out, "out of memory"):
		return &LimitError{Limit: LimitMemory, Bytes: l.Memory}
	}
	return nil
}

// FormatBytes writes n in the largest binary unit that keeps it whole enough to read:
// 512 MiB, 1.5 GiB, 64 KiB, 100 B.
func FormatBytes(n uint64) string {
	units := []struct {
		size uint64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}}
	for _, u := range units {
		if n >= u.size {
			v := float64(n) / float64(u.size)
			if n%u.size == 0 {
				return fmt.Sprintf("%d %s", n/u.size, u.name)
			}
			return fmt.Sprintf("%.1f %s", v, u.name)
		}
	}
	return fmt.Sprintf("%d B", n)
}

// ParseBytes reads a size such as 512MiB, 1GiB, 256MB, 64k or 1048576 (bytes). The
// units are binary whatever their spelling (MB = MiB), as for memory they always are.
func ParseBytes(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	i := len(t)
	for i > 0 && (t[i-1] < '0' || t[i-1] > '9') && t[i-1] != '.' {
		i--
	}
	num, unit := strings.TrimSpace(t[:i]), strings.ToLower(strings.TrimSpace(t[i:]))
	mult := map[string]uint64{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || mult == 0 || v < 0 || v*float64(mult) >= 1<<63 {
		return 0, fmt.Errorf("%q is not a size; write it like 512MiB, 1GiB or 65536", s)
	}
	return uint64(v * float64(mult)), nil
}

// callContext bounds ctx by the time limit.
func (l Limits) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if l.Timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, l.Timeout, errTimeLimit)
}

// interrupted returns the LimitError of a call whose context (from callContext) ended
// because its time limit passed, else nil.
func (l Limits) interrupted(ctx context.Context) *LimitError {
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), errTimeLimit) {
		return &LimitError{Limit: LimitTime, Timeout: l.Timeout}
	}
	return nil
}
