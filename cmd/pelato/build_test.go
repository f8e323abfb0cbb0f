package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/pelato-dev/pelato/internal/builder"
	"github.com/pelato-dev/pelato/internal/buildertest"
)

const testPkg = "cmd/pelato"

var (
	testImageOnce sync.Once
	testImageRef  string
	testImageErr  error
)

// testImage builds the test builder image through the SDK once, and the default cache
// volumes the CLI uses are removed at the end of the test if they did not exist.
func testImage(t *testing.T) string {
	t.Helper()
	dc := buildertest.Connect(t)
	src := buildertest.Source(t, testPkg)
	testImageOnce.Do(func() {
		var img builder.Image
		img, testImageErr = dc.EnsureImage(context.Background(), src, nil)
		testImageRef = img.Ref
	})
	if testImageErr != nil {
		t.Fatal(testImageErr)
	}
	return testImageRef
}

// cliProject writes a project and removes, after the test, its containers (failing
// the test if any was left) and cache volumes the test created.
func cliProject(t *testing.T, n int, code func(i int) string) string {
	t.Helper()
	dc := buildertest.Connect(t)
	var created []string
	for _, v := range []string{"pelato-cache-go-mod", "pelato-cache-go-build", "pelato-cache-xdg"} {
		if ok, err := dc.VolumeExists(context.Background(), v); err == nil && !ok {
			created = append(created, v)
		}
	}
	dir := buildertest.Project(t, n, code)
	buildertest.Cleanup(t, dc, map[string]string{builder.LabelProject: dir}, created...)
	return dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	kenv.Stop()
	if testImageRef != "" {
		if dc, err := builder.Connect(context.Background()); err == nil {
			dc.RemoveImage(context.Background(), testImageRef)
			dc.Close()
		}
	}
	os.Exit(code)
}

func TestBuildCommand(t *testing.T) {
	img := testImage(t)
	dir := cliProject(t, 3, func(i int) string { return buildertest.TaskCode() })
	t.Setenv("ENABLE_METRICS", "True")
	code, out, errOut := pelato(t, "build", dir, "--builder-image", img, "--jobs", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"COMPONENT", "c0", "built", "gen/c2/build/c2_s.wasm", "3 built, 0 unchanged"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "[3/3]") || !strings.Contains(errOut, "Building 3 components") {
		t.Errorf("progress: %s", errOut)
	}
	m, _ := os.ReadFile(filepath.Join(dir, "metrics.yaml"))
	if !strings.Contains(string(m), "components_build_time:") || !strings.Contains(string(m), "command: build") {
		t.Errorf("metrics:\n%s", m)
	}
	// Unchanged, one task by name, JSON lines.
	code, out, _ = pelato(t, "build", dir, "c1", "--builder-image", img, "--format", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last struct {
		Kind  string `json:"kind"`
		Build struct {
			Components []struct {
				ComponentName string `json:"component_name"`
				Status        string `json:"status"`
			} `json:"components"`
		} `json:"build"`
	}
	if code != 0 || json.Unmarshal([]byte(lines[len(lines)-1]), &last) != nil || last.Kind != "result" ||
		len(last.Build.Components) != 1 || last.Build.Components[0].Status != "skipped" {
		t.Errorf("json: exit %d\n%s", code, out)
	}
	for _, l := range lines[:len(lines)-1] {
		var ev map[string]any
		if json.Unmarshal([]byte(l), &ev) != nil || ev["kind"] == nil {
			t.Errorf("not a JSON event: %s", l)
		}
	}
	code, _, errOut = pelato(t, "build", dir, "nosuchtask", "--builder-image", img)
	if code != 2 || !strings.Contains(errOut, `no task "nosuchtask"`) {
		t.Errorf("unknown task: exit %d %s", code, errOut)
	}
}

func TestBuildCommandFailure(t *testing.T) {
	img := testImage(t)
	dir := cliProject(t, 2, func(i int) string {
		if i == 1 {
			return buildertest.TaskCode("//fakewash:error undefined: nope")
		}
		return buildertest.TaskCode()
	})
	code, out, errOut := pelato(t, "build", dir, "--builder-image", img, "--progress", "plain")
	if code != 1 || !strings.Contains(errOut, "tasks/c1.go:6:1: undefined: nope") || !strings.Contains(errOut, "1 of 2 components not built") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "c1") || !strings.Contains(out, "failed") || !strings.Contains(out, "1 built, 0 unchanged, 1 failed") {
		t.Errorf("table:\n%s", out)
	}
}

// TestBuildCommandNoDaemon: without a Docker daemon, build and brush say so once, on
// the last line (after bringing gen/ up to date, which needs no Docker); a project
// with errors in its task code gets those errors, not "no Docker" (issue 17).
func TestBuildCommandNoDaemon(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "docker.sock"))
	dir := buildertest.Project(t, 1, func(int) string { return buildertest.TaskCode() })
	broken := copyDir(t, "../../testdata/projects/task_type_error")
	for _, command := range []string{"build", "brush"} {
		code, out, errOut := pelato(t, command, dir, "--progress", "plain")
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != 2 || out != "" || !strings.HasPrefix(lines[len(lines)-1], "pelato: no Docker daemon answers at unix://") || strings.Count(errOut, "Docker daemon") != 1 {
			t.Errorf("%s without a daemon: exit %d, stdout %q, stderr %q", command, code, out, errOut)
		}
		code, out, errOut = pelato(t, command, broken, "--progress", "plain")
		if code != exitProblems || !strings.Contains(out+errOut, "tasks/upper.go:6:20: error PL402") || strings.Contains(errOut, "Docker") {
			t.Errorf("%s of a project with Go errors without a daemon: exit %d, stdout %q, stderr %q", command, code, out, errOut)
		}
	}
}

