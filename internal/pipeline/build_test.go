package pipeline

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/pelato-dev/pelato/internal/builder"
	"github.com/pelato-dev/pelato/internal/buildertest"
	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/wasmcomponent"
)

const testPkg = "internal/pipeline"

// testBuild returns BuildOptions for root with the test builder image and volumes of
// this test, and removes what the test leaves in Docker.
func testBuild(t testing.TB, root string) (BuildOptions, *builder.Client) {
	t.Helper()
	dc := buildertest.Connect(t)
	src := buildertest.Source(t, testPkg)
	prefix := buildertest.VolumePrefix(t)
	buildertest.Cleanup(t, dc, map[string]string{builder.LabelProject: root}, prefix+"-go-mod", prefix+"-go-build", prefix+"-xdg")
	return BuildOptions{Root: root, ImageSource: &src, VolumePrefix: prefix, Jobs: 4}, dc
}

func TestMain(m *testing.M) {
	if root := os.Getenv(killedBuildEnv); root != "" {
		os.Exit(killedBuild(root))
	}
	code := m.Run()
	kenv.Stop()
	if dc, err := builder.Connect(context.Background()); err == nil {
		// The image of this package's tests (see testBuild), if it was built.
		for _, ref := range testImages() {
			dc.RemoveImage(context.Background(), ref)
		}
		dc.Close()
	}
	os.Exit(code)
}

var (
	imagesMu sync.Mutex
	images   = map[string]bool{}
)

func noteImage(ref string) {
	imagesMu.Lock()
	images[ref] = true
	imagesMu.Unlock()
}

func testImages() []string {
	imagesMu.Lock()
	defer imagesMu.Unlock()
	var out []string
	for r := range images {
		out = append(out, r)
	}
	return out
}

// events records a build's events.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) Event(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) count(kind EventKind, msg string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Kind == kind && strings.Contains(ev.Message, msg) {
			n++
		}
	}
	return n
}

func build(t *testing.T, opts BuildOptions) (*BuildResult, *events) {
	t.Helper()
	ev := &events{}
	opts.Reporter = ev
	res, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	noteImage(res.Image.Ref)
	return res, ev
}

func TestBuildSkipForceAndChange(t *testing.T) {
	root := buildertest.Project(t, 3, func(i int) string { return buildertest.TaskCode() })
	opts, _ := testBuild(t, root)
	res, ev := build(t, opts)
	if res.Count(StatusBuilt) != 3 || !res.Image.Built && res.ImageTime != 0 {
		t.Fatalf("first build: %+v", res)
	}
	for _, c := range res.Components {
		info, err := wasmcomponent.ParseFile(filepath.Join(root, c.Artifact))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(c.Exports, "wasmcloud:messaging/handler@0.2.0") || !slices.Equal(info.ImportNames(), c.Imports) {
			t.Errorf("%s: imports %v exports %v", c.ComponentName, c.Imports, c.Exports)
		}
		hash, _ := info.CustomSection("pelato-fake-source-hash")
		if len(hash) != 64 {
			t.Errorf("no source hash in %s", c.Artifact)
		}
		log, err := os.ReadFile(filepath.Join(root, c.Log))
		if err != nil || !strings.Contains(string(log), "tinygo build") || !strings.Contains(string(log), "exited with status 0") {
			t.Errorf("build log %s: %v\n%s", c.Log, err, log)
		}
	}
	if ev.count(Log, "starting container") != 3 {
		t.Errorf("%d containers started", ev.count(Log, "starting container"))
	}

	// Nothing changed: nothing is rebuilt, no container starts.
	res, ev = build(t, opts)
	if res.Count(StatusSkipped) != 3 || ev.count(Log, "starting container") != 0 {
		t.Errorf("second build: %s, %d containers", res.Summary(), ev.count(Log, "starting container"))
	}
	// --force rebuilds all.
	opts.Force = true
	res, _ = build(t, opts)
	if res.Count(StatusBuilt) != 3 {
		t.Errorf("--force: %s", res.Summary())
	}
	opts.Force = false
	// A changed task rebuilds only its component; a removed artifact is rebuilt too.
	os.WriteFile(filepath.Join(root, "tasks", "c1.go"), []byte(buildertest.TaskCode("// changed")), 0o644)
	os.Remove(Artifact(root, "c2"))
	res, ev = build(t, opts)
	got := []string{res.Components[0].Status, res.Components[1].Status, res.Components[2].Status}
	if !slices.Equal(got, []string{StatusSkipped, StatusBuilt, StatusBuilt}) || ev.count(Log, "starting container") != 2 {
		t.Errorf("after a change: %v", got)
	}
}

