package devrun

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// cycle is twoProcessors with a → b → a.
var cycle = strings.NewReplacer("dest_topic: a.out", "dest_topic: b.in", "dest_topic: b.out", "dest_topic: a.in").Replace(twoProcessors)

// TestLoopStoppedByHops: the checker's cycle warning is shown at start, a message
// going round the cycle is stopped after MaxHops tasks with a logged LoopError, and
// Settle then finds nothing in flight.
func TestLoopStoppedByHops(t *testing.T) {
	dir := project(t, cycle, map[string]string{"a.go": echoTask, "b.go": echoTask})
	r, ev := start(t, dir, Options{MaxHops: 5})
	warn := ev.wait(t, "the cycle warning", time.Second, func(e Event) bool { return e.Kind == Warning })
	if !strings.Contains(warn.Text, "PL302") || !strings.Contains(warn.Text, "--max-hops") {
		t.Errorf("warning: %q", warn.Text)
	}
	start := time.Now()
	if err := r.Conn().Publish("a.in", []byte("x")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n, err := r.Settle(ctx, 0); err != nil || n != 0 {
		t.Fatalf("Settle: %d in flight, %v", n, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("settling took %s", d)
	}
	handled, failed := r.Stats()
	if handled != 6 || failed != 1 || r.Looped() != 1 {
		t.Errorf("handled %d, failed %d, looped %d; want 6, 1, 1", handled, failed, r.Looped())
	}
	e := ev.wait(t, "the stopped loop", time.Second, func(e Event) bool { return e.Kind == Message && e.Error != "" })
	if !strings.Contains(e.Error, "loop stopped: the message has passed through 5 tasks") {
		t.Errorf("error: %q", e.Error)
	}
}

// TestSettleMessageBound: without a hop bound in reach, the message bound stops Settle.
func TestSettleMessageBound(t *testing.T) {
	dir := project(t, cycle, map[string]string{"a.go": echoTask, "b.go": echoTask})
	r, _ := start(t, dir, Options{MaxHops: 1 << 20})
	if err := r.Conn().Publish("a.in", []byte("x")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.Settle(ctx, 50); !errors.Is(err, ErrMessageBound) {
		t.Fatalf("Settle: %v, want ErrMessageBound", err)
	}
	if !r.Consumes("a.in") || r.Consumes("c.in") || strings.Join(r.SourceTopics(), ",") != "a.in,b.in" {
		t.Errorf("Consumes / SourceTopics: %v", r.SourceTopics())
	}
}

func TestSubjectMatches(t *testing.T) {
	for _, c := range []struct {
		pattern, subject string
		want             bool
	}{
		{"a.b", "a.b", true}, {"a.b", "a.c", false}, {"a.*", "a.b", true}, {"a.*", "a.b.c", false},
		{"a.>", "a.b.c", true}, {"a.>", "a", false}, {">", "x", true}, {"*.b", "a.b", true}, {"a", "a.b", false},
	} {
		if got := SubjectMatches(c.pattern, c.subject); got != c.want {
			t.Errorf("SubjectMatches(%q, %q) = %v", c.pattern, c.subject, got)
		}
	}
}

// TestHopsOnlyWithLoops: results carry the hop count only while the workflow has a
// loop; a chain without one publishes plain messages (and is never cut by MaxHops).
func TestHopsOnlyWithLoops(t *testing.T) {
	for _, c := range []struct {
		name, workflow string
		header         bool
	}{
		{"chain", strings.Replace(twoProcessors, "dest_topic: a.out", "dest_topic: b.in", 1), false},
		{"cycle", cycle, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := project(t, c.workflow, map[string]string{"a.go": echoTask, "b.go": echoTask})
			r, _ := start(t, dir, Options{MaxHops: 1})
			sub, err := r.Conn().SubscribeSync("b.in")
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Conn().Publish("a.in", []byte("x")); err != nil {
				t.Fatal(err)
			}
			m, err := sub.NextMsg(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Header.Get(HopsHeader) != ""; got != c.header {
				t.Errorf("a's result carries %s: %q; want a header: %v", HopsHeader, m.Header.Get(HopsHeader), c.header)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := r.Settle(ctx, 0); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int64{false: 0, true: 1}[c.header]; r.Looped() != want {
				t.Errorf("looped %d, want %d (MaxHops 1)", r.Looped(), want)
			}
		})
	}
}
