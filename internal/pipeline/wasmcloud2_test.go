package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pelato-dev/pelato/internal/workflow"
	"github.com/pelato-dev/pelato/internal/workload"
)

// TestGenWasmCloud2Golden generates examples/temperature-wasmcloud2 and compares
// every file gen writes with testdata/generated/temperature-wasmcloud2 (go test
// ./internal/pipeline -run TestGenWasmCloud2Golden -update rewrites them).
func TestGenWasmCloud2Golden(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature-wasmcloud2")
	res, err := Gen(context.Background(), GenOptions{Root: dir, Registry: "registry.example:5000/team"})
	if err != nil || res.Failed() != 0 {
		t.Fatalf("gen: %v %+v", err, res)
	}
	got := snapshot(t, filepath.Join(dir, GenDir))
	delete(got, LockFile) // the lock's content is the running process's
	golden := filepath.Join("testdata", "generated", "temperature-wasmcloud2")
	if *update {
		if err := os.RemoveAll(golden); err != nil {
			t.Fatal(err)
		}
		for name, content := range got {
			p := filepath.Join(golden, name+".golden")
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]string{}
	for name, content := range snapshot(t, golden) {
		want[strings.TrimSuffix(name, ".golden")] = content
	}
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if w, ok := want[n]; !ok {
			t.Errorf("gen wrote %s, which has no golden file (-update)", n)
		} else if w != got[n] {
			t.Errorf("%s differs from its golden file (-update):\n%s", n, got[n])
		}
		delete(want, n)
	}
	for n := range want {
		t.Errorf("gen did not write %s", n)
	}
	for _, c := range []string{"celsius-to-kelvin", "temp-filter"} {
		if _, ok := got[filepath.Join(c, "wadm.yaml")]; ok {
			t.Errorf("%s: wadm.yaml written on wasmcloud2", c)
		}
		wds, err := workload.ReadFile(filepath.Join(dir, GenDir, c, workload.FileName))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(wds[0].Spec.Template.Spec.Components[0].Image, "registry.example:5000/team/"+c+":") {
			t.Errorf("%s: image %q does not use the registry", c, wds[0].Spec.Template.Spec.Components[0].Image)
		}
		rec, err := ReadRecord(dir, c)
		if err != nil || rec.GenPlatform() != workflow.PlatformWasmCloud2 || rec.Platform != workflow.PlatformWasmCloud2 {
			t.Errorf("%s: record %+v, %v", c, rec, err)
		}
		if err := CheckPlatform(dir, c, workflow.PlatformWasmCloud2); err != nil {
			t.Errorf("CheckPlatform(wasmcloud2): %v", err)
		}
		var pm *PlatformMismatchError
		err = CheckPlatform(dir, c, workflow.PlatformWasmCloud1)
		if !errors.As(err, &pm) || err.Error() != "gen/"+c+" was generated for wasmcloud2; run pelato gen --platform wasmcloud1" {
			t.Errorf("CheckPlatform(wasmcloud1) = %v", err)
		}
	}
	if wds, _ := workload.ReadFile(filepath.Join(dir, GenDir, "temp-filter", workload.FileName)); len(wds) != 2 || wds[1].Metadata.Name != "temp-filter-edge" || wds[1].Spec.Replicas != 2 {
		t.Errorf("temp-filter: %+v", wds)
	}
}

// TestGenPlatformFlag shows --platform overrides the project's key both ways, that
// switching regenerates, and that an unknown value is refused before anything is
// written.
func TestGenPlatformFlag(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature-wasmcloud2")
	ctx := context.Background()
	if _, err := Gen(ctx, GenOptions{Root: dir, Platform: "wasmcloud3"}); err == nil || !strings.Contains(err.Error(), `unknown platform "wasmcloud3"`) {
		t.Fatalf("unknown platform: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, GenDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("gen/ written for an unknown platform: %v", err)
	}
	res, err := Gen(ctx, GenOptions{Root: dir, Platform: workflow.PlatformWasmCloud1})
	if err != nil || res.Failed() != 0 {
		t.Fatalf("gen --platform wasmcloud1: %v %+v", err, res)
	}
	c := filepath.Join(dir, GenDir, "temp-filter")
	if _, err := os.Stat(filepath.Join(c, "wadm.yaml")); err != nil {
		t.Errorf("wasmcloud1: %v", err)
	}
	if err := CheckPlatform(dir, "temp-filter", workflow.PlatformWasmCloud2); err == nil {
		t.Error("CheckPlatform: no mismatch after gen --platform wasmcloud1")
	}
	res, err = Gen(ctx, GenOptions{Root: dir})
	if err != nil || res.Failed() != 0 || !res.Components[1].Changed {
		t.Fatalf("gen (project's wasmcloud2): %v %+v", err, res)
	}
	if _, err := os.Stat(filepath.Join(c, "wadm.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("wadm.yaml left behind after switching to wasmcloud2: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c, workload.FileName)); err != nil {
		t.Error(err)
	}
}

func TestReadRecordWithoutPlatformIsWasmCloud1(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, GenDir, "old")
	if err := os.MkdirAll(c, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c, RecordFile), []byte(`{"generator":"pelato","template":"processor_nats"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckPlatform(dir, "old", workflow.PlatformWasmCloud1); err != nil {
		t.Errorf("a record without platform is wasmcloud1: %v", err)
	}
	if err := CheckPlatform(dir, "missing", workflow.PlatformWasmCloud1); err == nil || !strings.Contains(err.Error(), "run pelato gen") {
		t.Errorf("missing record: %v", err)
	}
}

// TestDeployRefusesOtherPlatform: a gen/ folder generated for the other platform (gen
// --platform wasmcloud1 in a wasmcloud2 project) is refused by deploy with what to run,
// before the cluster is asked anything.
func TestDeployRefusesOtherPlatform(t *testing.T) {
	dir := copyProject(t, "../../examples/temperature-wasmcloud2")
	ctx := context.Background()
	if res, err := Gen(ctx, GenOptions{Root: dir, Platform: workflow.PlatformWasmCloud1}); err != nil || res.Failed() != 0 {
		t.Fatalf("gen --platform wasmcloud1: %v %+v", err, res)
	}
	kubeconfig := filepath.Join(t.TempDir(), "config")
	// A cluster nobody listens on: the refusal must come before any request.
	cfg := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\nusers:\n- name: u\n  user: {token: t}\n"
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)
	res, err := Deploy(ctx, DeployOptions{Root: dir})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if res.Failed() != len(res.Components) || len(res.Components) == 0 {
		t.Fatalf("deploy of wasmcloud1 folders on wasmcloud2: %+v", res)
	}
	for _, c := range res.Components {
		if !strings.Contains(c.Err, "was generated for wasmcloud1; run pelato gen --platform wasmcloud2") {
			t.Errorf("%s: %q", c.ComponentName, c.Err)
		}
	}
}