// TestBuildCommandLocalBuilder: --builder local (and PELATO_BUILDER=local) never
// needs Docker, and without TinyGo or wasm-tools on PATH says what to install, in
// one line, with exit code 2 and gen/ left alone; an unknown builder is refused.
// internal/tinygotest builds with the real toolchain.
func TestBuildCommandLocalBuilder(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "docker.sock"))
	t.Setenv("PATH", t.TempDir())
	dir := buildertest.Project(t, 1, func(int) string { return buildertest.TaskCode() })
	for _, tc := range []struct {
		name string
		args []string
		env  string
		want []string
	}{
		{"flag", []string{"build", "--builder", "local", dir}, "", []string{"the local builder needs tinygo and wasm-tools and go on PATH", "install TinyGo"}},
		{"setting", []string{"build", dir}, "local", []string{"the local builder needs tinygo and wasm-tools and go on PATH"}},
		{"unknown", []string{"build", "--builder", "podman", dir}, "", []string{`unknown builder "podman": use docker`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PELATO_BUILDER", tc.env)
			code, out, errOut := pelato(t, tc.args...)
			if code != 2 || out != "" || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not say %q", errOut, w)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "gen")); !os.IsNotExist(err) {
				t.Errorf("gen/ was written before the builder was found: %v", err)
			}
		})
	}
}

func TestBuildPushAndPushCommand(t *testing.T) {
	img := testImage(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	dir := cliProject(t, 2, func(i int) string { return buildertest.TaskCode() })
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	reg := strings.TrimPrefix(srv.URL, "http://")
	code, out, errOut := pelato(t, "build", dir, "--builder-image", img, "--registry", reg, "--push")
	if code != 0 || !strings.Contains(out, "PUSH") || !strings.Contains(out, reg+"/c1:1.0.1") || !strings.Contains(out, "2 pushed") {
		t.Fatalf("build --push: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = pelato(t, "push", dir, "--registry", reg)
	if code != 0 || !strings.Contains(out, "0 pushed, 2 already in the registry") {
		t.Errorf("push again: exit %d\n%s", code, out)
	}
	code, _, errOut = pelato(t, "push", dir, "--registry", reg+"/x", "c0")
	if code != 1 || !strings.Contains(errOut, "gen/c0 and its build were made for registry "+reg+" (the image in its wadm.yaml), not "+reg+"/x") ||
		!strings.Contains(errOut, "pelato build --registry "+reg+"/x --push") {
		t.Errorf("push to another registry than built for: exit %d %s", code, errOut)
	}
	code, _, errOut = pelato(t, "push", dir, "--registry", "https://"+reg)
	if code != 2 || !strings.Contains(errOut, "without a scheme") {
		t.Errorf("scheme: exit %d %s", code, errOut)
	}
}

// pelatoBinary builds the CLI once for the tests that run it as a process.
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func pelatoBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pelato-bin-")
		if err != nil {
			binErr = err
			return
		}
		os.Chmod(dir, 0o755)
		binPath = filepath.Join(dir, "pelato")
		if b, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("%v\n%s", err, b)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// TestBuildInterrupt sends Ctrl-C (SIGINT) to a `pelato build` process while its
// containers run: it must exit within 5 s, leaving no container behind.
func TestBuildInterrupt(t *testing.T) {
	img := testImage(t)
	dc := buildertest.Connect(t)
	dir := cliProject(t, 3, func(i int) string { return buildertest.TaskCode("//fakewash:sleep 120s") })
	cmd := exec.Command(pelatoBinary(t), "build", dir, "--builder-image", img, "--jobs", "3", "--progress", "plain")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{builder.LabelProject: dir}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ids, _ := dc.Containers(context.Background(), labels)
		if len(ids) == 3 {
			time.Sleep(300 * time.Millisecond) // let them start
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("containers did not start:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t0 := time.Now()
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(builder.RemoveTimeout + time.Second):
		cmd.Process.Kill()
		t.Fatal("pelato did not exit after Ctrl-C")
	}
	if d := time.Since(t0); d > builder.RemoveTimeout {
		t.Errorf("exit took %s", d)
	}
	if ids, _ := dc.Containers(context.Background(), labels); len(ids) != 0 {
		t.Errorf("%d containers left after Ctrl-C", len(ids))
	}
	if !strings.Contains(stderr.String(), "cancelled; every container pelato started was removed") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// lockedBuffer is a bytes buffer safe to write from a process and read from a test.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBuildSocketPermission runs `pelato build` as an unprivileged user who may not
// use the Docker socket (possible only when the tests run as root, as in CI).
func TestBuildSocketPermission(t *testing.T) {
	buildertest.Connect(t)
	if os.Getuid() != 0 {
		t.Skip("skipping: needs root to run pelato as another user")
	}
	st, err := os.Stat("/var/run/docker.sock")
	if err != nil || os.Getenv("DOCKER_HOST") != "" || st.Mode().Perm()&0o006 != 0 {
		t.Skip("skipping: the daemon's socket is not /var/run/docker.sock closed to other users")
	}
	bin := pelatoBinary(t)
	dir := buildertest.Project(t, 1, func(int) string { return buildertest.TaskCode() })
	os.Chmod(filepath.Dir(dir), 0o711) // t.TempDir's parent is closed to other users
	os.Chmod(dir, 0o777)
	cmd := exec.Command(bin, "build", dir)
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "permission denied on the Docker socket /var/run/docker.sock") || !strings.Contains(string(out), "docker group") {
		t.Errorf("%v\n%s", err, out)
	}
}
