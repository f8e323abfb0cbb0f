package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/config"

	"github.com/nats-io/nats.go"

	"github.com/pelato-dev/pelato/internal/devrun"

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
	// The errors, then one line that counts them and says what to do (no count before it).
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if code != 1 || !strings.Contains(errOut, "PL206") || lines[len(lines)-1] != "pelato: the project has 1 error; fix it first (pelato check lists every problem)" ||
		strings.Contains(errOut, "\n1 error\n") {
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

// TestInvokeEscapesControlCharacters: what a task prints and returns reaches the
// terminal with its control characters escaped (as in pelato dev); --format json keeps
// the exact bytes.
func TestInvokeEscapesControlCharacters(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "the go command is not on PATH; invoke needs the Go toolchain")
	}
	cache := t.TempDir()
	dir := copyDir(t, "../../examples/temperature")
	os.WriteFile(filepath.Join(dir, "tasks", "filter.go"), []byte("package main\n\nimport (\"fmt\"\n\t\"os\"\n)\n\nfunc exec_task(arg string) string {\n\tfmt.Println(\"\\x1b[2Jcleared\\rover\")\n\tfmt.Fprint(os.Stderr, \"\\x1b]0;title\\x07no newline\")\n\treturn \"\\x1b[31mred\\u202e\\nline2\"\n}\n"), 0o644)
	code, out, errOut := pelato(t, "invoke", "--cache-dir", cache, dir, "temp_filter", "x")
	if code != 0 {
		t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
	}
	if strings.ContainsAny(out+errOut, "\x1b\r\x07\u202e") {
		t.Errorf("control characters reached the terminal: out %q, err %q", out, errOut)
	}
	for _, want := range []string{`\x1b[2Jcleared\rover`, `\x1b]0;title\x07no newline`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("task output lacks %q: %q", want, errOut)
		}
	}
	if out != `\x1b[31mred\u202e`+"\nline2\n" {
		t.Errorf("result: %q", out)
	}
	_, out, _ = pelato(t, "invoke", "--cache-dir", cache, dir, "temp_filter", "x", "--format", "json")
	var res struct {
		Output string `json:"output"`
	}
	if json.Unmarshal([]byte(out), &res) != nil || res.Output != "\x1b[31mred\u202e\nline2" {
		t.Errorf("json result: %q", out)
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

func TestInvokeLimits(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "the go command is not on PATH; invoke needs the Go toolchain")
	}
	cache := t.TempDir()
	dir := copyDir(t, "../../examples/temperature")
	task := `package main

import "strconv"

var keep [][]byte

func exec_task(arg string) string {
	switch arg {
	case "loop":
		for n := 0; ; n++ {
			if n < 0 {
				return "never"
			}
		}
	case "grow":
		for {
			keep = append(keep, make([]byte, 1<<20))
		}
	case "recurse":
		return strconv.Itoa(deeper(1))
	}
	return arg
}

func deeper(n int) int { return deeper(n+1) + 1 }
`
	if err := os.WriteFile(filepath.Join(dir, "tasks", "filter.go"), []byte(task), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"loop", "--timeout", "500ms"}, "time limit of 500ms (an endless loop?); raise it with --timeout"},
		{[]string{"grow", "--memory", "32MiB"}, "memory limit of 32 MiB; raise it with --memory"},
		{[]string{"recurse", "--stack", "1MiB"}, "stack grew past the limit of 1 MiB"},
	}
	for _, c := range cases {
		start := time.Now()
		code, _, errOut := pelato(t, append([]string{"invoke", "--cache-dir", cache, dir, "temp_filter"}, c.args...)...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", c.args, code, errOut, c.want)
		}
		t.Logf("%v stopped after %v", c.args, time.Since(start))
	}
	for _, bad := range [][]string{{"--timeout", "-1s"}, {"--memory", "lots"}, {"--memory", "8GiB"}, {"--stack", "1KiB"}} {
		if code, _, errOut := pelato(t, append([]string{"invoke", "--cache-dir", cache, dir, "temp_filter", "x"}, bad...)...); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", bad, code, errOut)
		}
	}
}

