package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pelato-dev/pelato/internal/check"
)

// isTerminal reports whether w is a terminal (stderr of an interactive run), where
// commands show live progress. A writer may say so itself with IsTerminal (tests).
func isTerminal(w io.Writer) bool {
	if t, ok := w.(interface{ IsTerminal() bool }); ok {
		return t.IsTerminal()
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// loadingMessage is what a command shows on a terminal while the go command prepares
// the type information of the tasks' imports.
const loadingMessage = "Loading Go type information (the first run compiles Go's standard library)…"

// loadTypes makes sure the type information of the imports of the project's tasks is
// loaded into checker before a command checks the project with it. On a cold machine
// that takes the go command seconds to minutes; on a terminal the command says so,
// with the time elapsed, instead of being silent. Elsewhere it does nothing: the
// check itself waits.
func loadTypes(ctx context.Context, stderr io.Writer, dir string, checker *check.TaskChecker) {
	if !isTerminal(stderr) {
		return
	}
	res, err := check.Project(ctx, check.Options{Root: dir, Tasks: checker, NoWait: true})
	if err != nil || !res.Pending() {
		return
	}
	start := time.Now()
	fmt.Fprint(stderr, loadingMessage)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-res.Loading:
			fmt.Fprintf(stderr, "\r\033[KLoaded Go type information in %s.\n", time.Since(start).Round(100*time.Millisecond))
			return
		case <-ctx.Done():
			fmt.Fprint(stderr, "\r\033[K")
			return
		case <-tick.C:
			fmt.Fprintf(stderr, "\r%s %ds", loadingMessage, int(time.Since(start).Seconds()))
		}
	}
}