func TestBuildOneOfFiveFails(t *testing.T) { // also: containers on the "bridge" network
	root := buildertest.Project(t, 5, func(i int) string {
		if i == 3 {
			return buildertest.TaskCode("", "//fakewash:error undefined: frobnicate")
		}
		return buildertest.TaskCode()
	})
	opts, _ := testBuild(t, root)
	opts.Network = "bridge"
	res, ev := build(t, opts)
	if res.Count(StatusBuilt) != 4 || res.Count(StatusFailed) != 1 || res.Failed() != 1 {
		t.Fatalf("%s", res.Summary())
	}
	c := res.Components[3]
	want := CompileError{File: "tasks/c3.go", Line: 7, Column: 1, Message: "undefined: frobnicate"}
	if c.Status != StatusFailed || len(c.CompileErrors) != 1 || c.CompileErrors[0] != want || !strings.Contains(c.Err, "tasks/c3.go:7:1: undefined: frobnicate") {
		t.Errorf("failed component: %+v", c)
	}
	if ev.count(Log, "tasks/c3.go:7:1: undefined: frobnicate") != 1 {
		t.Error("compile error not reported as a log event")
	}
	if _, err := os.Stat(Artifact(root, "c3")); err == nil {
		t.Error("artifact of the failed component exists")
	}
	if _, err := os.Stat(filepath.Join(root, GenDir, "c3", BuildDir, BuildLogFile)); err != nil {
		t.Errorf("no build log for the failed component: %v", err)
	}
}

func TestBuildWrongArtifacts(t *testing.T) {
	root := buildertest.Project(t, 4, func(i int) string {
		return buildertest.TaskCode([]string{"//fakewash:core-module", "//fakewash:no-output", "//fakewash:disk-full", "//fakewash:fail linker exploded"}[i])
	})
	opts, _ := testBuild(t, root)
	res, _ := build(t, opts)
	want := []string{
		"gen/c0/build/c0_s.wasm is a core WebAssembly module, not a component",
		"the build exited 0 but wrote no gen/c1/build/c1_s.wasm",
		"disk full: the build ran out of space",
		"the build exited with status 1: error: linker exploded",
	}
	for i, c := range res.Components {
		if c.Status != StatusFailed || !strings.Contains(c.Err, want[i]) {
			t.Errorf("%s: %s %q", c.ComponentName, c.Status, c.Err)
		}
	}
}

func TestBuildJobsBound(t *testing.T) {
	root := buildertest.Project(t, 4, func(i int) string { return buildertest.TaskCode("//fakewash:sleep 1s") })
	opts, _ := testBuild(t, root)
	opts.Jobs = 2
	var mu sync.Mutex
	running, peak := 0, 0
	opts.Reporter = ReporterFunc(func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case e.Kind == Log && e.Message == "starting container":
			running++
			peak = max(peak, running)
		case e.Kind == Step && e.Task != "" && strings.HasPrefix(e.Message, "built"):
			running--
		}
	})
	res, err := Build(context.Background(), opts)
	if err != nil || res.Count(StatusBuilt) != 4 {
		t.Fatalf("%v %+v", err, res)
	}
	if peak != 2 {
		t.Errorf("peak %d containers at once with Jobs 2", peak)
	}
}

func TestBuildCancelRemovesContainers(t *testing.T) {
	root := buildertest.Project(t, 3, func(i int) string { return buildertest.TaskCode("//fakewash:sleep 60s") })
	opts, dc := testBuild(t, root)
	opts.Jobs = 2
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 3)
	opts.Reporter = ReporterFunc(func(e Event) {
		if e.Kind == Log && strings.HasPrefix(e.Message, "fakewash: building") {
			started <- struct{}{}
		}
	})
	done := make(chan struct{})
	var res *BuildResult
	var err error
	go func() {
		res, err = Build(ctx, opts)
		close(done)
	}()
	for range 2 {
		select {
		case <-started:
		case <-time.After(60 * time.Second):
			t.Fatal("containers did not start")
		}
	}
	labels := map[string]string{builder.LabelProject: root}
	if ids, _ := dc.Containers(context.Background(), labels); len(ids) != 2 {
		t.Fatalf("%d containers running, want 2", len(ids))
	}
	t0 := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(builder.RemoveTimeout + 2*time.Second):
		t.Fatal("Build did not return after cancel")
	}
	if d := time.Since(t0); d > builder.RemoveTimeout {
		t.Errorf("cancel took %s", d)
	}
	if !errors.Is(err, context.Canceled) || res == nil || res.Count(StatusCancelled) != 3 {
		t.Errorf("%v %+v", err, res)
	}
	if ids, _ := dc.Containers(context.Background(), labels); len(ids) != 0 {
		t.Errorf("%d containers left after cancel", len(ids))
	}
}

// TestBuildStopsOnProjectErrors: the project's errors come first, with or without
// Docker (here without: DOCKER_HOST names a socket nothing listens on).
func TestBuildStopsOnProjectErrors(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "docker.sock"))
	root := buildertest.Project(t, 1, func(i int) string { return "package main\n\nfunc exec_task(x int) string { return \"\" }\n" })
	_, err := Build(context.Background(), BuildOptions{Root: root})
	var cf *CheckFailedError
	if !errors.As(err, &cf) || !check.HasErrors(cf.Result.Diagnostics) {
		t.Errorf("%v", err)
	}
}

