package check

import (
	"strings"
	"testing"

	"github.com/pelato-dev/pelato/internal/workflow"
)

func TestLatticeTargets(t *testing.T) {
	src := "project_name: p\ntasks:\n  - name: a\n    targets: [edge, gpu]\n  - name: b\n    target: cloud\n  - name: c\n    targets:\n      - gpu\n"
	w := workflow.New(workflow.Parse(workflow.FileName, []byte(src)))
	hosts := []Host{{Name: "e1", Labels: map[string]string{"host-type": "edge"}}, {Name: "c1", Labels: map[string]string{"host-type": "cloud", "zone": "a"}}}
	ds := LatticeTargets(w, "default", hosts)
	if len(ds) != 2 {
		t.Fatalf("want 2 hints, got %+v", ds)
	}
	for _, d := range ds {
		if d.Code != CodeNoHostForTarget || d.Severity != Hint || src[d.Range.Start:d.Range.End] != "gpu" {
			t.Errorf("%+v (%q)", d, src[d.Range.Start:d.Range.End])
		}
		if !strings.Contains(d.Message, `no host of lattice "default" has host-type=gpu`) || !strings.Contains(d.Message, "it has 2 hosts, with host-type cloud, edge") {
			t.Errorf("message %q", d.Message)
		}
	}
	if ds := LatticeTargets(w, "lab", nil); len(ds) != 4 || !strings.Contains(ds[0].Message, "the lattice has no hosts") {
		t.Errorf("no hosts: %+v", ds)
	}
}

func TestLatticeTargetsWasmCloud2(t *testing.T) {
	src := "project_name: p\nplatform: wasmcloud2\ntasks:\n  - name: a\n    targets: [edge, gpu]\n"
	w := workflow.New(workflow.Parse(workflow.FileName, []byte(src)))
	// host-type is wasmCloud 1's label: on wasmCloud 2 only hostgroup counts.
	hosts := []Host{{Name: "h1", Labels: map[string]string{"hostgroup": "edge"}}, {Name: "h2", Labels: map[string]string{"host-type": "gpu"}}}
	ds := LatticeTargets(w, "default", hosts)
	if len(ds) != 1 || !strings.Contains(ds[0].Message, "no host of the cluster has hostgroup=gpu") || !strings.Contains(ds[0].Message, "it has 2 hosts, with hostgroup edge") {
		t.Fatalf("%+v", ds)
	}
	if ds := LatticeTargets(w, "default", nil); len(ds) != 2 || !strings.Contains(ds[0].Message, "the cluster has no Host resources") {
		t.Errorf("no hosts: %+v", ds)
	}
}
