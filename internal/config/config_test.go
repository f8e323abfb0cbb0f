package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestPrecedenceFlagsEnvDotEnv(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".env"), []byte("# settings\nREGISTRY_URL=dotenv.example:5000\nNATS_HOST=dotenv-host\nexport NATS_PORT=4333\nREGISTRY_PASSWORD=\"s3cr#t\"\nLATTICE='lab' \nPARALLEL_BUILD=False # sequential\n"), 0o600)
	c, err := Loader{Dir: dir, Flags: map[string]string{"REGISTRY_URL": "flag.example"}, Getenv: env(map[string]string{"REGISTRY_URL": "env.example", "NATS_HOST": "env-host"})}.Load()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]Value{
		"REGISTRY_URL":      {"flag.example", FromFlag},
		"NATS_HOST":         {"env-host", FromEnv},
		"NATS_PORT":         {"4333", FromDotEnv},
		"REGISTRY_PASSWORD": {"s3cr#t", FromDotEnv},
		"LATTICE":           {"lab", FromDotEnv},
		"ENABLE_METRICS":    {"False", FromDefault},
	} {
		if got := c.Lookup(name); got != want {
			t.Errorf("%s = %+v, want %+v", name, got, want)
		}
	}
	if c.Jobs() != 1 {
		t.Errorf("PARALLEL_BUILD=False must mean 1 job, got %d", c.Jobs())
	}
	if c.NATSURL() != "nats://env-host:4333" {
		t.Errorf("NATSURL = %s", c.NATSURL())
	}
	for _, l := range c.Describe() {
		if strings.Contains(l, "s3cr#t") {
			t.Errorf("secret printed: %s", l)
		}
	}
}

func TestDefaults(t *testing.T) {
	c, err := Loader{Getenv: env(nil)}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Jobs() != runtime.NumCPU() || c.NATSURL() != "nats://localhost:4222" || c.Get("LATTICE") != "default" || c.Bool("ENABLE_METRICS") {
		t.Errorf("defaults wrong: jobs %d url %s", c.Jobs(), c.NATSURL())
	}
}

func TestBadValuesNameTheirSource(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".env"), []byte("OK=1\nthis line is wrong\n"), 0o600)
	if _, err := (Loader{Dir: dir, Getenv: env(nil)}).Load(); err == nil || !strings.Contains(err.Error(), ".env:2:1") {
		t.Errorf("want file:line error, got %v", err)
	}
	for name, val := range map[string]string{"PARALLEL_BUILD": "maybe", "NATS_PORT": "99999", "JOBS": "0"} {
		_, err := Loader{Getenv: env(map[string]string{name: val})}.Load()
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "environment") {
			t.Errorf("%s=%s: want an error naming it and its source, got %v", name, val, err)
		}
	}
}

func FuzzParseDotEnv(f *testing.F) {
	f.Add([]byte("A=1\nexport B=\"x\\ny\"\n# c\nC='z'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseDotEnv(".env", data)
	})
}

func TestTemplateListsEverySetting(t *testing.T) {
	tpl := Template()
	vals, err := ParseDotEnv(".env.template", []byte(tpl))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range All() {
		if _, ok := vals[s.Name]; ok == s.NotFromDotEnv {
			t.Errorf(".env.template: %s listed %v, want %v (settings .env cannot set are left out)", s.Name, ok, !s.NotFromDotEnv)
		}
	}
}

// TestDotEnvCannotChooseWhatRuns: a cloned project's .env cannot pick the builder
// image, the build network, the limits or the tool versions (hostile input: a
// project that would run an image of its choice with the host's network); the
// user's environment and flags can, and Load says what it ignored.
func TestDotEnvCannotChooseWhatRuns(t *testing.T) {
	dir := t.TempDir()
	env := "PELATO_BUILDER_IMAGE=attacker.example/evil:latest\nPELATO_BUILD_NETWORK=host\nPELATO_BUILD_MEMORY=0\nPELATO_BUILD_PIDS=0\n" +
		"PELATO_TINYGO_VERSION=9.9.9\nPELATO_WASM_TOOLS_VERSION=9.9.9\nJOBS=3\n"
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	none := func(string) (string, bool) { return "", false }
	c, err := Loader{Dir: dir, Getenv: none}.Load()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Value{
		"PELATO_BUILDER_IMAGE": {"", FromDefault}, "PELATO_BUILD_NETWORK": {"bridge", FromDefault},
		"PELATO_BUILD_MEMORY": {"4GiB", FromDefault}, "PELATO_BUILD_PIDS": {"4096", FromDefault},
		"PELATO_TINYGO_VERSION": {"", FromDefault}, "PELATO_WASM_TOOLS_VERSION": {"", FromDefault},
		"JOBS": {"3", FromDotEnv}, // an ordinary setting: .env still sets it
	}
	for name, v := range want {
		if got := c.Lookup(name); got != v {
			t.Errorf("%s = %+v, want %+v", name, got, v)
		}
	}
	if got := c.Ignored(); len(got) != 6 || !strings.Contains(got[0], "PELATO_BUILDER_IMAGE in .env is ignored") {
		t.Errorf("ignored: %q", got)
	}
	if mem, pids := c.BuildLimits(); mem != 4<<30 || pids != 4096 {
		t.Errorf("limits %d %d", mem, pids)
	}
	// The environment and flags do set them.
	envOnly := func(n string) (string, bool) {
		return map[string]string{"PELATO_BUILD_NETWORK": "host", "PELATO_BUILD_MEMORY": "0"}[n], n == "PELATO_BUILD_NETWORK" || n == "PELATO_BUILD_MEMORY"
	}
	c, err = Loader{Dir: dir, Getenv: envOnly, Flags: map[string]string{"PELATO_BUILDER_IMAGE": "mine:1"}}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.Get("PELATO_BUILD_NETWORK") != "host" || c.Get("PELATO_BUILDER_IMAGE") != "mine:1" {
		t.Errorf("environment/flag not used: %v", c.Describe())
	}
	if mem, _ := c.BuildLimits(); mem != -1 {
		t.Errorf("PELATO_BUILD_MEMORY=0: %d, want -1 (no bound)", mem)
	}
}

