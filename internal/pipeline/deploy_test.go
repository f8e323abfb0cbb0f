package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/lattice/latticetest"
)

// latticeEnv is a generated project, a real NATS server and (unless noWadm) the wadm
// double with an edge and a cloud host.
type latticeEnv struct {
	t    *testing.T
	srv  *latticetest.Server
	wadm *latticetest.Wadm
	dir  string
	conn LatticeConn
}

type envOptions struct {
	project string
	server  latticetest.ServerOptions
	wadm    latticetest.WadmOptions
	noWadm  bool
	timeout time.Duration
}

func newLatticeEnv(t *testing.T, o envOptions) *latticeEnv {
	t.Helper()
	if o.project == "" {
		o.project = "testdata/deploy/three"
	}
	e := &latticeEnv{t: t, dir: copyProject(t, o.project)}
	e.srv = latticetest.StartNATS(t, o.server)
	if !o.noWadm {
		e.wadm = latticetest.NewWadm(t, e.srv.URL(), o.wadm)
		e.wadm.AddHost("default", lattice.Host{ID: "NEDGE1", FriendlyName: "edge-1", Labels: map[string]string{"host-type": "edge"}, Version: "1.9.0", UptimeSeconds: 120})
		e.wadm.AddHost("default", lattice.Host{ID: "NCLOUD1", FriendlyName: "cloud-1", Labels: map[string]string{"host-type": "cloud", "zone": "eu"}, Version: "1.9.0", UptimeSeconds: 3600})
	}
	if o.timeout == 0 {
		o.timeout = 2 * time.Second
	}
	e.conn = LatticeConn{Options: lattice.Options{URL: e.srv.URL(), User: o.server.User, Password: o.server.Password, Timeout: o.timeout}}
	e.gen()
	return e
}

func (e *latticeEnv) gen() {
	e.t.Helper()
	res, err := Gen(context.Background(), GenOptions{Root: e.dir})
	if err != nil || res.Failed() > 0 {
		e.t.Fatalf("gen: %v %+v", err, res)
	}
}

// text writes the recorded events one a line (events is in build_test.go).
func (ev *events) text() string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var b strings.Builder
	for _, e := range ev.all {
		fmt.Fprintf(&b, "%d %s %s %s\n", e.Kind, e.Task, e.Title, e.Message)
	}
	return b.String()
}

