package pipeline

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/buildertest"
)

// benchBuild runs Build and fails the benchmark on any error or failed component.
func benchBuild(b *testing.B, opts BuildOptions) *BuildResult {
	b.Helper()
	res, err := Build(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	if res.Failed() > 0 {
		b.Fatalf("%s: %+v", res.Summary(), res.Components)
	}
	noteImage(res.Image.Ref)
	return res
}

func medianMS(ds []time.Duration) float64 {
	slices.Sort(ds)
	return float64(ds[len(ds)/2]) / float64(time.Millisecond)
}

// BenchmarkBuildOverhead builds one component whose toolchain does nothing, forced
// each time. It reports pelato's overhead around the container (create, attach,
// start, remove, artifact check and record: BuiltComponent.Overhead) and the whole
// time per component. Target: median overhead < 150 ms.
func BenchmarkBuildOverhead(b *testing.B) {
	root := buildertest.Project(b, 1, func(int) string { return buildertest.TaskCode() })
	opts, _ := testBuild(b, root)
	benchBuild(b, opts) // image and volumes ready
	opts.Force = true
	var over, whole []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := benchBuild(b, opts).Components[0]
		over = append(over, c.Overhead)
		whole = append(whole, c.Duration)
	}
	b.ReportMetric(medianMS(over), "median-overhead-ms")
	b.ReportMetric(medianMS(whole), "median-component-ms")
}

// BenchmarkBuild20Jobs4 builds 20 components whose toolchain takes 1 s each with
// Jobs 4. It reports the wall time over the ideal (slowest container × 20 / 4).
// Target: ratio < 1.3.
func BenchmarkBuild20Jobs4(b *testing.B) {
	root := buildertest.Project(b, 20, func(int) string { return buildertest.TaskCode("//fakewash:sleep 1s") })
	opts, _ := testBuild(b, root)
	opts.Jobs = 4
	benchBuild(b, opts)
	opts.Force = true
	var ratios []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		res := benchBuild(b, opts)
		wall := time.Since(t0)
		slowest := time.Duration(0)
		for _, c := range res.Components {
			slowest = max(slowest, c.Duration)
		}
		ratios = append(ratios, float64(wall)/float64(slowest*20/4))
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
}

// BenchmarkBuild20Unchanged is a second `pelato build` of 20 unchanged components:
// generation finds nothing to write and no container starts. Target: < 300 ms.
func BenchmarkBuild20Unchanged(b *testing.B) {
	root := buildertest.Project(b, 20, func(int) string { return buildertest.TaskCode() })
	opts, _ := testBuild(b, root)
	benchBuild(b, opts)
	started := 0
	opts.Reporter = ReporterFunc(func(e Event) {
		if e.Kind == Log && e.Message == "starting container" {
			started++
		}
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res := benchBuild(b, opts); res.Count(StatusSkipped) != 20 {
			b.Fatal(res.Summary())
		}
	}
	if started != 0 {
		b.Fatalf("%d containers started", started)
	}
}

// BenchmarkBuildNetwork measures what the default network mode costs per container:
// one component, forced, built alternately with "bridge" (the default) and "host"
// in each iteration, so both see the same machine load. It reports the median
// overhead (BuiltComponent.Overhead) of each and their difference.
func BenchmarkBuildNetwork(b *testing.B) {
	root := buildertest.Project(b, 1, func(int) string { return buildertest.TaskCode() })
	opts, _ := testBuild(b, root)
	benchBuild(b, opts) // image, volumes and module step ready
	opts.Force = true
	over := map[string][]time.Duration{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, n := range []string{"bridge", "host"} {
			if i%2 == 1 { // alternate which goes first
				n = map[string]string{"bridge": "host", "host": "bridge"}[n]
			}
			opts.Network = n
			over[n] = append(over[n], benchBuild(b, opts).Components[0].Overhead)
		}
	}
	br, ho := medianMS(over["bridge"]), medianMS(over["host"])
	b.ReportMetric(br, "bridge-median-overhead-ms")
	b.ReportMetric(ho, "host-median-overhead-ms")
	b.ReportMetric(br-ho, "bridge-extra-ms")
}
