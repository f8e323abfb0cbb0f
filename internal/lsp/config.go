package lsp

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/config"
	"github.com/pelato-dev/pelato/internal/wasmrun"
)

// Config is the server's user configuration: the `pelato` settings section, read from
// initializationOptions and workspace/didChangeConfiguration.
type Config struct {
	// Debounce is the longest the server waits after a change before re-checking.
	// It adapts: a project whose last check was cheap (under a third of Debounce) is
	// checked at once, unless edits come in a burst (three within Debounce), which are
	// coalesced into one check a third of Debounce after the last of them; a project
	// whose checks are expensive is checked once no edit has come for Debounce. 0
	// checks at once after every change.
	Debounce time.Duration
	// CheckTasksOn is "change" (task files are checked as they are typed) or "save"
	// (only saved task files are checked).
	CheckTasksOn string
	// RegistryURL is the OCI registry shown in hovers; "" uses REGISTRY_URL from the
	// environment or the project's .env.
	RegistryURL string
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string
	// Lattice and NATSURL, when set, override LATTICE and NATS_URL (environment and
	// .env) for the commands the server runs; see projectConfig.
	Lattice string
	NATSURL string
	// Kubeconfig, KubeContext and KubeNamespace say how the commands of a project
	// of platform wasmcloud2 reach its cluster (--kubeconfig, --context and
	// --namespace of the CLI); empty: kubectl's resolution.
	Kubeconfig, KubeContext, KubeNamespace string
	// Builder, when set, overrides PELATO_BUILDER for the build commands: "docker"
	// or "local" (TinyGo and wasm-tools on PATH).
	Builder string
	// LatticeChecks enables the PL601 hint on `targets:` entries no host of the lattice
	// carries, from a host ping renewed in the background (lattice.go); off, the
	// default, the server makes no network call for diagnostics.
	LatticeChecks bool
	// Invoke bounds each pelato.invoke run: time (no limit when negative), memory
	// and stack. Zero fields take wasmrun's defaults.
	Invoke wasmrun.Limits
	// MinSeverity is the least severe diagnostic published: check.Hint (all, the
	// default), check.Info, check.Warning or check.Error. Clients that show hints as
	// warnings (Vim's ALE) hide them with "warning".
	MinSeverity check.Severity
}

// DefaultConfig returns the configuration used until the client sends its own.
func DefaultConfig() Config {
	return Config{Debounce: 150 * time.Millisecond, CheckTasksOn: "change", LogLevel: "info", MinSeverity: check.Hint,
		Invoke: wasmrun.Limits{Timeout: wasmrun.DefaultTimeout, Memory: wasmrun.DefaultMemory}}
}

// settings is the wire form of the `pelato` section; absent keys leave values alone.
type settings struct {
	DebounceMs   *int    `json:"debounceMs"`
	CheckTasksOn *string `json:"checkTasksOn"`
	RegistryURL  *string `json:"registryUrl"`
	LogLevel     *string `json:"logLevel"`
	Lattice      *string `json:"lattice"`
	NATSURL      *string `json:"natsUrl"`
	// Kubernetes settings of platform wasmcloud2.
	Kubeconfig    *string `json:"kubeconfig"`
	KubeContext   *string `json:"kubeContext"`
	KubeNamespace *string `json:"kubeNamespace"`
	Builder       *string `json:"builder"`
	// LatticeChecks is read by lattice.go.
	LatticeChecks *bool `json:"latticeChecks"`
	// Limits of pelato.invoke.
	InvokeTimeoutMs *int    `json:"invokeTimeoutMs"`
	InvokeMemoryMiB *int    `json:"invokeMemoryMiB"`
	MinSeverity     *string `json:"minSeverity"`
}

