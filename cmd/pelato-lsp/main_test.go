package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	for _, c := range []struct {
		args     []string
		code     int
		stdout   string
		stderr   string
		noStdout bool
		noStderr bool
	}{
		{args: []string{"--help"}, code: 0, stdout: "Usage: pelato-lsp [flags]", noStderr: true},
		{args: []string{"-h"}, code: 0, stdout: "-logfile", noStderr: true},
		{args: []string{"--version"}, code: 0, stdout: "pelato-lsp ", noStderr: true},
		{args: []string{"--bogus"}, code: 2, stderr: "flag provided but not defined: -bogus", noStdout: true},
		{args: []string{"serve"}, code: 2, stderr: `unexpected argument "serve"`, noStdout: true},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), c.args, strings.NewReader(""), &out, &errb)
		if code != c.code || !strings.Contains(out.String(), c.stdout) || !strings.Contains(errb.String(), c.stderr) ||
			(c.noStdout && out.Len() > 0) || (c.noStderr && errb.Len() > 0) {
			t.Errorf("%v: exit %d (want %d)\nstdout: %q\nstderr: %q", c.args, code, c.code, out.String(), errb.String())
		}
	}
}
