package pipeline

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestWireGolden pins the exact requests deploy and remove send to wadm: subjects,
// the Content-Type header and the JSON bodies of put, deploy, undeploy and delete.
func TestWireGolden(t *testing.T) {
	e := newLatticeEnv(t, envOptions{})
	ctx := context.Background()
	if res, err := Deploy(ctx, DeployOptions{Root: e.dir, Tasks: []string{"temp_filter"}, Lattice: e.conn, PollInterval: 10 * time.Millisecond}); err != nil || res.Failed() != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	if res, err := Remove(ctx, RemoveOptions{Root: e.dir, Tasks: []string{"temp_filter"}, Lattice: e.conn, PollInterval: 10 * time.Millisecond}); err != nil || res.Failed() != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	var b bytes.Buffer
	for _, r := range e.wadm.Requests() {
		fmt.Fprintf(&b, "%s", r.Subject)
		if r.ContentType != "" {
			fmt.Fprintf(&b, " [Content-Type: %s]", r.ContentType)
		}
		fmt.Fprintf(&b, "\n%s\n\n", r.Body)
	}
	golden := filepath.Join("testdata", "deploy", "wire.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("requests differ from %s (run with -update if intended):\n%s", golden, b.Bytes())
	}
}
