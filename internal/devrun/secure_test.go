package devrun

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestDevServerLockedDown: the embedded server wants the run's token (carried by the
// printed URL, recorded for `pelato publish` in a file only the user can read), bounds
// JetStream, and the HTTP producers refuse cross-origin requests.
func TestDevServerLockedDown(t *testing.T) {
	requireGo(t)
	// The record goes under the user cache folder: a private one, keeping Go's caches.
	env, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	goCache, modCache, _ := strings.Cut(strings.TrimSpace(string(env)), "\n")
	t.Setenv("GOCACHE", goCache)
	t.Setenv("GOMODCACHE", modCache)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	port := freePort(t)
	dir := project(t, strings.Replace(rulesWorkflow, "%d", strconv.Itoa(port), 1), map[string]string{"echo.go": echoTask, "kv.go": kvTask})
	r, ev := start(t, dir, Options{Record: true})
	ready := ev.wait(t, "ready", time.Second, func(e Event) bool { return e.Kind == Ready })
	if !strings.Contains(ready.URL, "@127.0.0.1:") || ready.URL != r.URL() {
		t.Errorf("ready URL %q, want the token in it", ready.URL)
	}
	bare := "nats://" + ready.URL[strings.Index(ready.URL, "@")+1:]
	if nc, err := nats.Connect(bare, nats.Timeout(2*time.Second)); err == nil {
		nc.Close()
		t.Errorf("connected to %s without the token", bare)
	}
	if nc, err := nats.Connect(bare, nats.Token("wrong"), nats.Timeout(2*time.Second)); err == nil {
		nc.Close()
		t.Errorf("connected with a wrong token")
	}
	got, ok := RunningURL()
	if !ok || got != r.URL() {
		t.Errorf("RunningURL = %q, %v", got, ok)
	}
	if err := Publish(got, "proc.in", []byte("via publish")); err != nil {
		t.Errorf("Publish with the recorded URL: %v", err)
	}
	ev.wait(t, "the published message", 10*time.Second, func(e Event) bool { return e.Kind == Message && e.Result == "echo:via publish" })
	p, _ := statePath()
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v; want mode 0600", p, st, err)
	}
	if err := Publish(bare, "proc.in", []byte("x")); err == nil || strings.Contains(err.Error(), r.URL()) {
		t.Errorf("Publish without the token: %v", err)
	}
	if js := r.ns.JetStreamConfig(); js == nil || js.MaxMemory != DefaultJetStreamMaxMemory || js.MaxStore != DefaultJetStreamMaxStore {
		t.Errorf("JetStream config %+v, want bounded", js)
	}

	url := "http://127.0.0.1:" + strconv.Itoa(port)
	for _, c := range []struct {
		origin string
		want   int
	}{{"", 200}, {url, 200}, {"http://evil.example", 403}, {"null", 403}} {
		req, _ := http.NewRequest("POST", url, strings.NewReader("hi"))
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("POST with Origin %q: %d, want %d", c.origin, resp.StatusCode, c.want)
		}
	}
}

func TestExposedHost(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": false, "::1": false, "localhost": false, "127.0.0.2": false, "0.0.0.0": true, "::": true, "192.168.1.4": true, "example.com": true} {
		if got := exposed(host); got != want {
			t.Errorf("exposed(%q) = %v", host, got)
		}
	}
}

// TestNATSURLRedacted: a --nats URL that cannot be reached is named without its
// user information, by Start and by Publish.
func TestNATSURLRedacted(t *testing.T) {
	url := "nats://dev:s3cret-pass@127.0.0.1:" + strconv.Itoa(freePort(t))
	dir := project(t, strings.Replace(rulesWorkflow, "%d", strconv.Itoa(freePort(t)), 1), map[string]string{"echo.go": echoTask, "kv.go": kvTask})
	_, err := Start(context.Background(), Options{Root: dir, NATSURL: url, CacheDir: t.TempDir()})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "REDACTED@127.0.0.1") {
		t.Errorf("Start: %v; want the URL without its password", err)
	}
	if err := Publish(url, "x", []byte("y")); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Publish: %v; want the URL without its password", err)
	}
}
