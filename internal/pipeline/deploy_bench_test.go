package pipeline

import (
	"context"
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

// benchProject writes and generates a project of n processor tasks sharing one file.
func benchProject(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	var wf strings.Builder
	wf.WriteString("project_name: Bench\ntasks:\n")
	for i := range n {
		target := []string{"edge", "cloud"}[i%2]
		fmt.Fprintf(&wf, "  - name: Task %d\n    type: processor_nats\n    code: filter.go\n    targets: [%s]\n    source_topic: in.%d\n    dest_topic: out.%d\n    component_name: task_%02d\n    version: 1.0.%d\n", i, target, i, i, i, i)
	}
	os.MkdirAll(filepath.Join(dir, "tasks"), 0o755)
	src, err := os.ReadFile("testdata/deploy/three/tasks/filter.go")
	if err != nil {
		b.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "tasks", "filter.go"), src, 0o644)
	os.WriteFile(filepath.Join(dir, "workflow.yaml"), []byte(wf.String()), 0o644)
	if res, err := Gen(context.Background(), GenOptions{Root: dir}); err != nil || res.Failed() > 0 {
		b.Fatalf("gen: %v %+v", err, res)
	}
	return dir
}

func addHosts(w *latticetest.Wadm, lat string, n int) {
	for i := range n {
		target := []string{"edge", "cloud"}[i%2]
		w.AddHost(lat, lattice.Host{ID: fmt.Sprintf("NHOST%02d", i), FriendlyName: fmt.Sprintf("%s-%d", target, i), Labels: map[string]string{"host-type": target}, Version: "1.9.0"})
	}
}

// BenchmarkDeploy20 deploys 20 components (get, put, deploy each, then one status
// round, which finds them placed: the double places at once) over a real local NATS
// server, as `pelato deploy` does from connecting to the end. Target: < 300 ms.
func BenchmarkDeploy20(b *testing.B) {
	dir := benchProject(b, 20)
	srv := latticetest.StartNATS(b, latticetest.ServerOptions{})
	w := latticetest.NewWadm(b, srv.URL(), latticetest.WadmOptions{})
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		lat := fmt.Sprintf("bench%d", i) // a fresh lattice: every component is new
		addHosts(w, lat, 2)
		b.StartTimer()
		res, err := Deploy(ctx, DeployOptions{Root: dir, Lattice: LatticeConn{Options: lattice.Options{URL: srv.URL(), Lattice: lat}}, PollInterval: 10 * time.Millisecond})
		if err != nil || res.Failed() > 0 || res.Components[19].Status != lattice.StatusDeployed {
			b.Fatalf("%v %+v", err, res)
		}
	}
}

// BenchmarkRedeployUnchanged20 redeploys 20 unchanged components (a no-op).
func BenchmarkRedeployUnchanged20(b *testing.B) {
	dir := benchProject(b, 20)
	srv := latticetest.StartNATS(b, latticetest.ServerOptions{})
	w := latticetest.NewWadm(b, srv.URL(), latticetest.WadmOptions{})
	addHosts(w, "default", 2)
	ctx := context.Background()
	opts := DeployOptions{Root: dir, Lattice: LatticeConn{Options: lattice.Options{URL: srv.URL()}}, PollInterval: 10 * time.Millisecond}
	if _, err := Deploy(ctx, opts); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Deploy(ctx, opts)
		if err != nil || res.Failed() > 0 || res.Components[0].Action != ActionUnchanged {
			b.Fatalf("%v %+v", err, res)
		}
	}
}

// BenchmarkStatus20Apps10Hosts is `pelato status` of 20 deployed applications with
// 10 hosts answering the ping (the gathering ends 100ms after the last reply).
// Target: < 200 ms.
func BenchmarkStatus20Apps10Hosts(b *testing.B) {
	dir := benchProject(b, 20)
	srv := latticetest.StartNATS(b, latticetest.ServerOptions{})
	w := latticetest.NewWadm(b, srv.URL(), latticetest.WadmOptions{})
	addHosts(w, "default", 10)
	ctx := context.Background()
	conn := LatticeConn{Options: lattice.Options{URL: srv.URL()}}
	if res, err := Deploy(ctx, DeployOptions{Root: dir, Lattice: conn, PollInterval: 10 * time.Millisecond}); err != nil || res.Failed() > 0 {
		b.Fatalf("%v %+v", err, res)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Status(ctx, StatusOptions{Root: dir, Lattice: conn})
		if err != nil || len(res.Apps) != 20 || len(res.Hosts) != 10 || res.Apps[7].Status != lattice.StatusDeployed {
			b.Fatalf("%v %+v", err, res)
		}
	}
}

// BenchmarkDeployPastPlacement measures how long deploy takes past the moment the
// applications are placed (the double places each one PlaceAfter after its deploy
// request): "poll500ms" is how deploy waited before (asking wadm for the status every
// 500 ms; a double that publishes no status), "stream" takes the status wadm
// publishes on wadm.status.<lattice>.<name>. The ms-past-placement metric runs from
// the moment the last application was placed (its deploy request + PlaceAfter) to
// the end of Deploy. Target for "stream": < 100 ms.
func BenchmarkDeployPastPlacement(b *testing.B) {
	const placeAfter = 200 * time.Millisecond
	for _, n := range []int{2, 20} {
		dir := benchProject(b, n)
		for _, mode := range []string{"poll500ms", "stream"} {
			b.Run(fmt.Sprintf("%d/%s", n, mode), func(b *testing.B) {
				srv := latticetest.StartNATS(b, latticetest.ServerOptions{})
				var mu sync.Mutex
				var lastDeploy time.Time
				w := latticetest.NewWadm(b, srv.URL(), latticetest.WadmOptions{PlaceAfter: placeAfter, NoStatusStream: mode == "poll500ms",
					BeforeReply: func(op, _ string) {
						if op == "model.deploy" {
							mu.Lock()
							lastDeploy = time.Now()
							mu.Unlock()
						}
					}})
				opts := DeployOptions{Root: dir}
				if mode == "poll500ms" {
					opts.PollInterval = 500 * time.Millisecond
				}
				var past time.Duration
				for i := 0; i < b.N; i++ {
					lat := fmt.Sprintf("bench%d", i)
					addHosts(w, lat, 2)
					opts.Lattice = LatticeConn{Options: lattice.Options{URL: srv.URL(), Lattice: lat}}
					res, err := Deploy(context.Background(), opts)
					end := time.Now()
					if err != nil || res.Failed() > 0 || res.Components[n-1].Status != lattice.StatusDeployed {
						b.Fatalf("%v %+v", err, res)
					}
					mu.Lock()
					past += end.Sub(lastDeploy.Add(placeAfter))
					mu.Unlock()
				}
				b.ReportMetric(float64(past.Milliseconds())/float64(b.N), "ms-past-placement")
			})
		}
	}
}
