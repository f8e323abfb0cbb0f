package builder_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/builder"
	"github.com/pelato-dev/pelato/internal/buildertest"
	"github.com/pelato-dev/pelato/internal/wasmcomponent"
)

const pkgLabel = "internal/builder"

// testImage builds the test builder image through EnsureImage once per test binary.
var (
	imgOnce sync.Once
	img     builder.Image
	imgErr  error
	imgLog  []string
)

func testImage(t *testing.T, c *builder.Client) builder.Image {
	t.Helper()
	src := buildertest.Source(t, pkgLabel)
	imgOnce.Do(func() {
		ctx := context.Background()
		_ = c.RemoveImage(ctx, src.Tag()) // start from a missing image: EnsureImage must build it
		img, imgErr = c.EnsureImage(ctx, src, func(s string) { imgLog = append(imgLog, s) })
	})
	if imgErr != nil {
		t.Fatal(imgErr)
	}
	return img
}

func TestMain(m *testing.M) {
	code := m.Run()
	if img.Ref != "" {
		if c, err := builder.Connect(context.Background()); err == nil {
			c.RemoveImage(context.Background(), img.Ref)
			c.Close()
		}
	}
	os.Exit(code)
}

func project(t *testing.T, name, goSource string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "wasmcloud.toml"), []byte(fmt.Sprintf("name = %q\n", name)), 0o644)
	os.MkdirAll(filepath.Join(dir, "wit"), 0o755)
	os.WriteFile(filepath.Join(dir, "wit", "world.wit"), []byte("world w {\n  import wasmcloud:messaging/consumer@0.2.0;\n  export wasmcloud:messaging/handler@0.2.0;\n}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "task.go"), []byte(goSource), 0o644)
	return dir
}

func TestImageBuildAndRun(t *testing.T) {
	c := buildertest.Connect(t)
	im := testImage(t, c)
	if !im.Built || !strings.HasPrefix(im.Ref, "pelato-builder:") || im.ID == "" {
		t.Fatalf("image %+v", im)
	}
	if !strings.Contains(strings.Join(imgLog, "\n"), "Step 1/") {
		t.Errorf("no build progress: %q", imgLog)
	}
	again, err := c.EnsureImage(context.Background(), buildertest.Source(t, pkgLabel), nil)
	if err != nil || again.Built || again.ID != im.ID {
		t.Errorf("second EnsureImage: %+v %v", again, err)
	}

	run := fmt.Sprintf("run-%d", time.Now().UnixNano())
	vols := []builder.Volume{{Name: buildertest.VolumePrefix(t) + "-go-build", Target: "/cache/go-build"}}
	buildertest.Cleanup(t, c, map[string]string{builder.LabelRun: run}, vols[0].Name)
	if err := c.EnsureVolumes(context.Background(), vols); err != nil {
		t.Fatal(err)
	}
	user := fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	for i, name := range []string{"first", "second"} {
		dir := project(t, name, "package main\n")
		var out bytes.Buffer
		res, err := c.Run(context.Background(), builder.RunSpec{Image: im.Ref, Cmd: []string{"wash", "build"}, Dir: dir, User: user,
			Volumes: vols, Labels: map[string]string{builder.LabelRun: run}, Output: &out})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("run: %v %+v\n%s", err, res, out.String())
		}
		if !strings.Contains(out.String(), fmt.Sprintf("uid=%d gid=%d", os.Getuid(), os.Getgid())) {
			t.Errorf("not run as the caller: %s", out.String())
		}
		// The cache volume is shared: the second build sees the first's mark.
		if want := fmt.Sprintf("holds %d build(s)", i+1); !strings.Contains(out.String(), want) {
			t.Errorf("cache volume not shared (want %q): %s", want, out.String())
		}
		art := filepath.Join(dir, "build", name+"_s.wasm")
		info, err := wasmcomponent.ParseFile(art)
		if err != nil || len(info.Exports) != 1 || info.Exports[0].Name != "wasmcloud:messaging/handler@0.2.0" {
			t.Fatalf("artifact: %v %+v", err, info)
		}
		st, _ := os.Stat(art)
		if owner := fileOwner(st); owner != user {
			t.Errorf("artifact owned by %s, want %s", owner, user)
		}
	}
	if ids, _ := c.Containers(context.Background(), map[string]string{builder.LabelRun: run}); len(ids) != 0 {
		t.Errorf("containers not removed: %v", ids)
	}
}

func TestRunExitCode(t *testing.T) {
	c := buildertest.Connect(t)
	im := testImage(t, c)
	dir := project(t, "broken", "package main\n\n//fakewash:error undefined: frobnicate\n")
	var out bytes.Buffer
	res, err := c.Run(context.Background(), builder.RunSpec{Image: im.Ref, Dir: dir, User: fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()), Output: &out})
	if err != nil || res.ExitCode != 1 || !strings.Contains(out.String(), "./task.go:3:1: undefined: frobnicate") {
		t.Errorf("%v %+v %s", err, res, out.String())
	}
}