// apply merges the settings in raw into c. raw may be the section itself or an object
// holding it under "pelato"; null or empty input changes nothing.
func (c Config) apply(raw []byte) (Config, error) {
	if len(strings.TrimSpace(string(raw))) == 0 || string(raw) == "null" {
		return c, nil
	}
	var wrapper struct {
		Pelato json.RawMessage `json:"pelato"`
	}
	if err := json.Unmarshal(raw, &wrapper); err != nil {
		return c, fmt.Errorf("read pelato settings: %w", err)
	}
	if len(wrapper.Pelato) > 0 && string(wrapper.Pelato) != "null" {
		raw = wrapper.Pelato
	}
	var s settings
	if err := json.Unmarshal(raw, &s); err != nil {
		return c, fmt.Errorf("read pelato settings: %w", err)
	}
	if s.DebounceMs != nil {
		if *s.DebounceMs < 0 || *s.DebounceMs > 60_000 {
			return c, fmt.Errorf("read pelato settings: debounceMs %d is outside 0..60000", *s.DebounceMs)
		}
		c.Debounce = time.Duration(*s.DebounceMs) * time.Millisecond
	}
	if s.CheckTasksOn != nil {
		switch *s.CheckTasksOn {
		case "change", "save":
			c.CheckTasksOn = *s.CheckTasksOn
		default:
			return c, fmt.Errorf("read pelato settings: checkTasksOn %q is not \"change\" or \"save\"", *s.CheckTasksOn)
		}
	}
	if s.RegistryURL != nil {
		u := strings.TrimSpace(*s.RegistryURL)
		if u != "" {
			if err := config.ValidateRegistry(u); err != nil {
				return c, fmt.Errorf("read pelato settings: registryUrl %w", err)
			}
		}
		c.RegistryURL = u
	}
	if s.Lattice != nil {
		c.Lattice = strings.TrimSpace(*s.Lattice)
	}
	if s.NATSURL != nil {
		c.NATSURL = strings.TrimSpace(*s.NATSURL)
	}
	if s.Kubeconfig != nil {
		c.Kubeconfig = strings.TrimSpace(*s.Kubeconfig)
	}
	if s.KubeContext != nil {
		c.KubeContext = strings.TrimSpace(*s.KubeContext)
	}
	if s.KubeNamespace != nil {
		c.KubeNamespace = strings.TrimSpace(*s.KubeNamespace)
	}
	if s.Builder != nil {
		switch b := strings.TrimSpace(*s.Builder); b {
		case "", "docker", "local":
			c.Builder = b
		default:
			return c, fmt.Errorf("read pelato settings: builder %q is not \"docker\" or \"local\"", *s.Builder)
		}
	}
	if s.LatticeChecks != nil {
		c.LatticeChecks = *s.LatticeChecks
	}
	if s.MinSeverity != nil {
		sev, ok := parseSeverity(*s.MinSeverity)
		if !ok {
			return c, fmt.Errorf("read pelato settings: minSeverity %q is not \"error\", \"warning\", \"info\" or \"hint\"", *s.MinSeverity)
		}
		c.MinSeverity = sev
	}
	if s.LogLevel != nil {
		if _, err := parseLevel(*s.LogLevel); err != nil {
			return c, fmt.Errorf("read pelato settings: %w", err)
		}
		c.LogLevel = *s.LogLevel
	}
	if s.InvokeTimeoutMs != nil {
		switch ms := *s.InvokeTimeoutMs; {
		case ms < 0 || ms > 3_600_000:
			return c, fmt.Errorf("read pelato settings: invokeTimeoutMs %d is outside 0..3600000 (0: no limit)", ms)
		case ms == 0:
			c.Invoke.Timeout = -1
		default:
			c.Invoke.Timeout = time.Duration(ms) * time.Millisecond
		}
	}
	if s.InvokeMemoryMiB != nil {
		mib := *s.InvokeMemoryMiB
		if mib < 1 || mib > wasmrun.MaxMemory>>20 {
			return c, fmt.Errorf("read pelato settings: invokeMemoryMiB %d is outside 1..4096", mib)
		}
		c.Invoke.Memory = uint64(mib) << 20
	}
	return c, nil
}

// parseSeverity reads a minSeverity setting ("" means hint: everything).
func parseSeverity(s string) (check.Severity, bool) {
	if s == "" {
		return check.Hint, true
	}
	for _, sev := range []check.Severity{check.Error, check.Warning, check.Info, check.Hint} {
		if strings.EqualFold(s, sev.String()) || (sev == check.Info && strings.EqualFold(s, "information")) {
			return sev, true
		}
	}
	return 0, false
}

// parseLevel turns a logLevel setting into a slog level.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug", "trace":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error", "off":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("logLevel %q is not debug, info, warn or error", s)
}

// SettingDoc documents one key of the `pelato` settings section for editors that
// declare the settings themselves: editors/vscode/package.json mirrors this table
// (as pelato.<Key>) and a test in editors/ keeps the two in step.
type SettingDoc struct {
	// Key is the name under the pelato section, e.g. "debounceMs".
	Key string
	// Type is the JSON Schema type: "integer", "string" or "boolean".
	Type string
	// Default is the value used when the key is absent.
	Default any
	// Enum lists the allowed values of a string setting, if limited.
	Enum []string
	// Minimum and Maximum bound an integer setting.
	Minimum, Maximum int
	// Description says what the setting does, for settings editors.
	Description string
}

