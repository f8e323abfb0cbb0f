// Package buildertest is test support for code that builds components in Docker: it
// connects to the daemon (skipping the test with a message when none answers, unless
// CI=true), and describes the test builder image — FROM scratch, holding the static
// fakewash program (see ./fakewash) at /usr/local/bin/wash in place of the real
// toolchain — which pelato builds through the Docker SDK like the real one. Every
// Docker object a test makes carries pelato's labels and is removed by Cleanup.
package buildertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/builder"
	"github.com/pelato-dev/pelato/internal/testenv"
)

// LabelTest marks the Docker objects of one test package.
const LabelTest = "dev.pelato.test"

// Connect returns a client of the local daemon. Without one the test is skipped with
// a message — or fails when CI=true, where a daemon must run.
func Connect(t testing.TB) *builder.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := builder.Connect(ctx)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("Docker is not usable here (%v)", err))
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var (
	fakeOnce sync.Once
	fakeBin  []byte
	fakeErr  error
)

// fakewash compiles the fakewash program, statically, once per test process.
func fakewash() ([]byte, error) {
	fakeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pelato-fakewash-")
		if err != nil {
			fakeErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "wash")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", out, "github.com/pelato-dev/pelato/internal/buildertest/fakewash")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
		if b, err := cmd.CombinedOutput(); err != nil {
			fakeErr = fmt.Errorf("build fakewash: %v\n%s", err, b)
			return
		}
		fakeBin, fakeErr = os.ReadFile(out)
	})
	return fakeBin, fakeErr
}

// Dockerfile is the test builder image's Dockerfile: the layout of the real builder
// image (templates/builder/Dockerfile) — cache folders, HOME, working folder — with
// fakewash in place of the toolchain.
const Dockerfile = `FROM scratch
COPY wash /usr/local/bin/wash
COPY pelato-modules /usr/local/bin/pelato-modules
COPY cache/ /cache/
COPY home/ /home/builder/
ENV PATH=/usr/local/bin HOME=/home/builder GOMODCACHE=/cache/go-mod GOCACHE=/cache/go-build XDG_CACHE_HOME=/cache/xdg
WORKDIR /src
CMD ["wash", "build"]
`

// Source returns the test builder image's source for the test package pkg (its
// objects are labelled dev.pelato.test=pkg, so packages testing in parallel never
// share, or remove, each other's image).
func Source(t testing.TB, pkg string) builder.ImageSource {
	t.Helper()
	bin, err := fakewash()
	if err != nil {
		t.Fatal(err)
	}
	const dir = 0o40000
	return builder.ImageSource{
		Dockerfile: []byte(Dockerfile),
		Files: map[string]builder.File{
			"wash":            {Data: bin, Mode: 0o755},
			"pelato-modules":  {Data: bin, Mode: 0o755},
			"cache/go-mod":    {Mode: dir | 0o1777},
			"cache/go-build":  {Mode: dir | 0o1777},
			"cache/xdg":       {Mode: dir | 0o1777},
			"home":            {Mode: dir | 0o1777},
			"cache/README.md": {Data: []byte("pelato test builder caches\n")},
		},
		Labels: map[string]string{LabelTest: pkg},
	}
}

// VolumePrefix returns a prefix for cache volume names unique to this test.
func VolumePrefix(t testing.TB) string {
	return fmt.Sprintf("pelato-test-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9)
}

// Cleanup removes, at the end of the test, every container labelled with run (or all
// of pelato's containers for this project when run is ""), the volumes named, and
// reports containers that were left behind as a test failure.
func Cleanup(t testing.TB, c *builder.Client, labels map[string]string, volumes ...string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ids, err := c.Containers(ctx, labels)
		if err != nil {
			t.Errorf("list containers: %v", err)
		}
		if len(ids) > 0 {
			t.Errorf("%d container(s) labelled %v left behind", len(ids), labels)
			c.RemoveContainers(ctx, ids)
		}
		if err := c.RemoveVolumes(ctx, volumes...); err != nil {
			t.Errorf("remove volumes: %v", err)
		}
	})
}

// SourceWithGo is Source plus the real go command of the machine running the test
// (at /usr/local/go, with GOROOT's VERSION and go.env; it is a static binary) and a
// module proxy folder /proxy (GOPROXY=file:///proxy, GOSUMDB=off: go.sum alone
// vouches for the modules) holding the modules mods ("path@version", taken from
// the test machine's module download cache, which `go mod download` fills). The
// image's pelato-modules then downloads and verifies modules for real.
func SourceWithGo(t testing.TB, pkg string, mods ...string) builder.ImageSource {
	t.Helper()
	src := Source(t, pkg)
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	goroot := strings.TrimSpace(string(out))
	for _, f := range []struct{ from, to string }{{"bin/go", "go/bin/go"}, {"VERSION", "go/VERSION"}, {"go.env", "go/go.env"}} {
		b, err := os.ReadFile(filepath.Join(goroot, f.from))
		if err != nil {
			t.Fatalf("the test image needs the go command: %v", err)
		}
		src.Files[f.to] = builder.File{Data: b, Mode: 0o755}
	}
	const dir = 0o40000
	src.Files["go/src"] = builder.File{Mode: dir | 0o755}
	src.Files["proxy"] = builder.File{Mode: dir | 0o755}
	for _, m := range mods {
		out, err := exec.Command("go", "mod", "download", "-json", m).Output()
		if err != nil {
			t.Fatalf("go mod download %s: %v", m, err)
		}
		var info struct{ Info, GoMod, Zip, Error string }
		if err := json.Unmarshal(out, &info); err != nil || info.Error != "" {
			t.Fatalf("go mod download %s: %v %s", m, err, info.Error)
		}
		path, version, _ := strings.Cut(m, "@")
		esc := escapePath(path)
		for ext, from := range map[string]string{".info": info.Info, ".mod": info.GoMod, ".zip": info.Zip} {
			b, err := os.ReadFile(from)
			if err != nil {
				t.Fatal(err)
			}
			src.Files["proxy/"+esc+"/@v/"+version+ext] = builder.File{Data: b}
		}
	}
	src.Dockerfile = []byte(strings.Replace(Dockerfile, "WORKDIR /src", `COPY go/ /usr/local/go/
COPY proxy/ /proxy/
ENV GOROOT=/usr/local/go GOPROXY=file:///proxy GOSUMDB=off GOTOOLCHAIN=local GOTELEMETRY=off
WORKDIR /src`, 1))
	return src
}

// escapePath is a module path as module proxies spell it: each upper-case letter
// becomes '!' and its lower case.
func escapePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
