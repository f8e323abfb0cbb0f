package lattice_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pelato-dev/pelato/internal/hostile"
	"github.com/pelato-dev/pelato/internal/lattice"
	"github.com/pelato-dev/pelato/internal/lattice/latticetest"
)

// TestHostileSecretFiles: NATS_CREDS, NATS_TLS_CA, NATS_TLS_CERT or NATS_TLS_KEY
// naming a FIFO, /dev/zero, /dev/null or an 8 GiB file is refused before anything is
// read — at once, with a message naming the setting and the kind of file, and with
// the heap hardly touched (issue 18.2: `status` reached OOM, the language server kept
// reading after cancel).
func TestHostileSecretFiles(t *testing.T) {
	certs := latticetest.NewCerts(t)
	srv := latticetest.StartNATS(t, latticetest.ServerOptions{})
	dir := t.TempDir()
	for _, setting := range []string{"NATS_CREDS", "NATS_TLS_CA", "NATS_TLS_CERT", "NATS_TLS_KEY"} {
		for _, kind := range hostile.Kinds() {
			path := filepath.Join(dir, setting+"-"+kind)
			if err := hostile.MakeFile(path, kind); err != nil {
				t.Fatal(err)
			}
			o := lattice.Options{URL: srv.URL(), Timeout: 2 * time.Second}
			switch setting {
			case "NATS_CREDS":
				o.Creds = path
			case "NATS_TLS_CA":
				o.TLSCA = path
			case "NATS_TLS_CERT":
				o.TLSCert, o.TLSKey = path, certs.ClientKey
			case "NATS_TLS_KEY":
				o.TLSCert, o.TLSKey = certs.ClientCert, path
			}
			var err error
			use := hostile.Measure(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var c *lattice.Client
				c, err = lattice.Connect(ctx, o)
				c.Close()
			})
			if err == nil {
				t.Fatalf("%s=%s (%s) accepted", setting, path, kind)
			}
			msg := err.Error()
			want := "not a regular file"
			if kind == hostile.HugeSparse {
				want = "pelato reads at most"
			}
			if !strings.Contains(msg, setting+": "+path) || !strings.Contains(msg, want) {
				t.Errorf("%s (%s): unclear error: %s", setting, kind, msg)
			}
			if !lattice.IsUnavailable(err) {
				t.Errorf("%s (%s): not a connection error, so commands would carry on: %T", setting, kind, err)
			}
			if use.Took > time.Second || use.PeakHeap > 16<<20 {
				t.Errorf("%s (%s): %s", setting, kind, use)
			}
		}
	}
	// Files of the wrong content say so.
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("not a credentials file\n"), 0o600)
	for _, o := range []lattice.Options{{Creds: junk}, {TLSCA: junk}, {TLSCert: junk, TLSKey: junk}} {
		o.URL = srv.URL()
		_, err := lattice.Connect(context.Background(), o)
		if err == nil || !(strings.Contains(err.Error(), "holds no") || strings.Contains(err.Error(), "are not a PEM certificate")) {
			t.Errorf("%+v: %v", o, err)
		}
	}
}
