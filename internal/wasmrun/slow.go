package wasmrun

import (
	"fmt"
	"time"
)

// SlowCompile is how long a compile may take before callers tell the user about it:
// a cached module loads in milliseconds, a first compile on a new machine takes a
// minute or two.
const SlowCompile = time.Second

// WhileCompiling tells the user, through say, about a compile that is taking long:
// once it has run for after, that it is compiling and why that takes time; then every
// ten seconds how long it has been going. The returned done (called with the
// compile's error) ends the reports and, if anything was said, says how long the
// compile took. `pelato invoke` and `pelato dev` both use it, so a first run is
// never silent.
func WhileCompiling(after time.Duration, say func(msg string)) (done func(error)) {
	stop := make(chan struct{})
	finished := make(chan bool, 1)
	start := time.Now()
	go func() {
		told := false
		defer func() { finished <- told }()
		timer := time.NewTimer(after)
		defer timer.Stop()
		select {
		case <-stop:
			return
		case <-timer.C:
		}
		told = true
		say("compiling with the Go toolchain; a task's first build takes a while (on a new machine a minute or two, as Go's standard library is compiled for WebAssembly too); later runs take well under a second")
		tick := time.NewTicker(10 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				say(fmt.Sprintf("still compiling (%s)", time.Since(start).Round(time.Second)))
			}
		}
	}()
	return func(err error) {
		close(stop)
		if <-finished && err == nil {
			say(fmt.Sprintf("compiled in %s", time.Since(start).Round(100*time.Millisecond)))
		}
	}
}
