package lsp

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Config is the server's user configuration: the `pelato` settings section, read from
// initializationOptions and workspace/didChangeConfiguration.
type Config struct {
	// Debounce is how long the server waits after a change before re-checking.
	Debounce time.Duration
	// CheckTasksOn is "change" (task files are checked as they are typed) or "save"
	// (only saved task files are checked).
	CheckTasksOn string
	// RegistryURL is the OCI registry shown in hovers; "" uses REGISTRY_URL from the
	// environment or the project's .env.
	RegistryURL string
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string

	// LatticeChecks enables the PL501 hint on `targets:` entries no host of the lattice
	// carries: a host ping now and then (never when off, the default).
	LatticeChecks bool
	// NATSURL and Lattice override NATS_URL and WASMCLOUD_LATTICE of the project's
	// settings for deploy, remove, status and the lattice checks; "" keeps them.
	NATSURL string
	Lattice string
}

// DefaultConfig returns the configuration used until the client sends its own.
func DefaultConfig() Config {
	return Config{Debounce: 150 * time.Millisecond, CheckTasksOn: "change", LogLevel: "info"}
}

// settings is the wire form of the `pelato` section; absent keys leave values alone.
type settings struct {
	DebounceMs   *int    `json:"debounceMs"`
	CheckTasksOn *string `json:"checkTasksOn"`
	RegistryURL  *string `json:"registryUrl"`
	LogLevel     *string `json:"logLevel"`

	LatticeChecks *bool   `json:"latticeChecks"`
	NATSURL       *string `json:"natsUrl"`
	Lattice       *string `json:"lattice"`
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
		c.RegistryURL = strings.TrimSpace(*s.RegistryURL)
	}
	if s.LogLevel != nil {
		if _, err := parseLevel(*s.LogLevel); err != nil {
			return c, fmt.Errorf("read pelato settings: %w", err)
		}
		c.LogLevel = *s.LogLevel
	}
	if s.LatticeChecks != nil {
		c.LatticeChecks = *s.LatticeChecks
	}
	if s.NATSURL != nil {
		c.NATSURL = strings.TrimSpace(*s.NATSURL)
	}
	if s.Lattice != nil {
		l := strings.TrimSpace(*s.Lattice)
		if strings.ContainsAny(l, ".*> \t") {
			return c, fmt.Errorf("read pelato settings: lattice %q is not a lattice name (one NATS subject token)", l)
		}
		c.Lattice = l
	}
	return c, nil
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