func TestRunCancelRemovesContainer(t *testing.T) {
	c := buildertest.Connect(t)
	im := testImage(t, c)
	run := fmt.Sprintf("cancel-%d", time.Now().UnixNano())
	labels := map[string]string{builder.LabelRun: run}
	buildertest.Cleanup(t, c, labels)
	dir := project(t, "slow", "package main\n//fakewash:sleep 60s\n")
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, builder.RunSpec{Image: im.Ref, Dir: dir, Labels: labels, Started: func() { close(started) }})
		done <- err
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("container did not start")
	}
	if ids, _ := c.Containers(context.Background(), labels); len(ids) != 1 {
		t.Fatalf("running containers: %v", ids)
	}
	t0 := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(builder.RemoveTimeout + time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if ids, _ := c.Containers(context.Background(), labels); len(ids) != 0 {
		t.Errorf("containers left after cancel: %v", ids)
	}
	if d := time.Since(t0); d > builder.RemoveTimeout {
		t.Errorf("cancel took %s", d)
	}
}

func TestImageBuildFailureNamesStep(t *testing.T) {
	c := buildertest.Connect(t)
	// The LABEL line marks the intermediate image the failed build leaves, to prune it.
	src := builder.ImageSource{Dockerfile: []byte("FROM scratch\nLABEL " + buildertest.LabelTest + "=" + pkgLabel + "\nCOPY present /present\nCOPY missing-file /x\n"),
		Files: map[string]builder.File{"present": {Data: []byte("x")}}, Labels: map[string]string{buildertest.LabelTest: pkgLabel}}
	_, err := c.EnsureImage(context.Background(), src, nil)
	defer c.PruneImages(context.Background(), map[string]string{buildertest.LabelTest: pkgLabel})
	var be *builder.ImageBuildError
	if !errors.As(err, &be) || !strings.Contains(be.Step, "Step 4/") || !strings.Contains(be.Step, "COPY missing-file /x") || !strings.Contains(be.Message, "missing-file") {
		t.Fatalf("%v", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("not one line: %q", err)
	}
}

func TestUseImageMissing(t *testing.T) {
	c := buildertest.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := c.UseImage(ctx, "pelato-test-no-such-image:0", nil)
	if err == nil || !strings.Contains(err.Error(), "is not present and could not be pulled") {
		t.Errorf("%v", err)
	}
}

func TestNoDaemon(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "docker.sock"))
	_, err := builder.Connect(context.Background())
	var de *builder.DaemonError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "no Docker daemon answers at unix://") || !strings.Contains(err.Error(), "dockerd") {
		t.Errorf("%v", err)
	}
}

// TestRunLimitsAndOwner: a build container runs with the memory and pids bounds
// asked for (read back from inside it, cgroup v1 or v2) and carries pelato's labels,
// its owner among them.
func TestRunLimitsAndOwner(t *testing.T) {
	c := buildertest.Connect(t)
	im := testImage(t, c)
	run := fmt.Sprintf("limits-%d", time.Now().UnixNano())
	labels := map[string]string{builder.LabelRun: run}
	buildertest.Cleanup(t, c, labels)
	dir := project(t, "limited", "package main\n//fakewash:print-limits\n//fakewash:sleep 2s\n")
	var out bytes.Buffer
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		res, err := c.Run(context.Background(), builder.RunSpec{Image: im.Ref, Dir: dir, User: fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()),
			Labels: labels, Output: &out, Memory: 96 << 20, Pids: 77, Started: func() { close(started) }})
		if err == nil && res.ExitCode != 0 {
			err = fmt.Errorf("exit %d", res.ExitCode)
		}
		done <- err
	}()
	<-started
	owned, err := c.Containers(context.Background(), map[string]string{builder.LabelRun: run, builder.LabelManaged: "true", builder.LabelOwner: ""})
	if err != nil || len(owned) != 1 {
		t.Errorf("containers with pelato's and the owner's labels: %v %v", owned, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	s := out.String()
	if !strings.Contains(s, "limit pids.max 77") {
		t.Errorf("pids bound not applied:\n%s", s)
	}
	if !strings.Contains(s, fmt.Sprintf("limit memory.limit_in_bytes %d", 96<<20)) && !strings.Contains(s, fmt.Sprintf("limit memory.max %d", 96<<20)) {
		t.Errorf("memory bound not applied:\n%s", s)
	}
}

// TestImageBuildArgs: build arguments reach the Dockerfile, and change the tag.
func TestImageBuildArgs(t *testing.T) {
	c := buildertest.Connect(t)
	src := builder.ImageSource{Dockerfile: []byte("FROM scratch\nARG WHICH=missing\nCOPY ${WHICH} /w\n"),
		Files: map[string]builder.File{"present": {Data: []byte("x")}}, Labels: map[string]string{buildertest.LabelTest: pkgLabel}}
	defer c.PruneImages(context.Background(), map[string]string{buildertest.LabelTest: pkgLabel})
	if _, err := c.EnsureImage(context.Background(), src, nil); err == nil {
		t.Fatal("the ARG's default names no file: the build should fail")
	}
	with := src
	with.BuildArgs = map[string]string{"WHICH": "present"}
	if with.Tag() == src.Tag() {
		t.Error("build arguments do not change the tag")
	}
	im, err := c.EnsureImage(context.Background(), with, nil)
	if err != nil {
		t.Fatalf("with WHICH=present: %v", err)
	}
	c.RemoveImage(context.Background(), im.Ref)
}