func TestBuildSettingsValidated(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"PELATO_BUILD_NETWORK", "container:other", `expected bridge (the default), host or none`},
		{"PELATO_BUILD_NETWORK", "Host", `expected bridge`},
		{"PELATO_BUILD_MEMORY", "lots", "not a size"},
		{"PELATO_BUILD_MEMORY", "1MiB", "at least 64MiB"},
		{"PELATO_BUILD_PIDS", "-1", "at least 16"},
		{"PELATO_TINYGO_VERSION", "0.42.0; rm -rf /", "release version"},
		{"PELATO_WASM_TOOLS_VERSION", "latest", "release version"},
	} {
		_, err := Loader{Flags: map[string]string{tc.name: tc.value}}.Load()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name+" (from flag)") {
			t.Errorf("%s=%q: %v, want %q", tc.name, tc.value, err, tc.want)
		}
	}
	for _, ok := range []string{"bridge", "host", "none"} {
		if _, err := (Loader{Flags: map[string]string{"PELATO_BUILD_NETWORK": ok}}).Load(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// A .env that is not what it seems (a link to a credentials file, a line with a
// token) is reported by file, line and kind of problem: its content never appears.
func TestDotEnvErrorsNeverEchoContent(t *testing.T) {
	const secret = "ghp_0123456789abcdefSECRET"
	for name, content := range map[string]string{
		"url line":         "https://alice:" + secret + "@github.com\n",
		"name with space":  "MY " + secret + "=x\n",
		"quoted name":      "\"" + secret + "\"=x\n",
		"no name":          "=" + secret + "\n",
		"bad quoted value": "TOKEN=\"" + secret + "\\q\"\n",
		"control in name":  secret + "\x1b[2J=1\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, ".env"), []byte("# settings\n"+content), 0o600)
			_, err := Loader{Dir: dir, Getenv: env(nil)}.Load()
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			if strings.Contains(msg, "ghp_") || strings.Contains(msg, "SECRET") || strings.Contains(msg, "alice") {
				t.Errorf("error echoes the file's content: %s", msg)
			}
			if !strings.Contains(msg, filepath.Join(dir, ".env")+":2:") {
				t.Errorf("error %q should name the file and line 2", msg)
			}
		})
	}
}

func TestDotEnvMustBeARegularFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/dev/zero", filepath.Join(dir, ".env")); err != nil {
		t.Fatal(err)
	}
	_, err := Loader{Dir: dir, Getenv: env(nil)}.Load()
	if err == nil || !strings.Contains(err.Error(), "symbolic link to /dev/zero, a character device, not a regular file") {
		t.Errorf("got %v", err)
	}
}

func TestRegistryURL(t *testing.T) {
	for _, ok := range []string{"localhost:5000", "localhost", "ghcr.io/my-org", "registry.example.com:443/a/b_c/d-e", "127.0.0.1:5000", "[::1]:5000", "localhost:5000/"} {
		if err := ValidateRegistry(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for in, says := range map[string]string{
		"https://registry.example.com:5000/org": "has a scheme (https://); write it without a scheme, as host[:port][/path]: registry.example.com:5000/org",
		"https://bob:hunter2@ghcr.io":           "REGISTRY_USER",
		"bob:hunter2@ghcr.io":                   "contains `@`",
		"host:99999":                            "port 99999",
		"host:":                                 "no port",
		"Registry.Example.com":                  "upper-case letters; image references are lowercase: registry.example.com",
		"ghcr.io/Org":                           "upper-case",
		"host#frag":                             `contains '#'`,
		"host/a//b":                             "path component",
		"-bad-.com":                             "not a valid host name",
		"":                                      "empty",
		"two words":                             "white space",
	} {
		err := ValidateRegistry(in)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%q: got %v, want it to say %q", in, err, says)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the error repeats the password: %v", in, err)
		}
	}
	_, err := Loader{Getenv: env(map[string]string{"REGISTRY_URL": "https://r.example"})}.Load()
	if err == nil || !strings.Contains(err.Error(), "REGISTRY_URL (from environment)") {
		t.Errorf("Load must validate REGISTRY_URL: %v", err)
	}
}
