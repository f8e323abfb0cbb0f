package ociregistry_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/pelato-dev/pelato/internal/ociregistry"
)

// BenchmarkPush2MB pushes a new 2 MB component (a new digest each time) to the
// in-process registry. Target: under 100 ms.
func BenchmarkPush2MB(b *testing.B) {
	b.Setenv("DOCKER_CONFIG", b.TempDir())
	reg := newRegistry(b, "")
	p := ociregistry.NewPusher(ociregistry.Options{})
	art := artifact(2 << 20)
	b.SetBytes(int64(len(art.Wasm)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		art.Wasm[len(art.Wasm)-1], art.Wasm[len(art.Wasm)-2] = byte(i), byte(i>>8)
		res, err := p.Push(context.Background(), ociregistry.Reference{Registry: reg.URL, Repository: "bench", Tag: fmt.Sprintf("1.0.%d", i)}, art)
		if err != nil || res.BlobsUploaded != 2 {
			b.Fatalf("%+v %v", res, err)
		}
	}
}

// BenchmarkPushUnchanged pushes a 2 MB component whose tag already names it: no blob
// is uploaded.
func BenchmarkPushUnchanged(b *testing.B) {
	b.Setenv("DOCKER_CONFIG", b.TempDir())
	reg := newRegistry(b, "")
	p := ociregistry.NewPusher(ociregistry.Options{})
	art := artifact(2 << 20)
	ref := ociregistry.Reference{Registry: reg.URL, Repository: "bench", Tag: "1.0.0"}
	if _, err := p.Push(context.Background(), ref, art); err != nil {
		b.Fatal(err)
	}
	uploads := reg.uploads.Load()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := p.Push(context.Background(), ref, art)
		if err != nil || !res.Unchanged {
			b.Fatalf("%+v %v", res, err)
		}
	}
	if reg.uploads.Load() != uploads {
		b.Fatalf("blobs uploaded again")
	}
}
