package lsp

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestSettingDocs: the documented settings are exactly the keys apply reads, and
// each documented default (and enum value) is accepted and gives the default
// configuration.
func TestSettingDocs(t *testing.T) {
	var tags []string
	st := reflect.TypeOf(settings{})
	for i := range st.NumField() {
		tags = append(tags, strings.Split(st.Field(i).Tag.Get("json"), ",")[0])
	}
	var keys []string
	obj := map[string]any{}
	for _, d := range SettingDocs() {
		keys = append(keys, d.Key)
		obj[d.Key] = d.Default
		if d.Description == "" || !strings.HasSuffix(d.Description, ".") {
			t.Errorf("%s: description %q should be a sentence", d.Key, d.Description)
		}
		switch d.Type {
		case "integer":
			if _, ok := d.Default.(int); !ok {
				t.Errorf("%s: default %v is not an int", d.Key, d.Default)
			}
		case "string":
			if _, ok := d.Default.(string); !ok {
				t.Errorf("%s: default %v is not a string", d.Key, d.Default)
			}
		case "boolean":
			if _, ok := d.Default.(bool); !ok {
				t.Errorf("%s: default %v is not a bool", d.Key, d.Default)
			}
		default:
			t.Errorf("%s: type %q", d.Key, d.Type)
		}
		for _, v := range d.Enum {
			if _, err := DefaultConfig().apply(fmt.Appendf(nil, `{%q: %q}`, d.Key, v)); err != nil {
				t.Errorf("%s: enum value %q refused: %v", d.Key, v, err)
			}
		}
		if d.Type == "integer" {
			for _, v := range []int{d.Minimum - 1, d.Maximum + 1} {
				if _, err := DefaultConfig().apply(fmt.Appendf(nil, `{%q: %d}`, d.Key, v)); err == nil {
					t.Errorf("%s: %d outside the documented bounds accepted", d.Key, v)
				}
			}
		}
	}
	slices.Sort(tags)
	slices.Sort(keys)
	if !slices.Equal(tags, keys) {
		t.Errorf("documented settings %q, read settings %q", keys, tags)
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DefaultConfig().apply(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got != DefaultConfig() {
		t.Errorf("the documented defaults give %+v, want %+v", got, DefaultConfig())
	}
}

// TestProjectConfig: the editor's registryUrl, lattice and natsUrl win over the
// environment and .env; unset ones leave them alone.
func TestProjectConfig(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, ".env"), "LATTICE=from-dotenv\nNATS_URL=nats://dotenv:4222\nREGISTRY_URL=dotenv.example:5000\n")
	env := map[string]string{"NATS_URL": "nats://env:4222"}
	s := New(Options{Getenv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	snap := s.snapshot()

	cfg, err := s.projectConfig(snap, root)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Get("LATTICE") != "from-dotenv" || cfg.Get("NATS_URL") != "nats://env:4222" || s.registryURL(snap, root) != "dotenv.example:5000" {
		t.Errorf("without settings: LATTICE=%q NATS_URL=%q registry=%q", cfg.Get("LATTICE"), cfg.Get("NATS_URL"), s.registryURL(snap, root))
	}

	c, err := DefaultConfig().apply([]byte(`{"pelato": {"lattice": " edge ", "natsUrl": "nats://editor:4222", "registryUrl": "editor.example"}}`))
	if err != nil {
		t.Fatal(err)
	}
	snap = snap.with(snap.version + 1)
	snap.cfg = c
	cfg, err = s.projectConfig(snap, root)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Get("LATTICE") != "edge" || cfg.Get("NATS_URL") != "nats://editor:4222" || s.registryURL(snap, root) != "editor.example" {
		t.Errorf("with settings: LATTICE=%q NATS_URL=%q registry=%q", cfg.Get("LATTICE"), cfg.Get("NATS_URL"), s.registryURL(snap, root))
	}
	if v := cfg.Lookup("LATTICE"); v.Source != "flag" {
		t.Errorf("LATTICE from %s, want the editor's setting (flag precedence)", v.Source)
	}

	// builder: the editor's setting over PELATO_BUILDER; an unknown value is refused.
	env["PELATO_BUILDER"] = "docker"
	if c, err = c.apply([]byte(`{"builder": "local"}`)); err != nil {
		t.Fatal(err)
	}
	snap = snap.with(snap.version + 1)
	snap.cfg = c
	if cfg, err = s.projectConfig(snap, root); err != nil || cfg.Get("PELATO_BUILDER") != "local" {
		t.Errorf("with builder local: PELATO_BUILDER=%q, %v", cfg.Get("PELATO_BUILDER"), err)
	}
	if _, err := c.apply([]byte(`{"builder": "podman"}`)); err == nil || !strings.Contains(err.Error(), `builder "podman"`) {
		t.Errorf("builder podman: %v", err)
	}

	// A broken .env is reported with its place; the registry falls back to the setting.
	write(t, filepath.Join(root, ".env"), "not a setting\n")
	if _, err := s.projectConfig(snap, root); err == nil || !strings.Contains(err.Error(), ".env:1") {
		t.Errorf("broken .env: %v", err)
	}
	if got := s.registryURL(snap, root); got != "editor.example" {
		t.Errorf("registry with a broken .env = %q", got)
	}
}
