package check

import (
	"context"
	"testing"

	"github.com/pelato-dev/pelato/internal/hostile"
)

// benchHostile checks a generated project of n tasks of a shape: the bounds of
// docs/PERFORMANCE.md (10 000 tasks: under 2 s).
func benchHostile(b *testing.B, shape hostile.Shape, n int) {
	dir, err := hostile.Project(b.TempDir(), shape, n)
	if err != nil {
		b.Fatal(err)
	}
	tc := NewTaskChecker(TaskCheckerOptions{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res, err := Project(context.Background(), Options{Root: dir, Tasks: tc})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(res.Diagnostics)), "diagnostics")
	}
}

func BenchmarkCheckRing10000(b *testing.B)        { benchHostile(b, hostile.Ring, 10000) }
func BenchmarkCheckWildcard10000(b *testing.B)    { benchHostile(b, hostile.Wildcard, 10000) }
func BenchmarkCheckMissingCode10000(b *testing.B) { benchHostile(b, hostile.MissingCode, 10000) }