// SettingDocs returns the documentation of every key of the `pelato` settings
// section, in the order editors list them.
func SettingDocs() []SettingDoc {
	d := DefaultConfig()
	return []SettingDoc{
		{Key: "debounceMs", Type: "integer", Default: int(d.Debounce / time.Millisecond), Minimum: 0, Maximum: 60_000,
			Description: "Milliseconds pelato-lsp waits after a change before checking the project again."},
		{Key: "checkTasksOn", Type: "string", Default: d.CheckTasksOn, Enum: []string{"change", "save"},
			Description: "When task files (tasks/*.go) are type-checked: as they are typed (change) or only once saved (save)."},
		{Key: "registryUrl", Type: "string", Default: d.RegistryURL,
			Description: "OCI registry of component images (host[:port][/path]); empty uses REGISTRY_URL from the environment or the project's .env."},
		{Key: "lattice", Type: "string", Default: d.Lattice,
			Description: "wasmCloud lattice the editor's commands deploy to and query; empty uses WASMCLOUD_LATTICE (or its older name LATTICE) from the environment or .env (default: default)."},
		{Key: "natsUrl", Type: "string", Default: d.NATSURL,
			Description: "NATS server URL(s) of the lattice, comma-separated; empty uses NATS_URL, or NATS_HOST and NATS_PORT, from the environment or .env."},
		{Key: "kubeconfig", Type: "string", Default: d.Kubeconfig,
			Description: "Platform wasmcloud2: the kubeconfig file the editor's commands use; empty uses KUBECONFIG, else ~/.kube/config. Restricted in untrusted workspaces: a kubeconfig can run credential commands."},
		{Key: "kubeContext", Type: "string", Default: d.KubeContext,
			Description: "Platform wasmcloud2: the kubeconfig context; empty uses its current-context."},
		{Key: "kubeNamespace", Type: "string", Default: d.KubeNamespace,
			Description: "Platform wasmcloud2: the Kubernetes namespace deployments go to; empty uses the context's namespace, else default."},
		{Key: "builder", Type: "string", Default: d.Builder, Enum: []string{"", "docker", "local"},
			Description: "How the Build command builds components: docker (a container of the builder image) or local (TinyGo and wasm-tools on PATH, no Docker); empty uses PELATO_BUILDER from the environment or .env (default: docker)."},
		{Key: "latticeChecks", Type: "boolean", Default: d.LatticeChecks,
			Description: "Hint on each targets: entry of workflow.yaml whose label no host of the lattice carries (PL601), from a host ping renewed in the background at most every 30 seconds; off, the server makes no network call for diagnostics."},
		{Key: "invokeTimeoutMs", Type: "integer", Default: int(wasmrun.DefaultTimeout / time.Millisecond), Minimum: 0, Maximum: 3_600_000,
			Description: "Milliseconds a task may run in Invoke before it is stopped; 0 means no limit."},
		{Key: "invokeMemoryMiB", Type: "integer", Default: int(wasmrun.DefaultMemory >> 20), Minimum: 1, Maximum: int(wasmrun.MaxMemory >> 20),
			Description: "MiB of memory a task may use in Invoke before it is stopped; the memory goes back to the system when the run ends."},
		{Key: "minSeverity", Type: "string", Default: "hint", Enum: []string{"error", "warning", "info", "hint"},
			Description: "Least severe diagnostic published; \"warning\" hides hints and infos (for clients such as Vim's ALE that show hints as warnings)."},
		{Key: "logLevel", Type: "string", Default: d.LogLevel, Enum: []string{"debug", "info", "warn", "error"},
			Description: "Least level of the server's log lines (shown in the editor's log of the server)."},
	}
}

// settingFlags returns the editor's settings that override the project's settings
// (internal/config names), with the precedence of command-line flags.
func (c Config) settingFlags() map[string]string {
	flags := map[string]string{}
	for name, v := range map[string]string{"REGISTRY_URL": c.RegistryURL, "LATTICE": c.Lattice, "NATS_URL": c.NATSURL, "PELATO_BUILDER": c.Builder} {
		if v != "" {
			flags[name] = v
		}
	}
	return flags
}

// projectConfig returns the settings of the project at root for a command the
// server runs: the editor's settings (registryUrl, lattice, natsUrl, builder) over the
// server's environment over the project's .env.
func (s *Server) projectConfig(snap *Snapshot, root string) (*config.Config, error) {
	cfg, err := config.Loader{Dir: root, Flags: snap.cfg.settingFlags(), Getenv: s.getenv}.Load()
	if err != nil {
		return nil, fmt.Errorf("settings of %s: %w", root, err)
	}
	return cfg, nil
}
