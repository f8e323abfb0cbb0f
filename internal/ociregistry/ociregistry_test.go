package ociregistry_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/pelato-dev/pelato/internal/ociregistry"
	"github.com/pelato-dev/pelato/internal/wasmcomponent/wasmcomponenttest"

	"github.com/pelato-dev/pelato/internal/testenv"
)

// testRegistry is an in-process go-containerregistry registry, optionally behind
// HTTP basic auth (user "pelato" with password, and user "reader" who may only pull),
// counting blob uploads.
type testRegistry struct {
	URL     string // host:port
	uploads atomic.Int64
	server  *httptest.Server
}

func newRegistry(t testing.TB, password string) *testRegistry {
	t.Helper()
	r := &testRegistry{}
	reg := registry.New(registry.Logger(nilLogger()))
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if password != "" {
			u, p, ok := req.BasicAuth()
			switch {
			case !ok || (u == "pelato" && p != password) || (u == "reader" && p != "reader") || (u != "pelato" && u != "reader"):
				w.Header().Set("WWW-Authenticate", `Basic realm="pelato-test"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			case u == "reader" && req.Method != http.MethodGet && req.Method != http.MethodHead:
				http.Error(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`, http.StatusForbidden)
				return
			}
		}
		if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/blobs/uploads/") {
			r.uploads.Add(1)
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(r.server.Close)
	r.URL = strings.TrimPrefix(r.server.URL, "http://")
	return r
}

func artifact(size int) ociregistry.Artifact {
	wasm := wasmcomponenttest.Encode(wasmcomponenttest.Spec{
		Imports: []string{"wasmcloud:messaging/consumer@0.2.0"}, Exports: []string{"wasmcloud:messaging/handler@0.2.0"}, Padding: size})
	return ociregistry.Artifact{Wasm: wasm, Imports: []string{"wasmcloud:messaging/consumer@0.2.0"}, Exports: []string{"wasmcloud:messaging/handler@0.2.0"},
		Created: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
}

// noDockerConfig points DOCKER_CONFIG at an empty folder.
func noDockerConfig(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
}

func TestPushLayoutAndReadBack(t *testing.T) {
	noDockerConfig(t)
	reg := newRegistry(t, "")
	p := ociregistry.NewPusher(ociregistry.Options{})
	ref := ociregistry.Reference{Registry: reg.URL, Repository: "temp_filter", Tag: "1.0.2"}
	art := artifact(1000)
	res, err := p.Push(context.Background(), ref, art)
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged || res.BlobsUploaded != 2 || res.Reference != reg.URL+"/temp_filter:1.0.2" {
		t.Errorf("result %+v", res)
	}
	m, cfg, err := p.Fetch(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(art.Wasm)
	layerDigest := "sha256:" + hex.EncodeToString(sum[:])
	switch {
	case m.SchemaVersion != 2, m.MediaType != "application/vnd.oci.image.manifest.v1+json":
		t.Errorf("manifest header %d %q", m.SchemaVersion, m.MediaType)
	case m.Config.MediaType != "application/vnd.wasm.config.v0+json":
		t.Errorf("config media type %q", m.Config.MediaType)
	case len(m.Layers) != 1 || m.Layers[0].MediaType != "application/wasm" || m.Layers[0].Digest.String() != layerDigest || m.Layers[0].Size != int64(len(art.Wasm)):
		t.Errorf("layers %+v", m.Layers)
	}
	if cfg.Architecture != "wasm" || cfg.OS != "wasip2" || cfg.Created != "2026-11-30T12:00:00Z" ||
		!slices.Equal(cfg.LayerDigests, []string{layerDigest}) ||
		!slices.Equal(cfg.Component.Exports, art.Exports) || !slices.Equal(cfg.Component.Imports, art.Imports) {
		t.Errorf("config %+v", cfg)
	}

	// Again: the tag already names this component, nothing is uploaded.
	before := reg.uploads.Load()
	res, err = p.Push(context.Background(), ref, art)
	if err != nil || !res.Unchanged || reg.uploads.Load() != before {
		t.Errorf("second push: %+v %v, uploads %d→%d", res, err, before, reg.uploads.Load())
	}
	// Another tag of the same component: its blobs are not uploaded again.
	res, err = p.Push(context.Background(), ociregistry.Reference{Registry: reg.URL, Repository: "temp_filter", Tag: "1.0.3"}, art)
	if err != nil || res.BlobsUploaded != 0 || res.BlobsSkipped != 2 || reg.uploads.Load() != before {
		t.Errorf("new tag, same blobs: %+v %v", res, err)
	}
}

func TestTagWithOtherContent(t *testing.T) {
	noDockerConfig(t)
	reg := newRegistry(t, "")
	ref := ociregistry.Reference{Registry: reg.URL, Repository: "c", Tag: "1.0.0"}
	if _, err := ociregistry.NewPusher(ociregistry.Options{}).Push(context.Background(), ref, artifact(10)); err != nil {
		t.Fatal(err)
	}
	other := artifact(20)
	_, err := ociregistry.NewPusher(ociregistry.Options{}).Push(context.Background(), ref, other)
	var tc *ociregistry.TagConflictError
	if !errors.As(err, &tc) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("want a tag conflict, got %v", err)
	}
	res, err := ociregistry.NewPusher(ociregistry.Options{Force: true}).Push(context.Background(), ref, other)
	if err != nil || res.Unchanged {
		t.Fatalf("--force: %+v %v", res, err)
	}
	_, cfg, _ := ociregistry.NewPusher(ociregistry.Options{}).Fetch(context.Background(), ref)
	sum := sha256.Sum256(other.Wasm)
	if cfg.LayerDigests[0] != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("tag not replaced: %v", cfg.LayerDigests)
	}
}