func TestBuildThenPush(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	root := buildertest.Project(t, 2, func(i int) string { return buildertest.TaskCode() })
	srv := httptest.NewServer(registry.New(registry.Logger(nilLog())))
	defer srv.Close()
	reg := strings.TrimPrefix(srv.URL, "http://")
	opts, _ := testBuild(t, root)
	opts.Registry = reg

	// Nothing built yet.
	pr, err := Push(context.Background(), PushOptions{Root: root, Registry: reg})
	if err != nil || pr.Failed() != 2 || !strings.Contains(pr.Components[0].Err, "not built yet") {
		t.Fatalf("push before build: %v %+v", err, pr)
	}
	build(t, opts)
	pr, err = Push(context.Background(), PushOptions{Root: root, Registry: reg})
	if err != nil || pr.Failed() != 0 || pr.Components[1].Status != StatusPushed || pr.Components[1].Reference != reg+"/c1:1.0.1" {
		t.Fatalf("push: %v %+v", err, pr)
	}
	pr, _ = Push(context.Background(), PushOptions{Root: root, Registry: reg, Tasks: []string{"c1"}})
	if len(pr.Components) != 1 || pr.Components[0].Status != StatusUnchanged {
		t.Errorf("second push: %+v", pr)
	}
	// A task changed since its build is not pushed.
	os.WriteFile(filepath.Join(root, "tasks", "c0.go"), []byte(buildertest.TaskCode("// edited")), 0o644)
	pr, _ = Push(context.Background(), PushOptions{Root: root, Registry: reg, Tasks: []string{"c0"}})
	if pr.Failed() != 1 || !strings.Contains(pr.Components[0].Err, "changed since it was built") {
		t.Errorf("stale push: %+v", pr)
	}
	// Rebuilt with the same version: the tag holds other content now.
	build(t, opts)
	pr, _ = Push(context.Background(), PushOptions{Root: root, Registry: reg, Tasks: []string{"c0"}})
	if pr.Failed() != 1 || !strings.Contains(pr.Components[0].Err, "already exists with different content") {
		t.Errorf("tag conflict: %+v", pr)
	}
	pr, _ = Push(context.Background(), PushOptions{Root: root, Registry: reg, Tasks: []string{"c0"}, Force: true})
	if pr.Failed() != 0 || pr.Components[0].Status != StatusPushed {
		t.Errorf("--force: %+v", pr)
	}
}

func nilLog() *log.Logger { return log.New(io.Discard, "", 0) }

// TestBuildHoldsGenLock: while a build's containers write under gen/, a gen of the
// same project waits for it (naming the build) instead of replacing folders under it.
func TestBuildHoldsGenLock(t *testing.T) {
	root := buildertest.Project(t, 1, func(int) string { return buildertest.TaskCode("//fakewash:sleep 2s") })
	opts, _ := testBuild(t, root)
	started := make(chan struct{})
	var once sync.Once
	opts.Reporter = ReporterFunc(func(e Event) {
		if e.Kind == Log && e.Message == "starting container" {
			once.Do(func() { close(started) })
		}
	})
	built := make(chan time.Time, 1)
	go func() {
		if _, err := Build(context.Background(), opts); err != nil {
			t.Error(err)
		}
		built <- time.Now()
	}()
	<-started
	var waited []string
	var mu sync.Mutex
	_, err := Gen(context.Background(), GenOptions{Root: root, Reporter: ReporterFunc(func(e Event) {
		if e.Kind == Log && strings.HasPrefix(e.Message, "waiting for") {
			mu.Lock()
			waited = append(waited, e.Message)
			mu.Unlock()
		}
	})})
	genDone := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	buildDone := <-built
	if genDone.Before(buildDone) {
		t.Errorf("gen finished %v before the build that held gen/", buildDone.Sub(genDone))
	}
	if len(waited) != 1 || !strings.Contains(waited[0], "pelato build") {
		t.Errorf("gen's wait was reported as %q", waited)
	}
}

// TestImageBuildFailureSaysWhatToDo: a builder image that cannot be built is one line
// naming the failed step and what to do (another image, or the offline way), and its
// End event is the only one that carries it.
func TestImageBuildFailureSaysWhatToDo(t *testing.T) {
	root := buildertest.Project(t, 1, func(int) string { return buildertest.TaskCode() })
	opts, dc := testBuild(t, root)
	label := map[string]string{buildertest.LabelTest: testPkg + "-broken-image"}
	opts.ImageSource = &builder.ImageSource{Dockerfile: []byte("FROM scratch\nLABEL " + buildertest.LabelTest + "=" + testPkg + "-broken-image\nCOPY missing-file /x\n"), Labels: label}
	defer dc.PruneImages(context.Background(), label)
	ev := &events{}
	opts.Reporter = ev
	_, err := Build(context.Background(), opts)
	var ib *builder.ImageBuildError
	if !errors.As(err, &ib) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "COPY missing-file /x") ||
		!strings.Contains(err.Error(), "--builder-image IMAGE") || !strings.Contains(err.Error(), "docker load") {
		t.Fatalf("want one line with the step and what to do, got %v", err)
	}
	n := 0
	for _, e := range ev.all {
		if e.Err != nil && strings.Contains(e.Err.Error(), "COPY missing-file") || strings.Contains(e.Message, "COPY missing-file /x:") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the failure is in %d events, want 1: %+v", n, ev.all)
	}
}
