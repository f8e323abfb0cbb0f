package pipeline

import (
	"context"
	"errors"
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

// brushEnv is a project of n test-builder tasks, a real Docker daemon with the test
// builder image, an in-process OCI registry, a real NATS server and the wadm double
// with one edge host.
type brushEnv struct {
	opts BrushOptions
	wadm *latticetest.Wadm
	root string
}

func newBrushEnv(t *testing.T, n int, code func(i int) string) *brushEnv {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	root := buildertest.Project(t, n, code)
	build, _ := testBuild(t, root)
	reg := httptest.NewServer(registry.New(registry.Logger(nilLog())))
	t.Cleanup(reg.Close)
	build.Registry = strings.TrimPrefix(reg.URL, "http://")
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
	wadm := latticetest.NewWadm(t, srv.URL(), latticetest.WadmOptions{PlaceAfter: 30 * time.Millisecond})
	wadm.AddHost("default", lattice.Host{ID: "NEDGE1", FriendlyName: "edge-1", Labels: map[string]string{"host-type": "edge"}, Version: "1.9.0"})
	return &brushEnv{root: root, wadm: wadm, opts: BrushOptions{
		Build:  build,
		Deploy: DeployOptions{Lattice: LatticeConn{Options: lattice.Options{URL: srv.URL(), Timeout: 2 * time.Second}}, PollInterval: 20 * time.Millisecond, Timeout: 10 * time.Second},
	}}
}

func (e *brushEnv) run(t *testing.T) (*BrushResult, *events) {
	t.Helper()
	ev := &events{}
	opts := e.opts
	opts.Reporter = ev
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Brush(ctx, opts)
	if err != nil {
		t.Fatalf("brush: %v\n%s", err, ev.text())
	}
	return res, ev
}

// TestBrushEndToEnd: check → gen → build → push → deploy of two tasks, then a second
// run that changes nothing anywhere.
func TestBrushEndToEnd(t *testing.T) {
	e := newBrushEnv(t, 2, func(int) string { return buildertest.TaskCode() })
	res, ev := e.run(t)
	if res.Failed() != 0 || res.StoppedBefore != "" || res.Build.Count(StatusBuilt) != 2 || res.Push == nil || res.Deploy == nil {
		t.Fatalf("first run: %s\n%s", res.Summary(), ev.text())
	}
	for _, c := range res.Push.Components {
		if c.Status != StatusPushed {
			t.Errorf("%s: push %s", c.ComponentName, c.Status)
		}
	}
	for _, c := range res.Deploy.Components {
		if c.Status != lattice.StatusDeployed {
			t.Errorf("%s: deploy %s %s", c.ComponentName, c.Status, c.Err)
		}
	}
	// The one reporter saw all three stages.
	for _, title := range []string{"Building", "Pushing", "Deploying"} {
		seen := false
		for _, x := range ev.all {
			seen = seen || x.Kind == Begin && strings.HasPrefix(x.Title, title)
		}
		if !seen {
			t.Errorf("no %q stage in the progress:\n%s", title, ev.text())
		}
	}

	res, ev = e.run(t)
	if res.Failed() != 0 || res.Build.Count(StatusSkipped) != 2 {
		t.Fatalf("second run: %s\n%s", res.Summary(), ev.text())
	}
	for _, c := range res.Push.Components {
		if c.Status != StatusUnchanged {
			t.Errorf("second run: %s pushed again (%s)", c.ComponentName, c.Status)
		}
	}
	for _, c := range res.Deploy.Components {
		if c.Action != ActionUnchanged {
			t.Errorf("second run: %s deploy action %q", c.ComponentName, c.Action)
		}
	}
}

// TestBrushStopsBeforeDeploy: a task that does not compile stops the run before
// deploying — the component that built is pushed, wadm is never asked to put anything.
func TestBrushStopsBeforeDeploy(t *testing.T) {
	e := newBrushEnv(t, 2, func(i int) string {
		if i == 1 {
			return buildertest.TaskCode("//fakewash:error undefined: nope")
		}
		return buildertest.TaskCode()
	})
	res, ev := e.run(t)
	if res.StoppedBefore != StageDeploy || res.Deploy != nil || res.Build.Failed() != 1 {
		t.Fatalf("%s\n%s", res.Summary(), ev.text())
	}
	if res.Push == nil || len(res.Push.Components) != 1 || res.Push.Components[0].ComponentName != "c0" || res.Push.Components[0].Status != StatusPushed {
		t.Errorf("push: %+v", res.Push)
	}
	for _, r := range e.wadm.Requests() {
		if strings.Contains(r.Subject, ".model.put") || strings.Contains(r.Subject, ".model.deploy.") {
			t.Errorf("wadm got %s although a build failed", r.Subject)
		}
	}
	if ev.count(Log, "nothing deployed") != 1 {
		t.Errorf("the stop was not reported:\n%s", ev.text())
	}

	// Fixed: the next run deploys both, rebuilding only the fixed task.
	os.WriteFile(filepath.Join(e.root, "tasks", "c1.go"), []byte(buildertest.TaskCode()), 0o644)
	res, ev = e.run(t)
	if res.Failed() != 0 || res.StoppedBefore != "" || res.Build.Count(StatusBuilt) != 1 || res.Build.Count(StatusSkipped) != 1 || len(res.Deploy.Components) != 2 {
		t.Fatalf("after the fix: %s\n%s", res.Summary(), ev.text())
	}
}

// TestBrushProjectErrors: a project with errors stops before anything is built.
func TestBrushProjectErrors(t *testing.T) {
	e := newBrushEnv(t, 1, func(int) string { return "package main\n\nfunc exec_task(arg string) int { return 1 }\n" })
	_, err := Brush(context.Background(), e.opts)
	var cf *CheckFailedError
	if !errors.As(err, &cf) {
		t.Fatalf("err = %v, want the check's failure", err)
	}
	if len(e.wadm.Requests()) != 0 {
		t.Errorf("wadm was asked %d things", len(e.wadm.Requests()))
	}
}
