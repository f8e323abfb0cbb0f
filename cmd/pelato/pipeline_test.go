package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelato-dev/pelato/internal/testenv"
)

func TestGenCommand(t *testing.T) {
	dir := copyDir(t, "../../examples/temperature")
	t.Setenv("ENABLE_METRICS", "True")
	code, out, errOut := pelato(t, "gen", dir, "--registry", "reg.example:5000")
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "[2/2]") || strings.Contains(errOut, "generated 2") {
		t.Errorf("progress belongs on stderr, the result on stdout: %q", errOut)
	}
	if out != "generated 2 components\n" {
		t.Errorf("stdout %q, want the result", out)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "gen", "temp_filter", "wadm.yaml"))
	if err != nil || !strings.Contains(string(manifest), "image: reg.example:5000/temp_filter:1.0.2") {
		t.Errorf("manifest: %v\n%s", err, manifest)
	}
	m, err := os.ReadFile(filepath.Join(dir, "metrics.yaml"))
	if err != nil || !strings.Contains(string(m), "gen_time:") || !strings.Contains(string(m), "n_task: 2") {
		t.Errorf("ENABLE_METRICS did not record the run: %v\n%s", err, m)
	}
	// Nothing changed: the result says so, and nothing claims to have generated.
	code, out, errOut = pelato(t, "gen", dir, "--registry", "reg.example:5000")
	if code != 0 || out != "gen/ is up to date: 2 components unchanged\n" || strings.Contains(errOut, "generated") {
		t.Errorf("unchanged gen: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = pelato(t, "gen", dir, "--registry", "reg.example:5000", "--task", "temp_filter", "--format", "json")
	var res struct {
		Components []struct {
			ComponentName string `json:"component_name"`
			Changed       bool   `json:"changed"`
		} `json:"components"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || len(res.Components) != 1 || res.Components[0].Changed {
		t.Errorf("json gen of one unchanged task: exit %d %s", code, out)
	}
}

func TestGenCommandStopsOnErrors(t *testing.T) {
	dir := copyDir(t, "../../testdata/projects/value_version_latest")
	code, _, errOut := pelato(t, "gen", dir)
	if code != 1 || !strings.Contains(errOut, "PL206") || !strings.Contains(errOut, "fix them first") {
		t.Errorf("exit %d, %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "gen")); err == nil {
		t.Errorf("gen/ written despite errors")
	}
}

func TestInvokeCommand(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "the go command is not on PATH; invoke needs the Go toolchain")
	}
	cache := t.TempDir()
	code, out, errOut := pelato(t, "invoke", "--cache-dir", cache, "../../examples/temperature", "celsius_to_kelvin_conversion", "21.5")
	if code != 0 || out != "294.65\n" {
		t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
	}
	dir := copyDir(t, "../../examples/temperature")
	os.WriteFile(filepath.Join(dir, "tasks", "filter.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc exec_task(arg string) string {\n\tfmt.Println(\"seen:\", arg)\n\tif arg == \"boom\" {\n\t\tpanic(\"sensor on fire\")\n\t}\n\treturn arg\n}\n"), 0o644)
	code, out, errOut = pelato(t, "invoke", "--cache-dir", cache, dir, "temp_filter", "hello", "--format", "json")
	var res struct {
		Output string `json:"output"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Output != "hello" || !strings.Contains(errOut, "seen: hello") {
		t.Errorf("json invoke: exit %d, out %q, err %q", code, out, errOut)
	}
	code, _, errOut = pelato(t, "invoke", "--cache-dir", cache, dir, "temp_filter", "boom")
	if code != 1 || !strings.Contains(errOut, "panic: sensor on fire") || !strings.Contains(errOut, "filter.go:8") {
		t.Errorf("panic: exit %d, %q", code, errOut)
	}
}

// BenchmarkInvokeWarmProcess runs `pelato invoke` as a fresh process when nothing
// changed (compiled module and wazero code cached). Target: under 300 ms.
func BenchmarkInvokeWarmProcess(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "pelato")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	cache := b.TempDir()
	run := func() {
		out, err := exec.Command(bin, "invoke", "--cache-dir", cache, "../../examples/temperature", "celsius_to_kelvin_conversion", "21.5").CombinedOutput()
		if err != nil || string(out) != "294.65\n" {
			b.Fatalf("%v: %s", err, out)
		}
	}
	run() // fill the caches
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
}
