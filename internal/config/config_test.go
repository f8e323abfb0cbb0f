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
		if _, ok := vals[s.Name]; !ok {
			t.Errorf(".env.template lacks %s", s.Name)
		}
	}
}
