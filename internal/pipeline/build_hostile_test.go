package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pelato-dev/pelato/internal/builder"
	"github.com/pelato-dev/pelato/internal/buildertest"
	"github.com/pelato-dev/pelato/templates"
)

// outsideFiles makes a folder outside the project holding a "precious" file under
// every name a build container plants a link to, and returns it with a function
// that fails the test when any of them changed or a file was added.
func outsideFiles(t *testing.T) (string, func(when string)) {
	t.Helper()
	dir := t.TempDir()
	names := []string{"build.log", "c0_s.wasm", ".pelato-build.json", ".pelato-build.json.tmp", ".pelato-gen.json"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("precious "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, func(when string) {
		t.Helper()
		entries, _ := os.ReadDir(dir)
		if len(entries) != len(names) {
			t.Errorf("%s: the folder outside the project holds %d files, want %d", when, len(entries), len(names))
		}
		for _, n := range names {
			if b, err := os.ReadFile(filepath.Join(dir, n)); err != nil || string(b) != "precious "+n {
				t.Errorf("%s: %s outside the project was written through a link: %q %v", when, n, b, err)
			}
		}
	}
}

// TestBuildPlantedLinksNotFollowed (hostile input, issue 18.1): a build container
// leaves symbolic links to files outside the project where pelato then reads and
// writes (the build log, the artifact, the build record and its temporary file, the
// generation record). pelato refuses them, writes nothing outside gen/<c>, and the
// next build replaces them.
func TestBuildPlantedLinksNotFollowed(t *testing.T) {
	outside, unchanged := outsideFiles(t)
	root := buildertest.Project(t, 1, func(int) string { return buildertest.TaskCode("//fakewash:plant-links " + outside) })
	opts, _ := testBuild(t, root)
	for i := range 2 { // the second build starts with the links of the first in place
		opts.Force = i == 1
		res, _ := build(t, opts)
		c := res.Components[0]
		if c.Status != StatusFailed || !strings.Contains(c.Err, "symbolic link") {
			t.Errorf("build %d: %s %q, want a failure naming the link", i, c.Status, c.Err)
		}
		unchanged(fmt.Sprintf("after build %d", i))
		if _, err := os.Stat(buildRecordPath(root, "c0")); err == nil {
			t.Errorf("build %d: a build record was written for a refused artifact", i)
		}
	}

	// Links left in a folder whose task no longer plants them: the next build
	// removes them, never writing through them, and its artifact is a real file.
	if err := os.WriteFile(filepath.Join(root, "tasks", "c0.go"), []byte(buildertest.TaskCode()), 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ := build(t, opts)
	if res.Components[0].Status != StatusBuilt {
		t.Fatalf("clean build: %+v", res.Components[0])
	}
	art := Artifact(root, "c0")
	for _, p := range []string{art, filepath.Join(root, GenDir, "c0", BuildDir, BuildLogFile)} {
		os.Remove(p)
		if err := os.Symlink(filepath.Join(outside, filepath.Base(p)), p); err != nil {
			t.Fatal(err)
		}
	}
	opts.Force = false
	res, _ = build(t, opts)
	if c := res.Components[0]; c.Status != StatusBuilt { // not skipped: the artifact is not what was built
		t.Errorf("after links replaced the artifact and the log: %s %q", c.Status, c.Err)
	}
	if st, err := os.Lstat(art); err != nil || !st.Mode().IsRegular() {
		t.Errorf("artifact after the rebuild: %v %v", st, err)
	}
	unchanged("after the rebuild")
}

// testTemplates are the embedded templates with processor_nats's go.mod requiring
// one small module (go.bytecodealliance.org/cm, no dependencies), so a test image
// can hold its module proxy.
func testTemplates(t *testing.T) *templates.Registry {
	t.Helper()
	m := fstest.MapFS{}
	src := os.DirFS("../../templates")
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := fs.ReadFile(src, p)
		m[p] = &fstest.MapFile{Data: b, Mode: 0o644}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := fs.ReadFile(src, "processor_nats/files/go.sum")
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(sum), "\n") {
		if strings.HasPrefix(l, "go.bytecodealliance.org/cm v0.3.0") {
			keep = append(keep, l)
		}
	}
	m["processor_nats/files/go.mod.tmpl"] = &fstest.MapFile{Data: []byte("module pelato.dev/task\n\ngo 1.24\n\nrequire go.bytecodealliance.org/cm v0.3.0\n")}
	m["processor_nats/files/go.sum"] = &fstest.MapFile{Data: []byte(strings.Join(keep, "\n") + "\n")}
	reg, err := templates.Load(m)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// TestBuildModuleCacheVerified (hostile input, issue 18.7): the module cache volume
// is shared by every project's builds. A build cannot change it (it is mounted
// read-only), and a module changed in it by anything else is detected by the
// verification step before the next build, which then refuses to build.
func TestBuildModuleCacheVerified(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command for the test image")
	}
	root := buildertest.Project(t, 1, func(int) string { return buildertest.TaskCode("//fakewash:tamper-modcache") })
	opts, dc := testBuild(t, root)
	src := buildertest.SourceWithGo(t, testPkg+"/modules", "go.bytecodealliance.org/cm@v0.3.0")
	opts.ImageSource, opts.Templates = &src, testTemplates(t)
	res, ev := build(t, opts)
	c := res.Components[0]
	if c.Status != StatusBuilt {
		t.Fatalf("first build: %+v", c)
	}
	log, _ := os.ReadFile(filepath.Join(root, GenDir, "c0", BuildDir, BuildLogFile))
	if !bytes.Contains(log, []byte("fakewash: tamper refused")) || !bytes.Contains(log, []byte("read-only file system")) {
		t.Errorf("the build could change the module cache:\n%s", log)
	}
	if ev.count(Log, "downloading and verifying Go modules") != 1 {
		t.Error("no module verification step")
	}

	// Something else (an older pelato's build with the cache read-write, another
	// tool) changes a module in the volume.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "wasmcloud.toml"), []byte("name = \"tamper\"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "t.go"), []byte("package main\n//fakewash:tamper-modcache\n"), 0o644)
	var out bytes.Buffer
	rr, err := dc.Run(context.Background(), builder.RunSpec{Image: res.Image.Ref, Cmd: []string{"wash", "build"}, Dir: dir,
		User: fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid()), Volumes: []builder.Volume{{Name: opts.VolumePrefix + "-go-mod", Target: "/cache/go-mod"}},
		Output: &out, Labels: map[string]string{builder.LabelProject: root}})
	if err != nil || rr.ExitCode != 0 || !strings.Contains(out.String(), "fakewash: tampered with /cache/go-mod/go.bytecodealliance.org/cm@v0.3.0/") {
		t.Fatalf("tampering: %v %d\n%s", err, rr.ExitCode, out.String())
	}

	opts.Force = true
	res, _ = build(t, opts)
	c = res.Components[0]
	if c.Status != StatusFailed || !strings.Contains(c.Err, "failed verification") || !strings.Contains(c.Err, "go.bytecodealliance.org/cm v0.3.0: dir has been modified") ||
		!strings.Contains(c.Err, "docker volume rm "+opts.VolumePrefix+"-go-mod") {
		t.Errorf("tampered module cache: %s %q", c.Status, c.Err)
	}
}

// killedBuildEnv names the project a helper process (this test binary) builds
// until it is killed; see TestMain and TestBuildKilledPelatoContainersRemoved.
const killedBuildEnv = "PELATO_TEST_KILLED_BUILD"

// killedBuild is the helper process: it builds the project named by killedBuildEnv
// with the image and volumes the test gives, and never returns by itself.
func killedBuild(root string) int {
	_, err := Build(context.Background(), BuildOptions{Root: root, BuilderImage: os.Getenv(killedBuildEnv + "_IMAGE"),
		VolumePrefix: os.Getenv(killedBuildEnv + "_VOLUMES"), Jobs: 1})
	fmt.Fprintln(os.Stderr, "helper build returned:", err)
	return 1
}

// TestBuildKilledPelatoContainersRemoved (issue 18): a pelato killed with SIGKILL
// cannot remove its build containers; the next build removes them (labelled as
// pelato's, with an owner process that is gone) and leaves running pelatos' alone.
func TestBuildKilledPelatoContainersRemoved(t *testing.T) {
	root := buildertest.Project(t, 1, func(int) string { return buildertest.TaskCode() })
	opts, dc := testBuild(t, root)
	res, _ := build(t, opts) // the image exists
	victim := buildertest.Project(t, 1, func(int) string { return buildertest.TaskCode("//fakewash:sleep 120s") })
	labels := map[string]string{builder.LabelProject: victim}
	buildertest.Cleanup(t, dc, labels) // fails the test if the container is left

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killedBuildEnv+"="+victim, killedBuildEnv+"_IMAGE="+res.Image.Ref, killedBuildEnv+"_VOLUMES="+opts.VolumePrefix)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for deadline := time.Now().Add(90 * time.Second); len(ids) == 0; {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the helper's container did not start:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
		ids, _ = dc.Containers(context.Background(), labels)
	}
	// A running pelato's container is not an orphan.
	if _, err := Build(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if now, _ := dc.Containers(context.Background(), labels); len(now) != 1 {
		t.Fatalf("the running helper's container was removed: %v", now)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no cleanup runs
		t.Fatal(err)
	}
	cmd.Wait()
	if now, _ := dc.Containers(context.Background(), labels); len(now) != 1 {
		t.Fatalf("after SIGKILL: %d containers, want the 1 left behind", len(now))
	}
	opts.Force = true
	_, ev := build(t, opts)
	if now, _ := dc.Containers(context.Background(), labels); len(now) != 0 {
		t.Errorf("the next build left the killed pelato's container: %v", now)
	}
	if ev.count(Log, "left by a pelato that was killed") != 1 {
		t.Error("the next build did not say it removed a container")
	}
}