func (e *latticeEnv) deploy(tasks ...string) (*DeployResult, *events, error) {
	ev := &events{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Deploy(ctx, DeployOptions{Root: e.dir, Tasks: tasks, Lattice: e.conn, PollInterval: 20 * time.Millisecond, Timeout: 5 * time.Second, Reporter: ev})
	return res, ev, err
}

// ops returns the wadm operations recorded since the last reset ("model.put", ...).
func (e *latticeEnv) ops() []string {
	var out []string
	for _, r := range e.wadm.Requests() {
		parts := strings.Split(r.Subject, ".")
		out = append(out, strings.Join(parts[3:], "."))
	}
	return out
}

func count(ops []string, prefix string) int {
	n := 0
	for _, o := range ops {
		if strings.HasPrefix(o, prefix) {
			n++
		}
	}
	return n
}

func TestDeployThreeTasks(t *testing.T) {
	e := newLatticeEnv(t, envOptions{wadm: latticetest.WadmOptions{PlaceAfter: 60 * time.Millisecond}})
	res, ev, err := e.deploy()
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 0 || len(res.Components) != 3 {
		t.Fatalf("%+v", res)
	}
	for _, c := range res.Components {
		if c.Action != ActionCreated || c.Status != lattice.StatusDeployed || len(c.Scalers) == 0 {
			t.Errorf("%s: action %q status %q scalers %d", c.ComponentName, c.Action, c.Status, len(c.Scalers))
		}
	}
	if res.Lattice != "default" || res.URL != e.srv.URL() {
		t.Errorf("lattice %q url %q", res.Lattice, res.URL)
	}
	log := ev.text()
	for _, want := range []string{"Deploying 3 components to lattice default at " + e.srv.URL(), "put 1.0.2 (created), deploy acknowledged",
		"reconciling — SpreadScaler temp_filter-temp_filter: reconciling (Scaling component on 1 host(s))", "deployed 1.0.2", "deployed 3 of 3 components to lattice default",
		"temp_filter  not built by `pelato build` on this machine: make sure localhost:5000/temp_filter:1.0.2 is pushed"} {
		if !strings.Contains(log, want) {
			t.Errorf("progress lacks %q:\n%s", want, log)
		}
	}
	if got := res.Summary(); got != "deployed 3 of 3 components to lattice default" {
		t.Errorf("summary %q", got)
	}
}

func TestRedeployUnchangedIsNoop(t *testing.T) {
	e := newLatticeEnv(t, envOptions{})
	if res, _, err := e.deploy(); err != nil || res.Failed() != 0 {
		t.Fatalf("first deploy: %v %+v", err, res)
	}
	e.wadm.ResetRequests()
	res, _, err := e.deploy()
	if err != nil || res.Failed() != 0 {
		t.Fatalf("second deploy: %v %+v", err, res)
	}
	for _, c := range res.Components {
		if c.Action != ActionUnchanged || c.Status != lattice.StatusDeployed {
			t.Errorf("%s: %q %q", c.ComponentName, c.Action, c.Status)
		}
	}
	ops := e.ops()
	if count(ops, "model.put") != 0 || count(ops, "model.deploy") != 0 {
		t.Errorf("an unchanged redeploy changed something: %v", ops)
	}
	if !strings.Contains(res.Summary(), "(3 unchanged)") {
		t.Errorf("summary %q", res.Summary())
	}
}

func TestChangedContentUnderSameVersionIsRefused(t *testing.T) {
	e := newLatticeEnv(t, envOptions{})
	if _, _, err := e.deploy(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(e.dir, "tasks", "filter.go")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, append(b, []byte("\n// changed\n")...), 0o644)
	e.gen()
	e.wadm.ResetRequests()
	res, _, err := e.deploy()
	if err != nil {
		t.Fatal(err)
	}
	var got *DeployedComponent
	for i := range res.Components {
		if res.Components[i].ComponentName == "temp_filter" {
			got = &res.Components[i]
		} else if res.Components[i].Err != "" || res.Components[i].Action != ActionUnchanged {
			t.Errorf("%s: %+v", res.Components[i].ComponentName, res.Components[i])
		}
	}
	for _, want := range []string{`wadm on lattice "default" already has version 1.0.2 of temp_filter`, "metadata.annotations.pelato.dev/source-hash",
		"the task's code changed", "bump `version:` of task temp_filter in workflow.yaml, line 18 (e.g. to 1.0.3)"} {
		if !strings.Contains(got.Err, want) {
			t.Errorf("error lacks %q:\n%s", want, got.Err)
		}
	}
	if count(e.ops(), "model.put") != 0 {
		t.Errorf("the refused manifest was put: %v", e.ops())
	}
	// Bumping the version as told deploys it as a new version.
	wf := filepath.Join(e.dir, "workflow.yaml")
	b, _ = os.ReadFile(wf)
	os.WriteFile(wf, []byte(strings.Replace(string(b), "version: 1.0.2", "version: 1.0.3", 1)), 0o644)
	e.gen()
	res, _, err = e.deploy("temp_filter")
	if err != nil || res.Failed() != 0 || res.Components[0].Action != ActionNewVersion || res.Components[0].Status != lattice.StatusDeployed {
		t.Fatalf("after the bump: %v %+v", err, res)
	}
}

// After a deploy replaces a deployed version, wadm's status still shows the old
// version's "deployed" for a moment: deploy waits for the new version's status.
func TestDeployNewVersionWaitsPastTheOldStatus(t *testing.T) {
	e := newLatticeEnv(t, envOptions{wadm: latticetest.WadmOptions{StatusLag: 300 * time.Millisecond, PlaceAfter: 100 * time.Millisecond}})
	if res, _, err := e.deploy("temp_filter"); err != nil || res.Failed() != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	wf := filepath.Join(e.dir, "workflow.yaml")
	b, _ := os.ReadFile(wf)
	os.WriteFile(wf, []byte(strings.Replace(string(b), "version: 1.0.2", "version: 1.0.3", 1)), 0o644)
	e.gen()
	start := time.Now()
	res, ev, err := e.deploy("temp_filter")
	if err != nil || res.Failed() != 0 || res.Components[0].Action != ActionNewVersion {
		t.Fatalf("%v %+v", err, res)
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("reported deployed after %s, before the new version was placed (lag 300ms + placement 100ms)", d)
	}
	log := ev.text()
	if r, d := strings.Index(log, "reconciling"), strings.Index(log, "deployed 1.0.3"); r < 0 || d < r {
		t.Errorf("want reconciling before deployed 1.0.3:\n%s", log)
	}
}

func TestTargetNoHostCarries(t *testing.T) {
	e := newLatticeEnv(t, envOptions{})
	wf := filepath.Join(e.dir, "workflow.yaml")
	b, _ := os.ReadFile(wf)
	os.WriteFile(wf, []byte(strings.Replace(string(b), "targets: [cloud]", "targets: [gpu]", 1)), 0o644)
	e.gen()
	res, ev, err := e.deploy()
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 1 {
		t.Fatalf("want one failure: %+v", res)
	}
	var failed DeployedComponent
	for _, c := range res.Components {
		if c.Err != "" {
			failed = c
		}
	}
	if failed.ComponentName != "temp_filter" || failed.Status != lattice.StatusFailed {
		t.Fatalf("%+v", failed)
	}
	for _, want := range []string{`no host in lattice "default" has label host-type=gpu (task temp_filter, ` + "`targets:`" + ` entry gpu, workflow.yaml line 14)`,
		"hosts in the lattice: cloud-1 (host-type=cloud, zone=eu), edge-1 (host-type=edge)", "Start a wasmCloud host with `--label host-type=gpu`"} {
		if !strings.Contains(failed.Err, want) {
			t.Errorf("explanation lacks %q:\n%s", want, failed.Err)
		}
	}
	if strings.Count(failed.Err, "has label host-type=gpu") != 1 || strings.Count(failed.Err, "--label host-type=gpu") != 1 {
		t.Errorf("the component and its provider should be explained once:\n%s", failed.Err)
	}
	if !strings.Contains(failed.Message, "Could not satisfy spread gpu") {
		t.Errorf("wadm's own message is kept: %q", failed.Message)
	}
	if len(res.Hosts) != 2 || !strings.Contains(ev.text(), "not placed") {
		t.Errorf("hosts %+v\n%s", res.Hosts, ev.text())
	}
}

func TestDeployWithoutWadm(t *testing.T) {
	e := newLatticeEnv(t, envOptions{noWadm: true})
	e.conn.Options.Lattice = "lab"
	_, _, err := e.deploy()
	var nw *lattice.NoWadmError
	if !errors.As(err, &nw) || !strings.Contains(err.Error(), `no wadm is listening on lattice "lab" at `+e.srv.URL()) {
		t.Fatalf("want the no-responders explanation, got %v", err)
	}
}

func TestDeployNATSUnreachable(t *testing.T) {
	e := newLatticeEnv(t, envOptions{noWadm: true})
	e.srv.Stop()
	_, _, err := e.deploy()
	var ce *lattice.ConnectError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "cannot reach the server") {
		t.Fatalf("got %v", err)
	}
}

