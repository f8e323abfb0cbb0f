package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/pipeline"
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

// loadingMessage is what a command says on a terminal while the go command prepares
// the type information of the tasks' imports.
const loadingMessage = "loading Go type information for the tasks' imports; the first run type-checks them from source (a few seconds)"

// loadTypes makes sure the type information of the imports of the project's tasks is
// loaded into checker before a command checks the project with it. On a cold machine
// that takes seconds (from source while the go command compiles); on a terminal the command says so,
// every ten seconds how long it has been, and when it is done, as notices through
// the pipeline's progress events (written to stderr). Elsewhere it does nothing: the
// check itself waits.
func loadTypes(ctx context.Context, stderr io.Writer, dir string, checker *check.TaskChecker) {
	if !isTerminal(stderr) {
		return
	}
	res, err := check.Project(ctx, check.Options{Root: dir, Tasks: checker, NoWait: true})
	if err != nil || !res.Pending() {
		return
	}
	rep := &pipeline.TextReporter{W: stderr}
	notice := func(msg string) { rep.Event(pipeline.Event{Kind: pipeline.Log, Level: "notice", Message: msg}) }
	start := time.Now()
	notice(loadingMessage + "…")
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-res.Loading:
			notice(fmt.Sprintf("loaded Go type information in %s", time.Since(start).Round(100*time.Millisecond)))
			return
		case <-ctx.Done():
			return
		case <-tick.C:
			notice(fmt.Sprintf("still loading Go type information (%s)", time.Since(start).Round(time.Second)))
		}
	}
}
