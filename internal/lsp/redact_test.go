package lsp

import (
	"fmt"
	"strings"
	"testing"
	"time"
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
