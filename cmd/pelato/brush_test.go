package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/pelato-dev/pelato/internal/buildertest"
	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/lattice/latticetest"
)

// TestBrushCommand runs `pelato brush` end to end: the test builder image in the real
// Docker daemon, an in-process registry, a real NATS server and the wadm double; then
// a broken task stops it before deploying; then the JSON lines and metrics.
func TestBrushCommand(t *testing.T) {
	img := testImage(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dir := cliProject(t, 2, func(i int) string { return buildertest.TaskCode() })
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
	w := latticetest.NewWadm(t, srv.URL(), latticetest.WadmOptions{PlaceAfter: 20 * time.Millisecond})
	w.AddHost("default", lattice.Host{ID: "NEDGE1XXXXXXXXXXXXXXXX", FriendlyName: "edge-1", Labels: map[string]string{"host-type": "edge"}, Version: "1.9.0"})
	os.WriteFile(filepath.Join(dir, ".env"), []byte("ENABLE_METRICS=True\n"), 0o644)
	args := []string{"brush", dir, "--builder-image", img, "--registry", strings.TrimPrefix(reg.URL, "http://"), "--nats-url", srv.URL(), "--progress", "plain"}

	code, out, errOut := pelato(t, args...)
	for _, want := range []string{"BUILD", "PUSH", "VERSION", "2 built", "2 pushed", "deployed"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the summary", want)
		}
	}
	if code != 0 || t.Failed() {
		t.Fatalf("brush: exit %d\n%s\n%s", code, out, errOut)
	}
	metrics, _ := os.ReadFile(filepath.Join(dir, "metrics.yaml"))
	for _, key := range []string{"command: brush", "n_task: 2", "gen_time:", "components_build_time:", "components_deploy_time:", "time_total:"} {
		if !strings.Contains(string(metrics), key) {
			t.Errorf("metrics.yaml lacks %q:\n%s", key, metrics)
		}
	}

	// A task that does not compile: the other is pushed, nothing is deployed, exit 1.
	os.WriteFile(filepath.Join(dir, "tasks", "c1.go"), []byte(buildertest.TaskCode("//fakewash:error undefined: nope")), 0o644)
	puts := len(w.Requests())
	code, out, errOut = pelato(t, append(args, "--format", "json")...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last struct {
		Kind          string          `json:"kind"`
		Build         json.RawMessage `json:"build"`
		Push          json.RawMessage `json:"push"`
		Deploy        json.RawMessage `json:"deploy"`
		StoppedBefore string          `json:"stopped_before"`
	}
	if code != 1 || json.Unmarshal([]byte(lines[len(lines)-1]), &last) != nil || last.Kind != "result" ||
		last.StoppedBefore != "deploy" || last.Build == nil || last.Push == nil || last.Deploy != nil {
		t.Errorf("broken task: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "tasks/c1.go") || !strings.Contains(errOut, "stopped before deploy") {
		t.Errorf("the failure is not explained: the events should name tasks/c1.go, stderr the stop:\n%s", errOut)
	}
	for _, r := range w.Requests()[puts:] {
		if strings.Contains(r.Subject, ".model.put") {
			t.Errorf("wadm got %s although a build failed", r.Subject)
		}
	}
}