func TestReferenceRules(t *testing.T) {
	bad := []ociregistry.Reference{
		{Registry: "localhost:5000", Repository: "c", Tag: "latest"},
		{Registry: "https://localhost:5000", Repository: "c", Tag: "1.0.0"},
		{Registry: "", Repository: "c", Tag: "1.0.0"},
		{Registry: "localhost:5000", Repository: "c", Tag: "1.0.0+build"},
	}
	for _, r := range bad {
		if err := r.Validate(); err == nil {
			t.Errorf("%+v accepted", r)
		}
	}
	if _, err := ociregistry.NewPusher(ociregistry.Options{}).Push(context.Background(), bad[0], artifact(1)); err == nil || !strings.Contains(err.Error(), "never tags `latest`") {
		t.Errorf("latest: %v", err)
	}
	plain := map[string]bool{"localhost:5000": true, "127.0.0.1:5000": true, "127.1.2.3": true, "[::1]:5000": true,
		"registry.example.com": false, "10.0.0.1:5000": false, "localhost.example.com:5000": false}
	for host, want := range plain {
		if got := ociregistry.PlainHTTP(host, false); got != want {
			t.Errorf("PlainHTTP(%s) = %v", host, got)
		}
		if !ociregistry.PlainHTTP(host, true) {
			t.Errorf("PlainHTTP(%s, insecure) = false", host)
		}
	}
}

func TestBasicAuth(t *testing.T) {
	noDockerConfig(t)
	const secret = "s3cr3t-Pa55"
	reg := newRegistry(t, secret)
	ref := ociregistry.Reference{Registry: reg.URL, Repository: "c", Tag: "1.0.0"}
	ctx := context.Background()

	_, err := ociregistry.NewPusher(ociregistry.Options{}).Push(ctx, ref, artifact(1))
	var ae *ociregistry.AuthError
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(err.Error(), "none were found") || !strings.Contains(err.Error(), "docker login "+reg.URL) {
		t.Errorf("no credentials: %v", err)
	}
	_, err = ociregistry.NewPusher(ociregistry.Options{Username: "pelato", Password: "wrong-" + secret}).Push(ctx, ref, artifact(1))
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(err.Error(), "REGISTRY_USER/REGISTRY_PASSWORD") || strings.Contains(err.Error(), secret) {
		t.Errorf("wrong password: %v", err)
	}
	_, err = ociregistry.NewPusher(ociregistry.Options{Username: "reader", Password: "reader"}).Push(ctx, ref, artifact(1))
	if !errors.As(err, &ae) || ae.Status != 403 || !strings.Contains(err.Error(), "403 Forbidden") {
		t.Errorf("reader: %v", err)
	}
	res, err := ociregistry.NewPusher(ociregistry.Options{Username: "pelato", Password: secret}).Push(ctx, ref, artifact(1))
	if err != nil || res.Credentials != "REGISTRY_USER/REGISTRY_PASSWORD" {
		t.Errorf("right password: %+v %v", res, err)
	}
}

