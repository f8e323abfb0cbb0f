package main

import (
	"fmt"
	"time"

	"github.com/pelato-dev/pelato/internal/wasmrun"
	"github.com/spf13/cobra"
)

// limitFlags are the --timeout, --memory and --stack flags of the commands that run
// tasks (invoke, dev).
type limitFlags struct {
	timeout       time.Duration
	memory, stack string
}

// register adds the flags to cmd; what names what one limit applies to.
func (f *limitFlags) register(cmd *cobra.Command, what string) {
	cmd.Flags().DurationVar(&f.timeout, "timeout", wasmrun.DefaultTimeout, "longest "+what+" may run before the task is stopped (0: no limit)")
	cmd.Flags().StringVar(&f.memory, "memory", "512MiB", "memory cap of each task instance (up to 4GiB)")
	cmd.Flags().StringVar(&f.stack, "stack", "8MiB", "stack cap of a task (unbounded recursion stops there)")
}

// limits returns the limits the flags describe.
func (f *limitFlags) limits() (wasmrun.Limits, error) {
	var l wasmrun.Limits
	switch {
	case f.timeout < 0:
		return l, usageError(fmt.Errorf("--timeout %s is negative; use 0 for no limit", f.timeout))
	case f.timeout == 0:
		l.Timeout = -1
	default:
		l.Timeout = f.timeout
	}
	var err error
	if l.Memory, err = wasmrun.ParseBytes(f.memory); err != nil {
		return l, usageError(fmt.Errorf("--memory: %w", err))
	}
	if l.Memory < 1<<20 || l.Memory > wasmrun.MaxMemory {
		return l, usageError(fmt.Errorf("--memory %s is outside 1MiB..4GiB", f.memory))
	}
	if l.Stack, err = wasmrun.ParseBytes(f.stack); err != nil {
		return l, usageError(fmt.Errorf("--stack: %w", err))
	}
	if l.Stack < 64<<10 || l.Stack > l.Memory {
		return l, usageError(fmt.Errorf("--stack %s is outside 64KiB..--memory", f.stack))
	}
	return l, nil
}

// limitHint says which flag raises the limit an error is about.
func limitHint(le *wasmrun.LimitError) string {
	switch le.Limit {
	case wasmrun.LimitTime:
		return "raise it with --timeout (0: no limit)"
	case wasmrun.LimitMemory:
		return "raise it with --memory"
	}
	return "raise it with --stack if the recursion is meant to be this deep"
}
