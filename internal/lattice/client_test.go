package lattice_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/lattice/latticetest"
	"github.com/pelato-dev/pelato/internal/wadm"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func connect(t *testing.T, o lattice.Options) *lattice.Client {
	t.Helper()
	c, err := lattice.Connect(ctx(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func manifest(t *testing.T, version string, targets ...string) (*wadm.Manifest, []byte) {
	t.Helper()
	m := wadm.Build(wadm.BuildInput{Name: "Data filter", ComponentName: "temp_filter", Version: version, Registry: "localhost:5000",
		Targets: targets, SourceTopic: "in", DestTopic: "out", Publishes: true, Providers: []string{wadm.ProviderMessagingNATS}})
	b, err := wadm.MarshalJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	return m, b
}

func TestAPIAgainstTheDouble(t *testing.T) {
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
	w := latticetest.NewWadm(t, srv.URL(), latticetest.WadmOptions{PlaceAfter: 50 * time.Millisecond})
	w.AddHost("default", lattice.Host{ID: "NHOSTCLOUD", FriendlyName: "cloud-1", Labels: map[string]string{"host-type": "cloud"}})
	c := connect(t, lattice.Options{URL: srv.URL()})
	ctx := ctx(t)

	if st, err := c.Status(ctx, "temp_filter"); err != nil || st.Result != lattice.ResultOK || st.Status.Info.Type != lattice.StatusUndeployed {
		t.Fatalf("status of an unknown name: %+v, %v", st, err)
	}
	if g, err := c.Get(ctx, "temp_filter", ""); err != nil || g.Result != lattice.ResultNotFound {
		t.Fatalf("get of an unknown name: %+v, %v", g, err)
	}
	_, body := manifest(t, "1.0.0", "cloud")
	put, err := c.Put(ctx, "temp_filter", body)
	if err != nil || put.Result != lattice.ResultCreated || put.CurrentVersion != "1.0.0" {
		t.Fatalf("put: %+v, %v", put, err)
	}
	if _, err := c.Put(ctx, "temp_filter", body); !lattice.IsVersionExists(err) || !strings.Contains(err.Error(), "Manifest version 1.0.0 already exists") {
		t.Fatalf("second put of 1.0.0: %v", err)
	}
	_, body2 := manifest(t, "1.0.1", "cloud")
	if put, err := c.Put(ctx, "temp_filter", body2); err != nil || put.Result != lattice.ResultNewVersion {
		t.Fatalf("put 1.0.1: %+v, %v", put, err)
	}
	g, err := c.Get(ctx, "temp_filter", "1.0.0")
	if err != nil || g.Result != lattice.ResultSuccess {
		t.Fatalf("get 1.0.0: %+v, %v", g, err)
	}
	got, err := wadm.Decode(g.Manifest)
	if err != nil || got.Metadata.Annotations["version"] != "1.0.0" {
		t.Fatalf("stored manifest: %v %s", err, g.Manifest)
	}
	if d, err := c.Deploy(ctx, "temp_filter", "1.0.0"); err != nil || d.Result != lattice.ResultAcknowledged {
		t.Fatalf("deploy: %+v, %v", d, err)
	}
	if d, err := c.Deploy(ctx, "temp_filter", "9.9.9"); err == nil {
		t.Fatalf("deploy of a version never put: %+v", d)
	}
	if d, err := c.Deploy(ctx, "nothing_here", "1.0.0"); err != nil || d.Result != lattice.ResultNotFound {
		t.Fatalf("deploy of an unknown name: %+v, %v", d, err)
	}
	st, err := c.Status(ctx, "temp_filter")
	if err != nil || st.Status.Info.Type != lattice.StatusReconciling {
		t.Fatalf("status right after deploy: %+v, %v", st, err)
	}
	time.Sleep(60 * time.Millisecond)
	st, err = c.Status(ctx, "temp_filter")
	if err != nil || st.Status.Info.Type != lattice.StatusDeployed || len(st.Status.Scalers) == 0 {
		t.Fatalf("status once placed: %+v, %v", st, err)
	}
	v, err := c.Versions(ctx, "temp_filter")
	if err != nil || len(v.Versions) != 2 || !v.Versions[0].Deployed || v.Versions[1].Deployed {
		t.Fatalf("versions: %+v, %v", v, err)
	}
	l, err := c.List(ctx)
	if err != nil || len(l.Models) != 1 || l.Models[0].DeployedVersion != "1.0.0" || l.Models[0].Version != "1.0.1" {
		t.Fatalf("list: %+v, %v", l, err)
	}
	if info, _ := l.Models[0].Info(); info.Type != lattice.StatusDeployed {
		t.Errorf("list status: %+v", info)
	}
	if u, err := c.Undeploy(ctx, "temp_filter"); err != nil || u.Result != lattice.ResultAcknowledged {
		t.Fatalf("undeploy: %+v, %v", u, err)
	}
	if d, err := c.Delete(ctx, "temp_filter", ""); err != nil || d.Result != lattice.ResultDeleted {
		t.Fatalf("delete: %+v, %v", d, err)
	}
	if d, err := c.Delete(ctx, "temp_filter", ""); err != nil || d.Result != lattice.ResultNoop {
		t.Fatalf("delete again: %+v, %v", d, err)
	}
	if _, err := c.Status(ctx, "bad.name"); err == nil {
		t.Error("a name with a dot was sent")
	}
}

func TestPlacementFailureMessage(t *testing.T) {
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
	w := latticetest.NewWadm(t, srv.URL(), latticetest.WadmOptions{})
	w.AddHost("default", lattice.Host{ID: "NHOSTCLOUD", FriendlyName: "cloud-1", Labels: map[string]string{"host-type": "cloud"}})
	c := connect(t, lattice.Options{URL: srv.URL()})
	_, body := manifest(t, "1.0.0", "edge")
	if _, err := c.Put(ctx(t), "temp_filter", body); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deploy(ctx(t), "temp_filter", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx(t), "temp_filter")
	if err != nil || st.Status.Info.Type != lattice.StatusFailed {
		t.Fatalf("%+v, %v", st, err)
	}
	u := lattice.ParseUnsatisfied(st.Status.Info.Message)
	if len(u) != 2 || u[0].Kind != "spread" || u[0].Spread != "edge" || u[0].Image != "localhost:5000/temp_filter:1.0.0" ||
		u[1].Kind != "daemonscaler" || u[1].Image != wadm.MessagingNATSImage {
		t.Errorf("unsatisfied %+v from %q", u, st.Status.Info.Message)
	}
}

func TestHosts(t *testing.T) {
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
	w := latticetest.NewWadm(t, srv.URL(), latticetest.WadmOptions{})
	for _, h := range []lattice.Host{
		{ID: "NB", FriendlyName: "edge-2", Labels: map[string]string{"host-type": "edge"}, Version: "1.9.0", UptimeSeconds: 5},
		{ID: "NA", FriendlyName: "cloud-1", Labels: map[string]string{"host-type": "cloud", "zone": "a"}, Version: "1.9.0"},
		{ID: "NC", FriendlyName: "edge-1", Labels: map[string]string{"host-type": "edge"}},
	} {
		w.AddHost("default", h)
	}
	w.AddHost("other", lattice.Host{ID: "NZ", FriendlyName: "elsewhere"})
	c := connect(t, lattice.Options{URL: srv.URL()})
	start := time.Now()
	hosts, err := c.Hosts(ctx(t), lattice.HostsOptions{Window: 2 * time.Second, Quiet: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("quiet period did not end the gathering early: %s", time.Since(start))
	}
	var names []string
	for _, h := range hosts {
		names = append(names, h.FriendlyName)
	}
	if strings.Join(names, ",") != "cloud-1,edge-1,edge-2" || hosts[0].Labels["zone"] != "a" || hosts[2].UptimeSeconds != 5 {
		t.Errorf("hosts %+v", hosts)
	}
	if !lattice.Carries(hosts, "host-type", "edge") || lattice.Carries(hosts, "host-type", "gpu") {
		t.Error("Carries")
	}
	if got := lattice.DescribeHosts(hosts[:1]); got != "cloud-1 (host-type=cloud, zone=a)" {
		t.Errorf("DescribeHosts = %q", got)
	}
	empty := connect(t, lattice.Options{URL: srv.URL(), Lattice: "empty"})
	if hosts, err := empty.Hosts(ctx(t), lattice.HostsOptions{Window: 100 * time.Millisecond}); err != nil || len(hosts) != 0 {
		t.Errorf("a lattice without hosts: %v, %v", hosts, err)
	}
}

func TestNoWadmListening(t *testing.T) {
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
	c := connect(t, lattice.Options{URL: srv.URL(), Lattice: "lab"})
	_, err := c.Status(ctx(t), "temp_filter")
	var nw *lattice.NoWadmError
	if !errors.As(err, &nw) || !lattice.IsUnavailable(err) {
		t.Fatalf("want NoWadmError, got %v", err)
	}
	for _, want := range []string{`no wadm is listening on lattice "lab"`, srv.URL(), "wadm.api.lab.model.status.temp_filter"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}

func TestWadmThatNeverAnswers(t *testing.T) {
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
	latticetest.NewWadm(t, srv.URL(), latticetest.WadmOptions{Silent: true})
	c := connect(t, lattice.Options{URL: srv.URL(), Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := c.Versions(ctx(t), "temp_filter")
	var te *lattice.TimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "did not answer model.versions temp_filter within 200ms") {
		t.Fatalf("want a time-out, got %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("time-out took %s", d)
	}
}

func TestNATSUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = lattice.Connect(ctx(t), lattice.Options{URL: "nats://" + addr, Timeout: time.Second})
	var ce *lattice.ConnectError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "cannot reach the server") || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "NATS_URL") {
		t.Fatalf("want an unreachable error naming the address, got %v", err)
	}
}

func TestUserPassword(t *testing.T) {
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{User: "deployer", Password: "s3cret"})
	latticetest.NewWadm(t, srv.URL(), latticetest.WadmOptions{User: "deployer", Password: "s3cret"})
	c := connect(t, lattice.Options{URL: srv.URL(), User: "deployer", Password: "s3cret"})
	if _, err := c.List(ctx(t)); err != nil {
		t.Fatalf("list with the right password: %v", err)
	}
	_, err := lattice.Connect(ctx(t), lattice.Options{URL: srv.URL(), User: "deployer", Password: "wrong"})
	if err == nil || !strings.Contains(err.Error(), "refused the credentials") || !strings.Contains(err.Error(), "NATS_USER (deployer) and NATS_PASSWORD") {
		t.Fatalf("wrong password: %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the password is in the error: %v", err)
	}
	_, err = lattice.Connect(ctx(t), lattice.Options{URL: srv.URL()})
	if err == nil || !strings.Contains(err.Error(), "set NATS_USER and NATS_PASSWORD") {
		t.Fatalf("no credentials: %v", err)
	}
	// Credentials in the URL are accepted and never shown.
	u := strings.Replace(srv.URL(), "nats://", "nats://deployer:s3cret@", 1)
	c2 := connect(t, lattice.Options{URL: u})
	if strings.Contains(c2.URL(), "s3cret") {
		t.Errorf("URL() shows the password: %s", c2.URL())
	}
}

func TestTLS(t *testing.T) {
	certs := latticetest.NewCerts(t)
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{TLS: certs.Server})
	latticetest.NewWadm(t, srv.URL(), latticetest.WadmOptions{TLSCA: certs.CAFile, TLSCert: certs.ClientCert, TLSKey: certs.ClientKey})
	c := connect(t, lattice.Options{URL: srv.URL(), TLSCA: certs.CAFile, TLSCert: certs.ClientCert, TLSKey: certs.ClientKey})
	if _, err := c.List(ctx(t)); err != nil {
		t.Fatalf("list over TLS: %v", err)
	}
	_, err := lattice.Connect(ctx(t), lattice.Options{URL: srv.URL(), TLSCA: certs.CAFile, Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "NATS_TLS_CERT") {
		t.Fatalf("without a client certificate: %v", err)
	}
	_, err = lattice.Connect(ctx(t), lattice.Options{URL: srv.URL(), Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Fatalf("without the CA: %v", err)
	}
}

// A reply lost because the server restarted is asked for again once the connection is
// back; the caller sees the answer, not the restart.
func TestRequestSurvivesServerRestart(t *testing.T) {
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
	var once sync.Once
	w := latticetest.NewWadm(t, srv.URL(), latticetest.WadmOptions{BeforeReply: func(op, name string) {
		if op == "model.deploy" {
			once.Do(srv.Restart)
		}
	}})
	c := connect(t, lattice.Options{URL: srv.URL(), Timeout: 2 * time.Second})
	_, body := manifest(t, "1.0.0", "cloud")
	if _, err := c.Put(ctx(t), "temp_filter", body); err != nil {
		t.Fatal(err)
	}
	d, err := c.Deploy(ctx(t), "temp_filter", "1.0.0")
	if err != nil || d.Result != lattice.ResultAcknowledged {
		t.Fatalf("deploy across a restart: %+v, %v", d, err)
	}
	v, err := c.Versions(ctx(t), "temp_filter")
	if err != nil || len(v.Versions) != 1 || !v.Versions[0].Deployed {
		t.Fatalf("after the restart: %+v, %v", v, err)
	}
	deploys := 0
	for _, r := range w.Requests() {
		if strings.Contains(r.Subject, ".model.deploy.") {
			deploys++
		}
	}
	if deploys != 2 {
		t.Errorf("the deploy cut by the restart was sent %d time(s), want 2 (once more after the reconnect)", deploys)
	}
}

func TestParseUnsatisfiedJoined(t *testing.T) {
	msg := "Could not satisfy spread edge for reg/a:1, 0/1 eligible hosts found. Could not satisfy spread gpu for reg/a:1, 0/1 eligible hosts found., Could not satisfy daemonscaler edge for ghcr.io/wasmcloud/messaging-nats:0.27.0, 0 eligible hosts found."
	got := lattice.ParseUnsatisfied(msg)
	b, _ := json.Marshal(got)
	if len(got) != 3 || got[1].Spread != "gpu" || got[2].Kind != "daemonscaler" {
		t.Errorf("%s", b)
	}
	if lattice.ParseUnsatisfied("Scaling component on 1 host(s)") != nil {
		t.Error("a progress message parsed as a failure")
	}
}
