package wasmrun

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWhileCompiling(t *testing.T) {
	var mu sync.Mutex
	var said []string
	say := func(m string) { mu.Lock(); said = append(said, m); mu.Unlock() }

	// A quick compile says nothing.
	WhileCompiling(time.Hour, say)(nil)
	if len(said) != 0 {
		t.Fatalf("a quick compile said %q", said)
	}
	// A slow one says why it takes time, then how long it took.
	done := WhileCompiling(time.Millisecond, say)
	time.Sleep(50 * time.Millisecond)
	done(nil)
	if len(said) != 2 || !strings.Contains(said[0], "first build takes a while") || !strings.HasPrefix(said[1], "compiled in ") {
		t.Errorf("said %q", said)
	}
	// A failed one does not claim it compiled.
	said = nil
	done = WhileCompiling(time.Millisecond, say)
	time.Sleep(50 * time.Millisecond)
	done(errors.New("syntax error"))
	if len(said) != 1 {
		t.Errorf("a failed compile said %q", said)
	}
}