func TestDeployWrongPassword(t *testing.T) {
	e := newLatticeEnv(t, envOptions{server: latticetest.ServerOptions{User: "pelato", Password: "right"}, noWadm: true})
	e.conn.Options.Password = "wrong"
	_, _, err := e.deploy()
	if err == nil || !strings.Contains(err.Error(), "refused the credentials") || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("got %v", err)
	}
}

func TestDeployWadmNeverAnswers(t *testing.T) {
	e := newLatticeEnv(t, envOptions{wadm: latticetest.WadmOptions{Silent: true}, timeout: 300 * time.Millisecond})
	start := time.Now()
	res, _, err := e.deploy()
	var te *lattice.TimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "did not answer model.get") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("a silent wadm held the deploy for %s", d)
	}
	if res == nil || res.Lattice != "default" {
		t.Errorf("partial result %+v", res)
	}
}

func TestDeployWaitTimesOut(t *testing.T) {
	e := newLatticeEnv(t, envOptions{wadm: latticetest.WadmOptions{PlaceAfter: time.Hour}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Deploy(ctx, DeployOptions{Root: e.dir, Tasks: []string{"store"}, Lattice: e.conn, PollInterval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 1 || !strings.Contains(res.Components[0].Err, "not deployed within 200ms: wadm reports reconciling") {
		t.Fatalf("%+v", res.Components)
	}
	// --wait=false returns at the acknowledgement.
	res, err = Deploy(ctx, DeployOptions{Root: e.dir, Tasks: []string{"temp_filter"}, Lattice: e.conn, NoWait: true})
	if err != nil || res.Failed() != 0 || res.Components[0].Status != "" || res.Components[0].Action != ActionCreated {
		t.Fatalf("no wait: %v %+v", err, res)
	}
}

// NATS restarted in the middle of a deploy: the command ends cleanly (it may even
// succeed, as requests are sent again after the reconnect), and a rerun converges.
func TestDeployNATSRestartedMidway(t *testing.T) {
	var e *latticeEnv
	var once sync.Once
	puts := 0
	var mu sync.Mutex
	e = newLatticeEnv(t, envOptions{wadm: latticetest.WadmOptions{BeforeReply: func(op, name string) {
		mu.Lock()
		if op == "model.put" {
			puts++
		}
		n := puts
		mu.Unlock()
		if n == 2 {
			once.Do(e.srv.Restart)
		}
	}}})
	res, _, err := e.deploy()
	if err != nil {
		var le *lattice.LostError
		if !errors.As(err, &le) {
			t.Fatalf("the first run failed without a clean error: %v", err)
		}
	}
	if res != nil {
		t.Logf("first run: err %v, %d failed", err, res.Failed())
	}
	res, _, err = e.deploy()
	if err != nil || res.Failed() != 0 {
		t.Fatalf("the rerun did not converge: %v %+v", err, res)
	}
	for _, c := range res.Components {
		if c.Status != lattice.StatusDeployed {
			t.Errorf("%s: %s", c.ComponentName, c.Status)
		}
	}
	l, err := lattice.Connect(context.Background(), e.conn.Options)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, name := range []string{"temp_filter", "store", "celsius_to_kelvin_conversion"} {
		v, err := l.Versions(context.Background(), name)
		if err != nil || len(v.Versions) != 1 || !v.Versions[0].Deployed {
			t.Errorf("%s: %+v %v", name, v, err)
		}
	}
}

// NATS gone for good in the middle of a deploy: the command stops with a clean error
// within the request time-out; once the server is back a rerun converges.
func TestDeployNATSStoppedMidway(t *testing.T) {
	var e *latticeEnv
	var once sync.Once
	e = newLatticeEnv(t, envOptions{timeout: 500 * time.Millisecond, wadm: latticetest.WadmOptions{BeforeReply: func(op, name string) {
		if op == "model.deploy" {
			once.Do(e.srv.Stop)
		}
	}}})
	start := time.Now()
	_, _, err := e.deploy()
	var le *lattice.LostError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "lost the connection to NATS at "+e.srv.URL()) || !strings.Contains(err.Error(), "run the command again") {
		t.Fatalf("want a lost-connection error, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s to give up", d)
	}
	e.srv.Start()
	e.wadm.WaitReady(t)
	res, _, err := e.deploy()
	if err != nil || res.Failed() != 0 {
		t.Fatalf("the rerun did not converge: %v %+v", err, res)
	}
}

func TestDeployNeedsCurrentGen(t *testing.T) {
	e := newLatticeEnv(t, envOptions{})
	wf := filepath.Join(e.dir, "workflow.yaml")
	b, _ := os.ReadFile(wf)
	os.WriteFile(wf, []byte(strings.Replace(string(b), "dest_topic: filtered_kelvin_data", "dest_topic: other_topic", 1)), 0o644)
	os.RemoveAll(filepath.Join(e.dir, "gen", "store"))
	res, _, err := e.deploy()
	if err != nil {
		t.Fatal(err)
	}
	errs := map[string]string{}
	for _, c := range res.Components {
		errs[c.ComponentName] = c.Err
	}
	if !strings.Contains(errs["temp_filter"], "gen/temp_filter/wadm.yaml is not what `pelato gen` writes now") {
		t.Errorf("stale: %q", errs["temp_filter"])
	}
	if !strings.Contains(errs["store"], "gen/store/wadm.yaml does not exist: run `pelato gen`") {
		t.Errorf("missing: %q", errs["store"])
	}
	if errs["celsius_to_kelvin_conversion"] != "" {
		t.Errorf("a current component failed: %q", errs["celsius_to_kelvin_conversion"])
	}
	// A project with errors is not deployed at all.
	os.WriteFile(wf, []byte(strings.Replace(string(b), "version: 1.0.2", "version: latest", 1)), 0o644)
	if _, _, err := e.deploy(); !errors.As(err, new(*CheckFailedError)) {
		t.Errorf("a broken workflow: %v", err)
	}
}

func TestRemoveTwiceAndStatus(t *testing.T) {
	e := newLatticeEnv(t, envOptions{wadm: latticetest.WadmOptions{PlaceAfter: 30 * time.Millisecond}})
	if res, _, err := e.deploy(); err != nil || res.Failed() != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	ctx := context.Background()
	st, err := Status(ctx, StatusOptions{Root: e.dir, Lattice: e.conn, Hosts: lattice.HostsOptions{Window: time.Second, Quiet: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Apps) != 3 || len(st.Hosts) != 2 || st.Apps[1].Status != lattice.StatusDeployed || st.Apps[1].DeployedVersion != "1.0.2" || !st.Apps[1].Stored {
		t.Fatalf("status %+v", st)
	}
	if got := st.Summary(); got != "3 of 3 applications deployed, 2 hosts in lattice default" {
		t.Errorf("summary %q", got)
	}
	ev := &events{}
	rm, err := Remove(ctx, RemoveOptions{Root: e.dir, Tasks: []string{"temp_filter"}, Lattice: e.conn, PollInterval: 20 * time.Millisecond, Reporter: ev})
	if err != nil || rm.Failed() != 0 || rm.Components[0].Action != ActionRemoved || rm.Components[0].Status != lattice.StatusUndeployed ||
		strings.Join(rm.Components[0].Versions, ",") != "1.0.2" {
		t.Fatalf("remove: %v %+v", err, rm)
	}
	rm, err = Remove(ctx, RemoveOptions{Root: e.dir, Tasks: []string{"temp_filter"}, Lattice: e.conn, PollInterval: 20 * time.Millisecond})
	if err != nil || rm.Failed() != 0 || rm.Components[0].Action != ActionAbsent {
		t.Fatalf("remove again: %v %+v", err, rm)
	}
	if !strings.Contains(rm.Summary(), "removed 0 applications from lattice default (1 not there)") {
		t.Errorf("summary %q", rm.Summary())
	}
	st, err = Status(ctx, StatusOptions{Root: e.dir, Lattice: e.conn, Tasks: []string{"temp_filter", "store"}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Apps[0].Stored || st.Apps[0].Status != "" || !st.Apps[1].Stored || strings.Join(st.Others, ",") != "celsius_to_kelvin_conversion" {
		t.Errorf("status after remove: %+v", st)
	}
	// Remove everything; then nothing is left.
	if rm, err := Remove(ctx, RemoveOptions{Root: e.dir, Lattice: e.conn, PollInterval: 20 * time.Millisecond}); err != nil || rm.Failed() != 0 {
		t.Fatalf("remove all: %v %+v", err, rm)
	}
	l, _ := lattice.Connect(ctx, e.conn.Options)
	defer l.Close()
	if list, err := l.List(ctx); err != nil || len(list.Models) != 0 {
		t.Errorf("left in the lattice: %+v %v", list, err)
	}
}

func TestStatusWithoutWadmStillListsHosts(t *testing.T) {
	e := newLatticeEnv(t, envOptions{noWadm: true})
	st, err := Status(context.Background(), StatusOptions{Root: e.dir, Lattice: e.conn, Hosts: lattice.HostsOptions{Window: 100 * time.Millisecond}})
	var nw *lattice.NoWadmError
	if !errors.As(err, &nw) || st == nil || len(st.Apps) != 3 {
		t.Fatalf("%v %+v", err, st)
	}
}

func TestNextVersion(t *testing.T) {
	for in, want := range map[string]string{"1.0.2": "1.0.3", "0.9.19": "0.9.20", "1.0.3-rc.1": "1.0.3", "1.0.0+build": "1.0.1", "v1": "", "1.x.0": ""} {
		if got := nextVersion(in); got != want {
			t.Errorf("nextVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSameManifestIgnoresEncoding(t *testing.T) {
	a := []byte(`{"apiVersion":"x","metadata":{"name":"n","annotations":{"version":"1"},"labels":{}},"spec":{"components":[{"name":"c","traits":[]}]}}`)
	b := []byte(`{"spec":{"components":[{"name":"c"}]},"metadata":{"annotations":{"version":"1"},"name":"n"},"apiVersion":"x"}`)
	if same, d, err := sameManifest(a, b); !same || err != nil {
		t.Errorf("same content, other encoding: %v %v", d, err)
	}
	c := []byte(`{"spec":{"components":[{"name":"d"}]},"metadata":{"annotations":{"version":"1"},"name":"n"},"apiVersion":"x"}`)
	if same, d, _ := sameManifest(a, c); same || strings.Join(d, ",") != "spec.components[0].name" {
		t.Errorf("differences %v", d)
	}
}

// FuzzSameManifest: a manifest is the same as itself, whatever it holds, and
// comparing never panics.
func FuzzSameManifest(f *testing.F) {
	f.Add([]byte(`{"metadata":{"annotations":{"version":"1"},"labels":{}},"spec":{"components":[]}}`), []byte(`{"spec":{}}`))
	f.Add([]byte(`[1,{"a":null}]`), []byte(`null`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		same, diffs, err := sameManifest(a, b)
		if err == nil && same == (len(diffs) > 0) {
			t.Fatalf("same %v with differences %v", same, diffs)
		}
		if len(diffs) > 4 {
			t.Fatalf("%d differences listed", len(diffs))
		}
		if s, _, err := sameManifest(a, a); err == nil && !s {
			t.Fatalf("%q differs from itself", a)
		}
	})
}
