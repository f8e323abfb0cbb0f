package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/pipeline"
)

// frame wraps a body in LSP header framing.
func frame(body string) []byte {
	return []byte(fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
}

// FuzzServerMessages feeds random and truncated bytes to the server's stream, raw and
// framed after a valid initialize: the server must neither crash nor hang.
func FuzzServerMessages(f *testing.F) {
	initialize := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{"general":{"positionEncodings":["utf-8"]}}}}`
	open := `{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///nowhere/workflow.yaml","languageId":"yaml","version":1,"text":"tasks:\n  - name: 🌡️\n    type: \n"}}}`
	for _, seed := range []string{
		initialize,
		open,
		`{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///nowhere/workflow.yaml","version":2},"contentChanges":[{"range":{"start":{"line":9,"character":99},"end":{"line":0,"character":0}},"text":"x"}]}}`,
		`{"jsonrpc":"2.0","id":2,"method":"textDocument/completion","params":{"textDocument":{"uri":"file:///nowhere/workflow.yaml"},"position":{"line":2,"character":10}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///nowhere/workflow.yaml"},"position":{"line":4294967295,"character":4294967295}}}`,
		`{"jsonrpc":"2.0","id":4,"method":"workspace/executeCommand","params":{"command":"pelato.check","arguments":[{"uri":"file:///nowhere/workflow.yaml"}]}}`,
		`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":4}}`,
		`[{"jsonrpc":"2.0","id":5,"method":"shutdown"},{"jsonrpc":"2.0","method":"exit"}]`,
		`{"jsonrpc":"2.0","id":6,"method":"textDocument/codeAction","params":null}`,
		`{"jsonrpc":"2.0","id":7,"method"`,
		"Content-Length: 12\r\n\r\n{\"jsonrpc\"",
		"\x00\xff garbage",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pa, pb := net.Pipe()
		srv := New(Options{Config: &Config{CheckTasksOn: "change"}, Getenv: func(string) (string, bool) { return "", false }})
		srv.discoverLimit = 1000
		for _, name := range []string{CmdGen, CmdInvoke, CmdCreateFile} { // they write files
			srv.RegisterCommand(name, Command{Silent: true, Run: func(context.Context, json.RawMessage, pipeline.Reporter) (any, error) { return nil, nil }})
		}
		done := make(chan int, 1)
		go func() { done <- srv.Run(context.Background(), NewTransport(pa, TransportOptions{})) }()
		go func() { _, _ = io.Copy(io.Discard, pb) }()
		go func() {
			for _, b := range [][]byte{frame(initialize), frame(open), frame(string(data)), data} {
				if _, err := pb.Write(b); err != nil {
					break
				}
			}
			_ = pb.Close()
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("server hung on input %q", data)
		}
	})
}