// devProject copies examples/temperature with its HTTP producer on a free port.
func devProject(t *testing.T) string {
	t.Helper()
	dir := copyDir(t, "../../examples/temperature")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	wf := filepath.Join(dir, "workflow.yaml")
	b, err := os.ReadFile(wf)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), "    component_name: celsius_to_kelvin_conversion\n", fmt.Sprintf("    component_name: celsius_to_kelvin_conversion\n    http_port: %d\n", port), 1))
	if err := os.WriteFile(wf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestDevSend(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "the go command is not on PATH; dev needs the Go toolchain")
	}
	cache, dir := t.TempDir(), devProject(t)
	base := []string{"dev", dir, "--port", "-1", "--cache-dir", cache, "--store-dir", t.TempDir()}
	code, out, errOut := pelato(t, append(base, "--send", "living_room_celsius_data=21.5")...)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"living_room_celsius_data → celsius_to_kelvin_conversion → living_room_kelvin_data",
		"294.65\n",
		"living_room_kelvin_data → temp_filter → filtered_kelvin_data",
		`{"kelvin":294.65,"valid":true}` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`ready: 2 tasks running; NATS at nats://[0-9a-f]{32}@127\.0\.0\.1:`).MatchString(errOut) || !regexp.MustCompile(`settled after \S+ \(no message in flight\): 2 messages handled, none failed`).MatchString(errOut) {
		t.Errorf("stderr:\n%s", errOut)
	}

	// JSON lines, one per event.
	code, out, _ = pelato(t, append(base, "--format", "json", "--send", "living_room_celsius_data=0")...)
	messages := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct {
			Kind, Task, From, To, Result string
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if e.Kind == "message" {
			messages++
		}
	}
	if code != 0 || messages != 2 {
		t.Errorf("json: exit %d, %d message events:\n%s", code, messages, out)
	}

	// A failing task makes the run fail.
	if err := os.WriteFile(filepath.Join(dir, "tasks", "filter.go"), []byte("package main\n\nfunc exec_task(arg string) string {\n\tpanic(\"no filter today\")\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = pelato(t, append(base, "--send", "living_room_celsius_data=1")...)
	if code != 1 || !strings.Contains(out, "exec_task panicked: no filter today at tasks/filter.go:4") || !strings.Contains(errOut, "1 of 2 messages failed") {
		t.Errorf("failing task: exit %d\n%s%s", code, out, errOut)
	}
	// Bad arguments.
	if code, _, _ := pelato(t, append(base, "--send", "no-equals-sign")...); code != 2 {
		t.Errorf("--send without =: exit %d, want 2", code)
	}
}

// TestDevBusyHTTPPort: a busy http_port is an error naming the task, the port and
// --http-port (an "error" event with --format json); --http-port TASK=PORT serves the
// producer elsewhere for dev.
func TestDevBusyHTTPPort(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "the go command is not on PATH; dev needs the Go toolchain")
	}
	dir := copyDir(t, "../../examples/temperature")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	wf := filepath.Join(dir, "workflow.yaml")
	b, _ := os.ReadFile(wf)
	os.WriteFile(wf, []byte(strings.Replace(string(b), "    component_name: celsius_to_kelvin_conversion\n", fmt.Sprintf("    component_name: celsius_to_kelvin_conversion\n    http_port: %d\n", port), 1)), 0o644)
	cache := t.TempDir()
	base := []string{"dev", dir, "--port", "-1", "--cache-dir", cache, "--store-dir", t.TempDir(), "--send", "living_room_celsius_data=1"}

	code, _, errOut := pelato(t, base...)
	if code == 0 || strings.Count(errOut, "is already in use") != 1 || !strings.Contains(errOut, fmt.Sprintf("http_port %d", port)) || !strings.Contains(errOut, "--http-port celsius_to_kelvin_conversion=PORT") {
		t.Errorf("busy port: exit %d\n%s", code, errOut)
	}
	code, out, _ := pelato(t, append(base, "--format", "json")...)
	var ev struct {
		Kind, Task, Text string
		Port             int
	}
	last := strings.TrimSpace(out)
	last = last[strings.LastIndex(last, "\n")+1:]
	if code == 0 || json.Unmarshal([]byte(last), &ev) != nil || ev.Kind != "error" || ev.Task != "celsius_to_kelvin_conversion" || ev.Port != port {
		t.Errorf("json: exit %d, last line %q", code, last)
	}

	free, _ := net.Listen("tcp", "127.0.0.1:0")
	other := free.Addr().(*net.TCPAddr).Port
	free.Close()
	code, _, errOut = pelato(t, append(base, "--http-port", fmt.Sprintf("celsius_to_kelvin_conversion=%d", other))...)
	if code != 0 || !strings.Contains(errOut, fmt.Sprintf("http://127.0.0.1:%d", other)) {
		t.Errorf("--http-port: exit %d\n%s", code, errOut)
	}
	if code, _, errOut = pelato(t, append(base, "--http-port", "nosuch=9000")...); code == 0 || !strings.Contains(errOut, "--http-port nosuch: no HTTP producer") {
		t.Errorf("--http-port for no task: exit %d\n%s", code, errOut)
	}
	if code, _, _ = pelato(t, append(base, "--http-port", "x=70000")...); code != 2 {
		t.Errorf("--http-port x=70000: exit %d, want 2", code)
	}
}

func TestPublishCommand(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "the go command is not on PATH; dev needs the Go toolchain")
	}
	r, err := devrun.Start(context.Background(), devrun.Options{Root: devProject(t), Port: -1, StoreDir: t.TempDir(), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	nc, err := nats.Connect(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("filtered_kelvin_data")
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	code, _, errOut := pelato(t, "publish", "--nats", r.URL(), "living_room_celsius_data", "25")
	// The token is not echoed.
	if code != 0 || !strings.Contains(errOut, "published 2 bytes to living_room_celsius_data on "+config.RedactURL(r.URL())) || strings.Contains(errOut, r.URL()) {
		t.Fatalf("publish: exit %d, %s", code, errOut)
	}
	m, err := sub.NextMsg(10 * time.Second)
	if err != nil || string(m.Data) != `{"kelvin":298.15,"valid":true}` {
		t.Errorf("chain output %v, %v", m, err)
	}
	if code, _, errOut := pelato(t, "publish", "--nats", "nats://127.0.0.1:1", "x", "y"); code != 1 || !strings.Contains(errOut, "is pelato dev running?") {
		t.Errorf("publish to nothing: exit %d, %s", code, errOut)
	}
}
