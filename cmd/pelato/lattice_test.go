package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/lattice/latticetest"
)

// latticeProject is a generated copy of the example with a NATS server and the wadm
// double (edge and cloud hosts); NATS_URL points at the server.
func latticeProject(t *testing.T, o latticetest.WadmOptions) (string, *latticetest.Server, *latticetest.Wadm) {
	t.Helper()
	dir := copyDir(t, "../../examples/temperature")
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
	w := latticetest.NewWadm(t, srv.URL(), o)
	w.AddHost("default", lattice.Host{ID: "NEDGE1XXXXXXXXXXXXXXXX", FriendlyName: "edge-1", Labels: map[string]string{"host-type": "edge"}, Version: "1.9.0", UptimeSeconds: 90})
	w.AddHost("default", lattice.Host{ID: "NCLOUD1XXXXXXXXXXXXXXX", FriendlyName: "cloud-1", Labels: map[string]string{"host-type": "cloud"}, Version: "1.9.0", UptimeHuman: "1h 2m"})
	t.Setenv("NATS_URL", srv.URL())
	t.Setenv("NATS_TIMEOUT", "2s")
	if code, out, errOut := pelato(t, "gen", dir); code != 0 {
		t.Fatalf("gen: %d %s %s", code, out, errOut)
	}
	return dir, srv, w
}

