package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/testenv"
)

// bigTask returns 64 MiB, the invoke result of TestMemoryReturned.
const bigTask = `package main

import "strings"

func exec_task(input string) string { return strings.Repeat("x", 64<<20) }
`

// TestMemoryReturned runs the language server as a process and checks that its
// resident memory comes back under twice the baseline after a 60 MB message (a
// document opened and closed) and after a 64 MiB pelato.invoke result (issue 18).
func TestMemoryReturned(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read a process's memory")
	}
	dir := t.TempDir()
	if err := copyExample(dir); err != nil {
		t.Fatal(err)
	}
	wf := filepath.Join(dir, "workflow.yaml")
	b, err := os.ReadFile(wf)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "  - name: Big output\n    type: processor_nats\n    code: big.go\n    targets: [cloud]\n    source_topic: big_in\n    dest_topic: big_out\n    component_name: big_output\n    version: 1.0.0\n"...)
	if err := os.WriteFile(wf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tasks", "big.go"), []byte(bigTask), 0o644); err != nil {
		t.Fatal(err)
	}

	s := startServer(t, dir)
	s.request(1, "initialize", `{"capabilities":{},"workspaceFolders":[{"uri":"file://`+dir+`","name":"p"}]}`)
	s.wait(t, "the initialize answer", func(m frame) bool { return m.ID == 1 })
	s.notify("initialized", `{}`)
	s.wait(t, "the first diagnostics", func(m frame) bool { return m.Method == "textDocument/publishDiagnostics" })
	time.Sleep(2 * time.Second) // the start-up work settles
	base := s.rss(t)
	t.Logf("baseline RSS %.1f MB", float64(base)/(1<<20))

	// A 60 MB message: a document opened, then closed.
	big := filepath.Join(dir, "notes.txt")
	text := strings.Repeat("0123456789abcdef", 60<<20/16)
	s.notify("textDocument/didOpen", `{"textDocument":{"uri":"file://`+big+`","languageId":"plaintext","version":1,"text":"`+text+`"}}`)
	text = ""
	s.notify("textDocument/didClose", `{"textDocument":{"uri":"file://`+big+`"}}`)
	s.request(2, "shutdown-probe", `{}`) // answered (method not found) once both are read
	s.wait(t, "the probe's answer", func(m frame) bool { return m.ID == 2 })
	s.returns(t, "a 60 MB message", base)

	// A 64 MiB result of pelato.invoke.
	if _, err := exec.LookPath("go"); err != nil {
		testenv.Missing(t, "the go command is not on PATH; pelato.invoke needs it")
		return
	}
	s.request(3, "workspace/executeCommand", `{"command":"pelato.invoke","arguments":[{"uri":"file://`+wf+`","task":"big_output","input":"x"}]}`)
	res := s.wait(t, "the invoke result", func(m frame) bool { return m.ID == 3 })
	if res.Error != nil || res.size < 64<<20 {
		t.Fatalf("invoke: error %s, a result of %d bytes", res.Error, res.size)
	}
	s.returns(t, "a 64 MiB invoke result", base)
}

// server is a language server process for TestMemoryReturned.
type server struct {
	cmd    *exec.Cmd
	in     *os.File
	frames chan frame
}

// frame is what the test keeps of a message from the server.
type frame struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Error  json.RawMessage `json:"error"`
	size   int
}

func startServer(t *testing.T, dir string) *server {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// pelato's cache in a fresh folder; Go's build cache stays where it is (warm).
	cmd.Env = append(os.Environ(), "PELATO_LSP_CHILD=1", "XDG_CACHE_HOME="+t.TempDir())
	if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
		cmd.Env = append(cmd.Env, "GOCACHE="+strings.TrimSpace(string(out)))
	}
	cmd.Dir = dir
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = r
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	s := &server{cmd: cmd, in: w, frames: make(chan frame, 1000)}
	t.Cleanup(func() { w.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		defer close(s.frames)
		br := bufio.NewReader(out)
		for {
			body, err := readFrame(br)
			if err != nil {
				return
			}
			var f frame
			if len(body) < 4096 {
				_ = json.Unmarshal(body, &f)
			} else {
				// A large answer: only its head is decoded (id comes first or last).
				f.ID = answerID(body)
			}
			f.size = len(body)
			s.frames <- f
		}
	}()
	return s
}

// answerID finds the "id" of a large answer without decoding its result.
func answerID(body []byte) int {
	for _, part := range []string{string(body[:min(len(body), 256)]), string(body[max(0, len(body)-256):])} {
		if _, rest, ok := strings.Cut(part, `"id":`); ok {
			n, _ := strconv.Atoi(strings.TrimRight(strings.SplitN(rest, ",", 2)[0], "}"))
			return n
		}
	}
	return 0
}

func (s *server) send(body string) {
	_, _ = fmt.Fprintf(s.in, "Content-Length: %d\r\n\r\n%s", len(body), body)
}

func (s *server) request(id int, method, params string) {
	s.send(`{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"` + method + `","params":` + params + `}`)
}

func (s *server) notify(method, params string) {
	s.send(`{"jsonrpc":"2.0","method":"` + method + `","params":` + params + `}`)
}

func (s *server) wait(t *testing.T, what string, ok func(frame) bool) frame {
	t.Helper()
	timeout := time.After(3 * time.Minute)
	for {
		select {
		case f, open := <-s.frames:
			if !open {
				t.Fatalf("the server ended before %s", what)
			}
			if ok(f) {
				return f
			}
		case <-timeout:
			t.Fatalf("no %s within 3 minutes", what)
		}
	}
}

// rss reads the process's resident memory (VmRSS).
func (s *server) rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// returns waits up to 10 s for the resident memory to be under twice base.
func (s *server) returns(t *testing.T, after string, base int64) {
	t.Helper()
	var rss int64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if rss = s.rss(t); rss < 2*base {
			t.Logf("after %s: RSS %.1f MB", after, float64(rss)/(1<<20))
			return
		}
	}
	t.Errorf("after %s: RSS %.1f MB after 10 s, baseline %.1f MB: want < 2× baseline", after, float64(rss)/(1<<20), float64(base)/(1<<20))
}
