package lsp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/hostile"
)

// TestNATSPasswordNeverSent: with a natsUrl setting carrying a password (one the URL
// parser refuses, one of a server that is not there), the lattice commands and the
// lattice checks fail, and no message, log line, progress report or error the server
// sends holds any part of the password (issue 18.3).
func TestNATSPasswordNeverSent(t *testing.T) {
	for _, u := range []string{
		"nats://deployer:s3cr%zzet@127.0.0.1:1",
		"nats://deployer:s3cret@127.0.0.1:1",
	} {
		c, root, _ := openProject(t, fullCaps(), fmt.Sprintf(`{"natsUrl": %q, "latticeChecks": true}`, u), "")
		wf := string(fileURI(workflowPath(root)))
		if _, err := c.command(CmdGen, CommandArgs{URI: wf}); err != nil && !strings.Contains(err.Error(), "REDACTED") {
			t.Fatal(err)
		}
		for _, cmd := range []string{CmdStatus, CmdDeploy, CmdRemove} {
			_, err := c.command(cmd, CommandArgs{URI: wf})
			if err == nil {
				t.Fatalf("%s with natsUrl %q succeeded", cmd, u)
			}
			if msg := err.Error(); strings.Contains(msg, "s3cr") || !strings.Contains(msg, "REDACTED@127.0.0.1") {
				t.Errorf("%s with natsUrl %q: %s", cmd, u, msg)
			}
		}
		time.Sleep(200 * time.Millisecond) // the lattice checks' ping runs in the background
		for _, m := range c.messages() {
			if strings.Contains(string(m.params), "s3cr") || strings.Contains(string(m.params), "et@") {
				t.Errorf("natsUrl %q: %s sent the password: %s", u, m.method, m.params)
			}
		}
	}
}

// TestLatticeChecksHostileSecretFile: with latticeChecks on and the project's .env
// naming /dev/zero as NATS_TLS_CA (or a FIFO as NATS_CREDS), opening the project
// logs why the hosts cannot be listed, at once, and the server's heap hardly grows
// (issue 18.2: it used 2.1 GB).
func TestLatticeChecksHostileSecretFile(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "creds")
	if err := hostile.MakeFile(fifo, hostile.FIFO); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ setting, path string }{{"NATS_TLS_CA", "/dev/zero"}, {"NATS_CREDS", fifo}} {
		root := copyProject(t, "temperature")
		if err := os.WriteFile(filepath.Join(root, ".env"), []byte(c.setting+"="+c.path+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cl := newClient(t, clientOptions{})
		use := hostile.Measure(func() {
			cl.initialize(fullCaps(), `{"latticeChecks": true, "natsUrl": "nats://127.0.0.1:1"}`, root)
			cl.open(workflowPath(root), read(t, workflowPath(root)), 1)
			cl.waitFor("the lattice checks' warning", func(m message) bool {
				return m.method == protocol.MethodWindowLogMessage && contains(m.params, "cannot list the lattice's hosts") &&
					contains(m.params, c.setting+": "+c.path) && contains(m.params, "not a regular file")
			})
		})
		if use.Took > 5*time.Second || use.PeakHeap > 64<<20 {
			t.Errorf("%s=%s: %s", c.setting, c.path, use)
		}
	}
}