func pelatoCtx(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestDeployStatusRemoveCommands(t *testing.T) {
	dir, srv, _ := latticeProject(t, latticetest.WadmOptions{PlaceAfter: 30 * time.Millisecond})
	t.Setenv("ENABLE_METRICS", "True")
	code, out, errOut := pelato(t, "deploy", dir)
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "temp_filter                   1.0.2    created  deployed") {
		t.Errorf("deploy table:\n%s", out)
	}
	if !strings.Contains(errOut, "Deploying 2 components to lattice default at "+srv.URL()) || !strings.Contains(errOut, "deployed 2 of 2 components") {
		t.Errorf("deploy progress:\n%s", errOut)
	}
	m, err := os.ReadFile(filepath.Join(dir, "metrics.yaml"))
	if err != nil || !strings.Contains(string(m), "components_deploy_time:") || !strings.Contains(string(m), "command: deploy") {
		t.Errorf("metrics: %v\n%s", err, m)
	}

	// Unchanged: a no-op, in JSON.
	code, out, _ = pelato(t, "deploy", dir, "temp_filter", "--format", "json")
	var dep struct {
		Kind   string `json:"kind"`
		Deploy struct {
			Lattice    string `json:"lattice"`
			Components []struct {
				ComponentName string `json:"component_name"`
				Action        string `json:"action"`
				Status        string `json:"status"`
			} `json:"components"`
		} `json:"deploy"`
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || json.Unmarshal([]byte(lines[len(lines)-1]), &dep) != nil || dep.Kind != "result" || len(dep.Deploy.Components) != 1 ||
		dep.Deploy.Components[0].Action != "unchanged" || dep.Deploy.Components[0].Status != "deployed" {
		t.Errorf("redeploy json lines: exit %d\n%s", code, out)
	}
	for _, l := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev["kind"] == nil {
			t.Errorf("not a JSON event line: %q", l)
		}
	}

	code, out, errOut = pelato(t, "status", dir)
	if code != 0 {
		t.Fatalf("status: exit %d %s", code, errOut)
	}
	for _, want := range []string{"Lattice default at " + srv.URL(), "APPLICATION", "temp_filter                   1.0.2    1.0.2     deployed",
		"HOST", "edge-1", "host-type=edge", "1h 2m", "1m30s"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = pelato(t, "status", dir, "--format", "json")
	var st struct {
		Apps []struct {
			App             string `json:"app"`
			DeployedVersion string `json:"deployed_version"`
			Status          string `json:"status"`
		} `json:"apps"`
		Hosts []struct {
			FriendlyName string            `json:"friendly_name"`
			Labels       map[string]string `json:"labels"`
		} `json:"hosts"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.Apps) != 2 || len(st.Hosts) != 2 || st.Apps[1].Status != "deployed" || st.Hosts[0].Labels["host-type"] != "cloud" {
		t.Errorf("status json: exit %d\n%s", code, out)
	}

	code, out, errOut = pelato(t, "remove", dir)
	if code != 0 || !strings.Contains(out, "temp_filter                   removed  1.0.2             undeployed") {
		t.Errorf("remove: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = pelato(t, "remove", dir, "--format", "json")
	if code != 0 || strings.Count(out, `"action":"absent"`) != 2 || !strings.Contains(out, `{"kind":"result","remove":`) {
		t.Errorf("remove twice: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = pelato(t, "status", dir)
	if code != 0 || strings.Count(out, "not in wadm") != 2 {
		t.Errorf("status after remove:\n%s", out)
	}
}

func TestStatusWatchPrintsJSONLines(t *testing.T) {
	dir, _, _ := latticeProject(t, latticetest.WadmOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	code, out, errOut := pelatoCtx(ctx, "status", dir, "--watch", "--interval", "50ms", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		t.Fatalf("want several refreshes, got %d:\n%s", len(lines), out)
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil || v["lattice"] != "default" {
			t.Errorf("not a JSON document per line: %q (%v)", l, err)
		}
	}
}

func TestDeployCommandFailures(t *testing.T) {
	dir, srv, _ := latticeProject(t, latticetest.WadmOptions{})
	// A target no host carries: exit 1 with the explanation.
	wf := filepath.Join(dir, "workflow.yaml")
	b, _ := os.ReadFile(wf)
	os.WriteFile(wf, []byte(strings.Replace(string(b), "targets: [cloud]", "targets: [gpu]", 1)), 0o644)
	pelato(t, "gen", dir)
	code, out, errOut := pelato(t, "deploy", dir, "--timeout", "5s")
	if code != 1 || !strings.Contains(errOut, "no host in lattice \"default\" has label host-type=gpu") || !strings.Contains(errOut, "hosts in the lattice: cloud-1 (host-type=cloud), edge-1 (host-type=edge)") ||
		!strings.Contains(out, "temp_filter                   1.0.2    created  failed") {
		t.Errorf("placement failure: exit %d\n%s\n%s", code, out, errOut)
	}
	// A NATS server where no wadm listens: exit 2 naming the lattice and the server.
	bare := latticetest.StartNATS(t, latticetest.ServerOptions{})
	// The summary says nothing was deployed, and why; the error is printed once.
	code, out, errOut = pelato(t, "deploy", dir, "--lattice", "nowhere", "--nats-url", bare.URL())
	if code != 2 || strings.Count(errOut, `no wadm is listening on lattice "nowhere" at `+bare.URL()) != 1 ||
		!strings.Contains(out, "deployed 0 of 2 components to lattice nowhere; stopped: no wadm answers on lattice nowhere") ||
		strings.Count(out, "not deployed") != 2 {
		t.Errorf("no wadm: exit %d\n%s\n%s", code, out, errOut)
	}
	// status shows no application rows as if wadm had answered; remove says why
	// nothing was removed.
	code, out, errOut = pelato(t, "status", dir, "--lattice", "nowhere", "--nats-url", bare.URL())
	if code != 2 || strings.Contains(out, "not in wadm") || strings.Contains(out, "APPLICATION") ||
		!strings.Contains(out, "wadm did not answer on lattice nowhere: the state of 2 applications is unknown") || strings.Count(errOut, "no wadm is listening") != 1 {
		t.Errorf("status without wadm: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = pelato(t, "status", dir, "--lattice", "nowhere", "--nats-url", bare.URL(), "--format", "json")
	if code != 2 || !strings.Contains(out, `"wadm_answered": false`) {
		t.Errorf("status --format json without wadm: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = pelato(t, "remove", dir, "--lattice", "nowhere", "--nats-url", bare.URL())
	if code != 2 || !strings.Contains(out, "removed 0 applications from lattice nowhere; stopped: no wadm answers on lattice nowhere") || strings.Count(errOut, "no wadm is listening") != 1 {
		t.Errorf("remove without wadm: exit %d\n%s\n%s", code, out, errOut)
	}
	// A bad setting: exit 2.
	code, _, errOut = pelato(t, "deploy", dir, "--request-timeout", "soon")
	if code != 2 || !strings.Contains(errOut, "NATS_TIMEOUT (from flag)") {
		t.Errorf("bad timeout: exit %d %s", code, errOut)
	}
	// NATS gone: exit 2.
	srv.Stop()
	code, _, errOut = pelato(t, "status", dir)
	if code != 2 || !strings.Contains(errOut, "cannot reach the server") {
		t.Errorf("no NATS: exit %d %s", code, errOut)
	}
}

func TestCleanEscapesControlCharacters(t *testing.T) {
	if got := clean("edge\x1b[2J\n1"); got != `edge\x1b[2J\n1` {
		t.Errorf("clean = %q", got)
	}
}

// The connection settings reach the client from the environment: user and password,
// and TLS with a client certificate.
func TestLatticeSettingsFromEnvironment(t *testing.T) {
	dir := copyDir(t, "../../examples/temperature")
	if code, _, errOut := pelato(t, "gen", dir); code != 0 {
		t.Fatal(errOut)
	}
	t.Setenv("NATS_TIMEOUT", "2s")

	auth := latticetest.StartNATS(t, latticetest.ServerOptions{User: "deployer", Password: "s3cret"})
	w := latticetest.NewWadm(t, auth.URL(), latticetest.WadmOptions{User: "deployer", Password: "s3cret"})
	w.AddHost("default", lattice.Host{ID: "NALL", FriendlyName: "all", Labels: map[string]string{"host-type": "edge"}})
	w.AddHost("default", lattice.Host{ID: "NCLOUD", FriendlyName: "cloud", Labels: map[string]string{"host-type": "cloud"}})
	os.WriteFile(filepath.Join(dir, ".env"), []byte("NATS_HOST=127.0.0.1\nNATS_PORT="+strconv.Itoa(auth.Port())+"\nNATS_USER=deployer\nNATS_PASSWORD=s3cret\n"), 0o600)
	if code, out, errOut := pelato(t, "deploy", dir); code != 0 {
		t.Fatalf("deploy with user/password from .env: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Setenv("NATS_PASSWORD", "wrong")
	code, _, errOut := pelato(t, "status", dir)
	if code != 2 || !strings.Contains(errOut, "refused the credentials") || strings.Contains(errOut, "wrong") {
		t.Errorf("wrong password: exit %d %s", code, errOut)
	}
	os.Remove(filepath.Join(dir, ".env"))

	certs := latticetest.NewCerts(t)
	tlsSrv := latticetest.StartNATS(t, latticetest.ServerOptions{TLS: certs.Server})
	latticetest.NewWadm(t, tlsSrv.URL(), latticetest.WadmOptions{TLSCA: certs.CAFile, TLSCert: certs.ClientCert, TLSKey: certs.ClientKey})
	t.Setenv("NATS_PASSWORD", "")
	t.Setenv("NATS_URL", tlsSrv.URL())
	t.Setenv("NATS_TLS_CA", certs.CAFile)
	t.Setenv("NATS_TLS_CERT", certs.ClientCert)
	t.Setenv("NATS_TLS_KEY", certs.ClientKey)
	code, out, errOut := pelato(t, "status", dir, "--format", "json")
	if code != 0 || !strings.Contains(out, `"lattice": "default"`) {
		t.Errorf("status over TLS: exit %d\n%s\n%s", code, out, errOut)
	}
	t.Setenv("NATS_TLS_CERT", "")
	t.Setenv("NATS_TLS_KEY", "")
	code, _, errOut = pelato(t, "status", dir)
	if code != 2 || !strings.Contains(errOut, "TLS") {
		t.Errorf("TLS without a client certificate: exit %d %s", code, errOut)
	}
}

// Interrupting the wait says what happens to what wadm already acknowledged.
func TestDeployInterruptedWhileWaiting(t *testing.T) {
	dir, _, _ := latticeProject(t, latticetest.WadmOptions{PlaceAfter: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	code, _, errOut := pelatoCtx(ctx, "deploy", dir)
	if code != 1 || !strings.Contains(errOut, "stopped waiting") || !strings.Contains(errOut, "pelato status") {
		t.Errorf("exit %d\n%s", code, errOut)
	}
}
