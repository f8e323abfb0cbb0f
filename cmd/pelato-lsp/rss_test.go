package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/hostile"
)

// TestMain lets a benchmark run this test binary as the language server process
// (PELATO_LSP_CHILD=1), so the operating system can measure its resident memory.
func TestMain(m *testing.M) {
	if os.Getenv("PELATO_LSP_CHILD") == "1" {
		os.Exit(run(context.Background(), nil, os.Stdin, os.Stdout, io.Discard))
	}
	os.Exit(m.Run())
}

// BenchmarkServerRSS starts the language server as a process on a project and
// reports the time from initialize to the first diagnostics of workflow.yaml and the
// process's peak resident memory (VmHWM): the bounds of docs/PERFORMANCE.md
// (10 000 tasks: RSS < 300 MB; a hostile file: a diagnostic within 1 s, < 100 MB
// above the baseline).
func BenchmarkServerRSS(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc to read a process's memory")
	}
	for _, c := range []struct {
		name  string
		build func(dir string) error
	}{
		{"baseline", func(dir string) error { return copyExample(dir) }},
		{"ring10000", func(dir string) error { _, err := hostile.Project(dir, hostile.Ring, 10000); return err }},
		{"wildcard10000", func(dir string) error { _, err := hostile.Project(dir, hostile.Wildcard, 10000); return err }},
		{"missing10000", func(dir string) error { _, err := hostile.Project(dir, hostile.MissingCode, 10000); return err }},
		{"workflow-fifo", hostileWorkflow(hostile.FIFO)},
		{"workflow-dev-zero", hostileWorkflow(hostile.DevZero)},
		{"workflow-8GiB", hostileWorkflow(hostile.HugeSparse)},
		{"task-fifo", hostileTask(hostile.FIFO)},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				dir := b.TempDir()
				if err := c.build(dir); err != nil {
					b.Fatal(err)
				}
				took, rss, err := serveOnce(dir)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(took.Milliseconds()), "ms-to-diagnostics")
				b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
			}
		})
	}
}

func copyExample(dir string) error {
	src := filepath.Join("..", "..", "examples", "temperature")
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
}

func hostileWorkflow(kind string) func(string) error {
	return func(dir string) error {
		if err := copyExample(dir); err != nil {
			return err
		}
		return hostile.MakeFile(filepath.Join(dir, "workflow.yaml"), kind)
	}
}

func hostileTask(kind string) func(string) error {
	return func(dir string) error {
		if err := copyExample(dir); err != nil {
			return err
		}
		return hostile.MakeFile(filepath.Join(dir, "tasks", "filter.go"), kind)
	}
}

// serveOnce runs a server process on dir until it publishes diagnostics of
// workflow.yaml (or, when it has none, of any file), and returns how long that took
// and the process's peak resident memory.
func serveOnce(dir string) (time.Duration, int64, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PELATO_LSP_CHILD=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		return 0, 0, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	out := bufio.NewReader(outPipe)
	uri := "file://" + dir
	send := func(body string) error {
		_, err := fmt.Fprintf(in, "Content-Length: %d\r\n\r\n%s", len(body), body)
		return err
	}
	start := time.Now()
	if err := send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{},"workspaceFolders":[{"uri":"` + uri + `","name":"p"}]}}`); err != nil {
		return 0, 0, err
	}
	if err := send(`{"jsonrpc":"2.0","method":"initialized","params":{}}`); err != nil {
		return 0, 0, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		body, err := readFrame(out)
		if err != nil {
			return 0, 0, err
		}
		var m struct {
			Method string `json:"method"`
			Params struct {
				URI         string            `json:"uri"`
				Diagnostics []json.RawMessage `json:"diagnostics"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &m) != nil || m.Method != "textDocument/publishDiagnostics" || len(m.Params.Diagnostics) == 0 {
			continue
		}
		took := time.Since(start)
		rss, err := peakRSS(cmd.Process.Pid)
		_ = send(`{"jsonrpc":"2.0","id":2,"method":"shutdown"}`)
		_ = send(`{"jsonrpc":"2.0","method":"exit"}`)
		return took, rss, err
	}
	return 0, 0, fmt.Errorf("no diagnostics within 60 s")
}

func readFrame(r *bufio.Reader) ([]byte, error) {
	n := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			n, _ = strconv.Atoi(v)
		}
	}
	if n < 0 {
		return nil, fmt.Errorf("a frame without Content-Length")
	}
	body := make([]byte, n)
	_, err := io.ReadFull(r, body)
	return body, err
}

// peakRSS reads a process's peak resident set size (VmHWM) from /proc.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
