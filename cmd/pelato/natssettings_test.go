package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/hostile"
)

// TestNATSPasswordNeverPrinted: a NATS_URL carrying a password — one the URL parser
// refuses, one of a server that is not there — from the environment, a flag or .env:
// no command prints any part of the password, in its errors or its output (issue
// 18.3).
func TestNATSPasswordNeverPrinted(t *testing.T) {
	dir := copyDir(t, "../../examples/temperature")
	if code, out, errOut := pelato(t, "gen", dir); code != 0 {
		t.Fatalf("gen: %d %s %s", code, out, errOut)
	}
	t.Setenv("NATS_TIMEOUT", "500ms")
	for _, u := range []string{
		"nats://deployer:s3cr%zzet@127.0.0.1:1",
		"nats://deployer:s3cr et@127.0.0.1:1",
		"nats://deployer:s3cret@127.0.0.1:1",
		"deployer:s3cret@127.0.0.1:1",
	} {
		for _, how := range []string{"env", "flag", ".env"} {
			args := func(cmd string) []string { return []string{cmd, dir} }
			t.Setenv("NATS_URL", "")
			os.Remove(filepath.Join(dir, ".env"))
			switch how {
			case "env":
				t.Setenv("NATS_URL", u)
			case "flag":
				args = func(cmd string) []string { return []string{cmd, dir, "--nats-url", u} }
			case ".env":
				if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("NATS_URL='"+u+"'\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, cmd := range []string{"deploy", "status", "remove"} {
				code, out, errOut := pelato(t, args(cmd)...)
				if code == 0 {
					t.Errorf("%s with NATS_URL=%q (%s) succeeded", cmd, u, how)
				}
				if strings.Contains(out+errOut, "s3cr") || strings.Contains(out+errOut, "et@") {
					t.Errorf("%s with NATS_URL=%q (%s) prints the password:\n%s%s", cmd, u, how, out, errOut)
				}
				if !strings.Contains(errOut, "REDACTED@127.0.0.1") {
					t.Errorf("%s with NATS_URL=%q (%s) does not say which server:\n%s", cmd, u, how, errOut)
				}
			}
		}
	}
}

// TestHostileNATSFiles: `pelato status` and `pelato deploy` with NATS_CREDS or
// NATS_TLS_CA naming /dev/zero or a FIFO stop at once with an error naming the
// setting (issue 18.2: status used to read /dev/zero until it ran out of memory).
func TestHostileNATSFiles(t *testing.T) {
	dir := copyDir(t, "../../examples/temperature")
	if code, out, errOut := pelato(t, "gen", dir); code != 0 {
		t.Fatalf("gen: %d %s %s", code, out, errOut)
	}
	fifo := filepath.Join(t.TempDir(), "creds")
	if err := hostile.MakeFile(fifo, hostile.FIFO); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ setting, path, kind string }{
		{"NATS_CREDS", "/dev/zero", "a character device"},
		{"NATS_TLS_CA", "/dev/zero", "a character device"},
		{"NATS_CREDS", fifo, "a named pipe"},
	} {
		t.Setenv("NATS_CREDS", "")
		t.Setenv("NATS_TLS_CA", "")
		t.Setenv(c.setting, c.path)
		for _, cmd := range []string{"status", "deploy"} {
			start := time.Now()
			code, out, errOut := pelato(t, cmd, dir)
			if code == 0 || !strings.Contains(errOut, c.setting+": "+c.path) || !strings.Contains(errOut, c.kind) {
				t.Errorf("%s with %s=%s: exit %d\n%s%s", cmd, c.setting, c.path, code, out, errOut)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("%s with %s=%s took %v", cmd, c.setting, c.path, took)
			}
		}
	}
}