// TestCredentialHelper: a Docker config naming a credential helper for the registry
// is used before REGISTRY_USER/REGISTRY_PASSWORD.
func TestCredentialHelper(t *testing.T) {
	const secret = "from-the-helper"
	reg := newRegistry(t, secret)
	cfgDir, binDir := t.TempDir(), t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(fmt.Sprintf(`{"credHelpers": {%q: "pelatotest"}}`, reg.URL)), 0o600)
	log := filepath.Join(binDir, "calls")
	script := fmt.Sprintf("#!/bin/sh\nread server\necho \"$1 $server\" >> %s\nif [ \"$1\" = get ] && [ \"$server\" = %s ]; then\n  printf '{\"ServerURL\":\"%%s\",\"Username\":\"pelato\",\"Secret\":\"%s\"}' \"$server\"\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n", log, reg.URL, secret)
	os.WriteFile(filepath.Join(binDir, "docker-credential-pelatotest"), []byte(script), 0o755)
	t.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))

	p := ociregistry.NewPusher(ociregistry.Options{Username: "pelato", Password: "env-password-is-wrong"})
	res, err := p.Push(context.Background(), ociregistry.Reference{Registry: reg.URL, Repository: "c", Tag: "2.0.0"}, artifact(1))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Credentials, "docker-credential-pelatotest") {
		t.Errorf("source %q", res.Credentials)
	}
	calls, _ := os.ReadFile(log)
	if !strings.Contains(string(calls), "get "+reg.URL) {
		t.Errorf("helper calls: %q", calls)
	}
}

func TestUnreachable(t *testing.T) {
	noDockerConfig(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	_, err := ociregistry.NewPusher(ociregistry.Options{}).Push(context.Background(), ociregistry.Reference{Registry: addr, Repository: "c", Tag: "1.0.0"}, artifact(1))
	var ue *ociregistry.UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("%v", err)
	}
}

// TestTLSErrors: a registry with a certificate nobody trusts, reached under a
// non-loopback name (so pelato speaks TLS), and an HTTP-only registry spoken to in TLS.
func TestTLSErrors(t *testing.T) {
	noDockerConfig(t)
	tlsSrv := httptest.NewUnstartedServer(registry.New(registry.Logger(nilLogger())))
	tlsSrv.Config.ErrorLog = nilLogger()
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	plainSrv := httptest.NewServer(registry.New(registry.Logger(nilLogger())))
	defer plainSrv.Close()
	route := map[string]string{
		"untrusted.test:443": strings.TrimPrefix(tlsSrv.URL, "https://"),
		"plain.test:443":     strings.TrimPrefix(plainSrv.URL, "http://"),
	}
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := route[addr]; ok {
			addr = to
		}
		return dialer.DialContext(ctx, network, addr)
	}}}
	for host, want := range map[string]string{"untrusted.test": "certificate", "plain.test": "plain HTTP"} {
		_, err := ociregistry.NewPusher(ociregistry.Options{HTTPClient: hc}).Push(context.Background(), ociregistry.Reference{Registry: host, Repository: "c", Tag: "1.0.0"}, artifact(1))
		var te *ociregistry.TLSError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", host, err)
		}
	}
}

// TestDebianRegistry pushes to Debian's docker-registry (the distribution registry)
// started here, and reads the artifact back.
func TestDebianRegistry(t *testing.T) {
	noDockerConfig(t)
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		testenv.Missing(t, "docker-registry is not installed (apt-get install docker-registry)")
	}
	addr := StartDebianRegistry(t, bin)
	p := ociregistry.NewPusher(ociregistry.Options{})
	ref := ociregistry.Reference{Registry: addr, Repository: "pelato/temp_filter", Tag: "1.0.2"}
	art := artifact(2 << 20)
	if _, err := p.Push(context.Background(), ref, art); err != nil {
		t.Fatal(err)
	}
	m, cfg, err := p.Fetch(context.Background(), ref)
	if err != nil || len(m.Layers) != 1 || m.Layers[0].Size != int64(len(art.Wasm)) || cfg.OS != "wasip2" {
		t.Fatalf("%v %+v %+v", err, m, cfg)
	}
	res, err := p.Push(context.Background(), ref, art)
	if err != nil || !res.Unchanged {
		t.Errorf("second push %+v %v", res, err)
	}
}
