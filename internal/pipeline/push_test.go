package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPushToAnotherRegistryExplainsTheCause: a component generated and built for one
// registry, pushed with --registry naming another, is refused with the real cause
// (gen/ was made for the first) and the commands that fix it, not "the task changed".
// The build record is written as pelato build writes it; no Docker or registry is
// needed, as the refusal comes first.
func TestPushToAnotherRegistryExplainsTheCause(t *testing.T) {
	root := copyProject(t, "../../examples/temperature")
	gen, err := Gen(context.Background(), GenOptions{Root: root, Registry: "registry.one:5000"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(buildRecordPath(root, "x")), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range gen.Components {
		rec, err := readGenRecord(c.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeJSON(buildRecordPath(root, c.ComponentName), buildRecord{GenInputHash: rec.InputHash}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Push(context.Background(), PushOptions{Root: root, Tasks: []string{"temp_filter"}, Registry: "registry.two:5000"})
	if err != nil || res.Failed() != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	got := res.Components[0].Err
	for _, want := range []string{"gen/temp_filter and its build were made for registry registry.one:5000", "not registry.two:5000",
		"pelato build --registry registry.two:5000 --push", "--registry registry.one:5000"} {
		if !strings.Contains(got, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, got)
		}
	}
	// For the registry it was built for, the record matches: push goes on to the
	// artifact (which this test did not build).
	res, _ = Push(context.Background(), PushOptions{Root: root, Tasks: []string{"temp_filter"}, Registry: "registry.one:5000"})
	if got := res.Components[0].Err; !strings.Contains(got, "read the artifact") {
		t.Errorf("same registry: %s", got)
	}
	// A task changed since its build is told so, whatever the registry.
	task := filepath.Join(root, "tasks", "filter.go")
	b, err := os.ReadFile(task)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(task, append(b, "\n// changed\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, reg := range []string{"registry.one:5000", "registry.two:5000"} {
		res, _ = Push(context.Background(), PushOptions{Root: root, Tasks: []string{"temp_filter"}, Registry: reg})
		if got := res.Components[0].Err; !strings.Contains(got, "the task changed since it was built") {
			t.Errorf("changed task, %s: %s", reg, got)
		}
	}
}

// TestPushRendersForTheRecordedPlatform: a component generated (and built) for
// wasmcloud1 with --platform, in a project whose key says wasmcloud2, is compared
// with its build as rendered for wasmcloud1: push goes on to the artifact instead of
// calling the task changed.
func TestPushRendersForTheRecordedPlatform(t *testing.T) {
	root := copyProject(t, "../../examples/temperature-wasmcloud2")
	gen, err := Gen(context.Background(), GenOptions{Root: root, Platform: "wasmcloud1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(buildRecordPath(root, "x")), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range gen.Components {
		rec, err := readGenRecord(c.Dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := writeJSON(buildRecordPath(root, c.ComponentName), buildRecord{GenInputHash: rec.InputHash}); err != nil {
			t.Fatal(err)
		}
	}
	res, _ := Push(context.Background(), PushOptions{Root: root, Tasks: []string{"temp-filter"}, Registry: DefaultRegistry})
	if got := res.Components[0].Err; !strings.Contains(got, "read the artifact") {
		t.Errorf("push of a wasmcloud1 build in a wasmcloud2 project: %s", got)
	}
}
