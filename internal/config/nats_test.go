package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNATSSettings(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".env"), []byte("NATS_URL=tls://nats.example:4443\nNATS_USER=deployer\nNATS_PASSWORD=hunter2\nNATS_TLS_CA=/etc/ca.pem\nNATS_TLS_CERT=c.pem\nNATS_TLS_KEY=k.pem\nNATS_TIMEOUT=750ms\n"), 0o600)
	c, err := Loader{Dir: dir, Getenv: env(map[string]string{"WASMCLOUD_LATTICE": "edge-lab"})}.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := NATS{URL: "tls://nats.example:4443", Lattice: "edge-lab", User: "deployer", Password: "hunter2",
		TLSCA: "/etc/ca.pem", TLSCert: "c.pem", TLSKey: "k.pem", Timeout: 750 * time.Millisecond, PingWindow: 5 * time.Second}
	if got := c.NATS(); got != want {
		t.Errorf("NATS() = %+v\nwant      %+v", got, want)
	}
	for _, l := range c.Describe() {
		if strings.Contains(l, "hunter2") {
			t.Errorf("password printed: %s", l)
		}
	}
	d, err := Loader{Getenv: env(nil)}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := d.NATS(); n.URL != "nats://localhost:4222" || n.Lattice != "default" || n.Timeout != 5*time.Second {
		t.Errorf("defaults: %+v", n)
	}
	if n, _ := (Loader{Getenv: env(map[string]string{"NATS_HOST": "::1"})}).Load(); n.NATS().URL != "nats://[::1]:4222" {
		t.Errorf("an IPv6 NATS_HOST: %s", n.NATS().URL)
	}
	if n, _ := (Loader{Getenv: env(map[string]string{"NATS_TIMEOUT": "2"})}).Load(); n.NATS().Timeout != 2*time.Second {
		t.Errorf("a plain number is seconds: %v", n.NATS().Timeout)
	}
}

// LATTICE, pelato's first name for the setting, keeps working; the one given with the
// higher precedence wins, and the two given at the same level must agree.
func TestLatticeAlias(t *testing.T) {
	for _, c := range []struct {
		name    string
		flags   map[string]string
		env     map[string]string
		dotenv  string
		want    string
		wantErr string
	}{
		{name: "default", want: "default"},
		{name: "old name only", env: map[string]string{"LATTICE": "lab"}, want: "lab"},
		{name: "new name only", dotenv: "WASMCLOUD_LATTICE=prod\n", want: "prod"},
		{name: "env beats .env", env: map[string]string{"LATTICE": "lab"}, dotenv: "WASMCLOUD_LATTICE=prod\n", want: "lab"},
		{name: "flag beats env", flags: map[string]string{"WASMCLOUD_LATTICE": "x"}, env: map[string]string{"LATTICE": "lab"}, want: "x"},
		{name: "same level agreeing", env: map[string]string{"LATTICE": "lab", "WASMCLOUD_LATTICE": "lab"}, want: "lab"},
		{name: "same level disagreeing", env: map[string]string{"LATTICE": "lab", "WASMCLOUD_LATTICE": "prod"}, wantErr: "keep one"},
		{name: "not a subject token", env: map[string]string{"WASMCLOUD_LATTICE": "a.b"}, wantErr: "WASMCLOUD_LATTICE (from environment)"},
		{name: "old name not a token", dotenv: "LATTICE=\"my lattice\"\n", wantErr: "LATTICE (from .env)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, ".env"), []byte(c.dotenv), 0o600)
			cfg, err := Loader{Dir: dir, Flags: c.flags, Getenv: env(c.env)}.Load()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("want an error containing %q, got %v", c.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Lattice(); got != c.want {
				t.Errorf("Lattice() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestBadNATSSettings(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"NATS_TIMEOUT": "soon"}, "NATS_TIMEOUT (from environment)"},
		{map[string]string{"NATS_TIMEOUT": "-1s"}, "positive duration"},
		{map[string]string{"NATS_TLS_CERT": "c.pem"}, "NATS_TLS_CERT and NATS_TLS_KEY go together"},
		{map[string]string{"NATS_PASSWORD": "x"}, "without NATS_USER"},
		{map[string]string{"NATS_USER": "u", "NATS_TOKEN": "t"}, "NATS_USER and NATS_TOKEN"},
		{map[string]string{"NATS_CREDS": "a.creds", "NATS_TOKEN": "t"}, "NATS_CREDS and NATS_TOKEN"},
	} {
		_, err := Loader{Getenv: env(c.env)}.Load()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: want an error containing %q, got %v", c.env, c.want, err)
		}
		if err != nil && (strings.Contains(err.Error(), "\"x\"") || strings.Contains(err.Error(), "\"t\"")) {
			t.Errorf("%v: a secret is in the error: %v", c.env, err)
		}
	}
}

// CheckValue sees one setting at a time: settings that only make sense together are
// not reported alone, values that are wrong on their own are.
func TestCheckValueOfNATSSettings(t *testing.T) {
	for name, value := range map[string]string{"NATS_PASSWORD": "x", "NATS_TLS_CERT": "c.pem", "NATS_TLS_KEY": "k.pem", "NATS_TOKEN": "t", "NATS_USER": "u", "WASMCLOUD_LATTICE": "lab", "LATTICE": "lab", "NATS_TIMEOUT": "3s"} {
		if err := CheckValue(name, value); err != nil {
			t.Errorf("%s=%s alone: %v", name, value, err)
		}
	}
	for name, value := range map[string]string{"NATS_TIMEOUT": "soon", "WASMCLOUD_LATTICE": "a.b", "LATTICE": "x y"} {
		if err := CheckValue(name, value); err == nil {
			t.Errorf("%s=%s accepted", name, value)
		}
	}
}

// TestHostPingWindow: the host ping gathers answers for wasmCloud's 5 s unless
// HOST_PING_WINDOW says otherwise (issue 19).
func TestHostPingWindow(t *testing.T) {
	c, err := Loader{Getenv: env(nil)}.Load()
	if err != nil || c.NATS().PingWindow != 5*time.Second {
		t.Fatalf("default: %v %v", c.NATS().PingWindow, err)
	}
	c, err = Loader{Getenv: env(map[string]string{"HOST_PING_WINDOW": "750ms"})}.Load()
	if err != nil || c.NATS().PingWindow != 750*time.Millisecond {
		t.Fatalf("750ms: %v %v", c.NATS().PingWindow, err)
	}
	if _, err := (Loader{Flags: map[string]string{"HOST_PING_WINDOW": "soon"}, Getenv: env(nil)}).Load(); err == nil || !strings.Contains(err.Error(), "HOST_PING_WINDOW (from flag)") {
		t.Errorf("a bad window: %v", err)
	}
}
