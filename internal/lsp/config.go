package lsp

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pelato-dev/pelato/internal/check"
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
	// MinSeverity is the least severe diagnostic published: check.Hint (all, the
	// default), check.Info, check.Warning or check.Error. Clients that show hints as
	// warnings (Vim's ALE) hide them with "warning".
	MinSeverity check.Severity
}

// DefaultConfig returns the configuration used until the client sends its own.
func DefaultConfig() Config {
	return Config{Debounce: 150 * time.Millisecond, CheckTasksOn: "change", LogLevel: "info", MinSeverity: check.Hint}
}

// settings is the wire form of the `pelato` section; absent keys leave values alone.
type settings struct {
	DebounceMs   *int    `json:"debounceMs"`
	CheckTasksOn *string `json:"checkTasksOn"`
	RegistryURL  *string `json:"registryUrl"`
	LogLevel     *string `json:"logLevel"`
	MinSeverity  *string `json:"minSeverity"`
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
