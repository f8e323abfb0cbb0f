package lsp

import (
	"path/filepath"
	"testing"
	"time"

	"go.lsp.dev/uri"
)

func TestURIRoundTrip(t *testing.T) {
	for _, p := range []string{"/tmp/a b/ü/workflow.yaml", "/x/tasks/c#d%e.go", "/plain/workflow.yaml"} {
		got, err := pathOf(fileURI(p))
		if err != nil || got != filepath.Clean(p) {
			t.Errorf("pathOf(fileURI(%q)) = %q, %v", p, got, err)
		}
	}
	for _, u := range []string{"untitled:Untitled-1", "https://example.com/workflow.yaml", "::", "/no/scheme/workflow.yaml"} {
		if _, err := pathOf(uri.URI(u)); err == nil {
			t.Errorf("pathOf(%q) accepted a URI that is not an absolute file URI", u)
		}
	}
}

func TestConfigApply(t *testing.T) {
	c := DefaultConfig()
	c, err := c.apply([]byte(`{"pelato": {"debounceMs": 0, "checkTasksOn": "save", "registryUrl": " ghcr.io/x ", "logLevel": "debug"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Debounce != 0 || c.CheckTasksOn != "save" || c.RegistryURL != "ghcr.io/x" || c.LogLevel != "debug" {
		t.Errorf("settings not applied: %+v", c)
	}
	c, err = c.apply([]byte(`{"debounceMs": 20}`)) // the section itself
	if err != nil || c.Debounce != 20*time.Millisecond || c.CheckTasksOn != "save" {
		t.Errorf("flat settings: %+v, %v", c, err)
	}
	for _, bad := range []string{`{"checkTasksOn": "never"}`, `{"debounceMs": -1}`, `{"logLevel": "loud"}`, `[1]`, `{"debounceMs": "x"}`, `{"registryUrl": "https://ghcr.io"}`, `{"registryUrl": "host:99999"}`} {
		if _, err := c.apply([]byte(bad)); err == nil {
			t.Errorf("apply(%s) accepted bad settings", bad)
		}
	}
	if same, err := c.apply(nil); err != nil || same != c {
		t.Errorf("empty settings changed the configuration")
	}
}
