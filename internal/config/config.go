// Package config loads pelato's settings from, in order of precedence, command-line
// flags, the environment, and the project's .env file. The names are the original
// PELATO's (REGISTRY_URL, PARALLEL_BUILD, NATS_HOST, ...) plus pelato's own.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pelato-dev/pelato/internal/userfile"
)

// Setting describes one setting.
type Setting struct {
	Name        string // the environment / .env name
	Default     string
	Secret      bool // never printed
	Description string
	// NotFromDotEnv marks a setting that chooses what runs on the user's machine
	// (which image, with what network and limits): only a flag or the user's
	// environment sets it, never a project's .env, which comes with a cloned
	// project. Load ignores it there and says so (Config.Ignored).
	NotFromDotEnv bool
}

// settings lists every setting pelato reads, in documentation order.
var settings = []Setting{
	{Name: "REGISTRY_URL", Description: "OCI registry (host[:port][/path]) that components are pushed to and pulled from"},
	{Name: "REGISTRY_USER", Description: "registry user name (the Docker credential store is used first)"},
	{Name: "REGISTRY_PASSWORD", Secret: true, Description: "registry password or token"},
	{Name: "PARALLEL_BUILD", Default: "True", Description: "build components in parallel (True/False)"},
	{Name: "NATS_HOST", Default: "localhost", Description: "NATS server host for deploys"},
	{Name: "NATS_PORT", Default: "4222", Description: "NATS server port for deploys"},
	{Name: "ENABLE_METRICS", Default: "False", Description: "append timings of each run to metrics.yaml (True/False)"},
	{Name: "NATS_URL", Description: "NATS server URL(s), comma-separated; overrides NATS_HOST/NATS_PORT"},
	{Name: "NATS_CREDS", Description: "NATS credentials file"},
	{Name: "NATS_TLS_CA", Description: "CA certificate file for NATS over TLS"},
	{Name: "LATTICE", Default: "default", Description: "older name of WASMCLOUD_LATTICE, still read (the one given with higher precedence wins)"},
	{Name: "PELATO_BUILDER", Default: "docker", NotFromDotEnv: true, Description: "how components are built: docker (a container of the builder image) or local (TinyGo and wasm-tools on PATH, no Docker); flag or environment only, never .env"},
	{Name: "PELATO_BUILDER_IMAGE", NotFromDotEnv: true, Description: "Docker image to build components with; pelato never builds or rebuilds it (default: pelato's builder image, built from templates/builder/Dockerfile on demand); flag or environment only, never .env"},
	{Name: "JOBS", Description: "maximum parallel builds (default: number of CPUs)"},
	{Name: "PELATO_BUILD_NETWORK", Default: "bridge", NotFromDotEnv: true, Description: "Docker network mode of build containers: bridge (own network namespace), host (the host's network, starts faster, reaches the host's loopback services) or none; flag or environment only, never .env"},
	{Name: "PELATO_BUILD_MEMORY", Default: "4GiB", NotFromDotEnv: true, Description: "memory bound of each build container (e.g. 4GiB; 0 for no bound); flag or environment only, never .env"},
	{Name: "PELATO_BUILD_PIDS", Default: "4096", NotFromDotEnv: true, Description: "bound on the processes and threads of each build container (0 for no bound); flag or environment only, never .env"},
	{Name: "PELATO_TINYGO_VERSION", NotFromDotEnv: true, Description: "TinyGo version of pelato's builder image (default: the Dockerfile's pin, 0.42.0); flag or environment only, never .env"},
	{Name: "PELATO_WASM_TOOLS_VERSION", NotFromDotEnv: true, Description: "wasm-tools version of pelato's builder image (default: the Dockerfile's pin, 1.258.0); flag or environment only, never .env"},
	// The local runtime's compile cache (pelato cache).
	{Name: "CACHE_MAX_SIZE", Default: "512MiB", Description: "most the compile cache of pelato invoke may hold (e.g. 512MiB, 2GB; 0 for no bound)"},
	{Name: "CACHE_MAX_AGE", Default: "30d", Description: "compiled tasks unused for longer are removed from the cache (e.g. 30d, 12h; 0 for no bound)"},

	// The lattice connection of deploy, remove, status and the language server's lattice
	// checks (NATS_HOST, NATS_PORT, NATS_URL, NATS_CREDS and NATS_TLS_CA above too); read
	// through NATS() and Lattice().
	{Name: "WASMCLOUD_LATTICE", Default: "default", Description: "wasmCloud lattice name (wasmCloud's own variable; LATTICE is an older alias)"},
	{Name: "NATS_USER", Description: "NATS user name (with NATS_PASSWORD)"},
	{Name: "NATS_PASSWORD", Secret: true, Description: "NATS password"},
	{Name: "NATS_TOKEN", Secret: true, Description: "NATS authentication token (instead of a user, a password or a credentials file)"},
	{Name: "NATS_TLS_CERT", Description: "client certificate file for NATS over TLS (with NATS_TLS_KEY)"},
	{Name: "NATS_TLS_KEY", Description: "private key file of NATS_TLS_CERT"},
	{Name: "NATS_TIMEOUT", Default: "5s", Description: "time-out of one request to wadm or the NATS server (e.g. 5s, 500ms; a plain number is seconds)"},
}

// All returns the settings pelato reads.
func All() []Setting { return append([]Setting(nil), settings...) }

// Source says where a value came from.
type Source string

// The sources, by precedence.
const (
	FromFlag    Source = "flag"
	FromEnv     Source = "environment"
	FromDotEnv  Source = ".env"
	FromDefault Source = "default"
)

// Value is a setting's resolved value.
type Value struct {
	Value  string
	Source Source
}

// Config holds resolved settings.
type Config struct {
	values  map[string]Value
	ignored []string
}

// Loader gathers the inputs of Load.
type Loader struct {
	// Dir is the project folder whose .env is read (absent is fine).
	Dir string
	// Flags are values given on the command line, by setting name.
	Flags map[string]string
	// Getenv looks a name up in the environment; nil means os.LookupEnv.
	Getenv func(string) (string, bool)
}

// Load resolves every setting. A malformed .env is an error naming file and line.
func (l Loader) Load() (*Config, error) {
	getenv := l.Getenv
	if getenv == nil {
		getenv = os.LookupEnv
	}
	dotenv := map[string]string{}
	if l.Dir != "" {
		path := filepath.Join(l.Dir, ".env")
		data, err := userfile.Read(path, MaxDotEnvSize)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read settings: %w", err)
		default:
			if dotenv, err = ParseDotEnv(path, data); err != nil {
				return nil, err
			}
		}
	}
	c := &Config{values: map[string]Value{}}
	for _, s := range settings {
		if v, ok := dotenv[s.Name]; ok && s.NotFromDotEnv {
			if v != "" {
				c.ignored = append(c.ignored, IgnoredMessage(s.Name))
			}
			delete(dotenv, s.Name)
		}
		if v, ok := l.Flags[s.Name]; ok {
			c.values[s.Name] = Value{v, FromFlag}
		} else if v, ok := getenv(s.Name); ok && v != "" {
			c.values[s.Name] = Value{v, FromEnv}
		} else if v, ok := dotenv[s.Name]; ok && v != "" {
			c.values[s.Name] = Value{v, FromDotEnv}
		} else {
			c.values[s.Name] = Value{s.Default, FromDefault}
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if err := c.validateNATSTogether(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) validate() error {
	for _, name := range []string{"PARALLEL_BUILD", "ENABLE_METRICS"} {
		if _, err := parseBool(c.values[name].Value); err != nil {
			return fmt.Errorf("%s (from %s): %w", name, c.values[name].Source, err)
		}
	}
	if v := c.values["NATS_PORT"]; v.Value != "" {
		if p, err := strconv.Atoi(v.Value); err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("NATS_PORT (from %s) is %q; expected a port from 1 to 65535", v.Source, v.Value)
		}
	}
	if err := c.validateCache(); err != nil {
		return err
	}
	if v := c.values["REGISTRY_URL"]; v.Value != "" {
		if err := ValidateRegistry(v.Value); err != nil {
			return fmt.Errorf("REGISTRY_URL (from %s): %w", v.Source, err)
		}
	}
	if v := c.values["PELATO_BUILD_NETWORK"]; v.Value != "" {
		switch v.Value {
		case "bridge", "host", "none":
		default:
			return fmt.Errorf("PELATO_BUILD_NETWORK (from %s) is %q; expected bridge (the default), host or none", v.Source, v.Value)
		}
	}
	if v := c.values["PELATO_BUILD_MEMORY"]; v.Value != "" {
		if n, err := ParseSize(v.Value); err != nil {
			return fmt.Errorf("PELATO_BUILD_MEMORY (from %s): %w", v.Source, err)
		} else if n > 0 && n < 64<<20 {
			return fmt.Errorf("PELATO_BUILD_MEMORY (from %s) is %q; a build needs at least 64MiB (0 for no bound)", v.Source, v.Value)
		}
	}
	if v := c.values["PELATO_BUILD_PIDS"]; v.Value != "" {
		if n, err := strconv.ParseInt(v.Value, 10, 64); err != nil || n < 0 || (n > 0 && n < 16) {
			return fmt.Errorf("PELATO_BUILD_PIDS (from %s) is %q; expected a whole number of at least 16, or 0 for no bound", v.Source, v.Value)
		}
	}
	for _, name := range []string{"PELATO_TINYGO_VERSION", "PELATO_WASM_TOOLS_VERSION"} {
		if v := c.values[name]; v.Value != "" && !releaseVersion.MatchString(v.Value) {
			return fmt.Errorf("%s (from %s) is %q; expected a release version like 0.42.0", name, v.Source, v.Value)
		}
	}
	if v := c.values["JOBS"]; v.Value != "" {
		if n, err := strconv.Atoi(v.Value); err != nil || n < 1 {
			return fmt.Errorf("JOBS (from %s) is %q; expected a whole number of at least 1", v.Source, v.Value)
		}
	}
	return c.validateNATS()
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off", "":
		return false, nil
	}
	return false, fmt.Errorf("%q is not True or False", s)
}

// IgnoredMessage says why a NotFromDotEnv setting found in .env is ignored.
func IgnoredMessage(name string) string {
	return fmt.Sprintf("%s in .env is ignored: it chooses what runs on your machine, so only a flag or your environment sets it (a cloned project's .env must not)", name)
}

// Ignored lists, one message each, the settings of .env that Load ignored because
// only a flag or the environment may set them.
func (c *Config) Ignored() []string { return append([]string(nil), c.ignored...) }

// BuildLimits returns PELATO_BUILD_MEMORY in bytes and PELATO_BUILD_PIDS (validated
// by Load); -1 means no bound (the setting is 0).
func (c *Config) BuildLimits() (memory, pids int64) {
	memory, _ = ParseSize(c.Get("PELATO_BUILD_MEMORY"))
	pids, _ = strconv.ParseInt(c.Get("PELATO_BUILD_PIDS"), 10, 64)
	if pids == 0 {
		pids = -1
	}
	return memory, pids
}

// Get returns a setting's value ("" when unset).
func (c *Config) Get(name string) string { return c.values[name].Value }

// Lookup returns a setting's value and source.
func (c *Config) Lookup(name string) Value { return c.values[name] }

// Bool returns a boolean setting (validated by Load).
func (c *Config) Bool(name string) bool {
	b, _ := parseBool(c.values[name].Value)
	return b
}

// Jobs returns how many builds may run at once: 1 when PARALLEL_BUILD is False, JOBS
// when set, else the number of CPUs.
func (c *Config) Jobs() int {
	if !c.Bool("PARALLEL_BUILD") {
		return 1
	}
	if n, err := strconv.Atoi(c.Get("JOBS")); err == nil && n > 0 {
		return n
	}
	return runtime.NumCPU()
}

// NATSURL returns the NATS URL: NATS_URL, else nats://NATS_HOST:NATS_PORT.
func (c *Config) NATSURL() string {
	if u := c.Get("NATS_URL"); u != "" {
		return u
	}
	return "nats://" + net.JoinHostPort(c.Get("NATS_HOST"), c.Get("NATS_PORT")) // [::1]:4222 for IPv6
}

// Describe lists settings as `NAME=value (source)` lines, secrets masked and the
// user information of URLs redacted.
func (c *Config) Describe() []string {
	var out []string
	for _, s := range settings {
		v := c.values[s.Name]
		shown := v.Value
		if s.Secret && shown != "" {
			shown = "********"
		}
		shown = RedactURL(shown)
		out = append(out, fmt.Sprintf("%s=%s (%s)", s.Name, shown, v.Source))
	}
	return out
}

// releaseVersion is a tool's release version: 0.42.0.
var releaseVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// MaxDotEnvSize is the largest .env file pelato reads.
const MaxDotEnvSize = 1 << 20

// ParseDotEnv parses a .env file: `NAME=value` lines, `export ` prefixes, `#` comments,
// single- or double-quoted values. A line it cannot read is an error naming the file,
// the line and the kind of problem — never the line's content: .env holds secrets,
// and a .env that is a link to another file (a credentials file) must not have it
// printed.
func ParseDotEnv(path string, data []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 1
	for ; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if problem := dotEnvNameProblem(name, ok); problem != "" {
			return nil, fmt.Errorf("%s:%d:1: %s; expected NAME=value (the line is not shown: it may hold a secret)", path, n, problem)
		}
		value = strings.TrimSpace(value)
		switch {
		case len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"':
			uq, err := strconv.Unquote(value)
			if err != nil {
				return nil, fmt.Errorf("%s:%d:%d: the double-quoted value of %s is not a valid quoted string (an unknown escape such as \\q, or an unescaped \" inside)", path, n, len(name)+2, name)
			}
			value = uq
		case len(value) >= 2 && value[0] == '\'' && value[len(value)-1] == '\'':
			value = value[1 : len(value)-1]
		default:
			if i := strings.Index(value, " #"); i >= 0 {
				value = strings.TrimSpace(value[:i])
			}
		}
		out[name] = value
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d:1: the line is longer than 1 MiB; a .env line is NAME=value", path, n)
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// dotEnvNameProblem says what is wrong with the NAME part of a .env line, or "".
// hasEquals reports whether the line has an `=`. It describes, never quotes.
func dotEnvNameProblem(name string, hasEquals bool) string {
	switch {
	case !hasEquals:
		return "the line has no `=`"
	case name == "":
		return "the line has no name before `=`"
	case strings.ContainsAny(name, " \t"):
		return "the name before `=` contains white space"
	case strings.ContainsAny(name, "\"'"):
		return "the name before `=` contains a quote"
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return "the name before `=` contains a control character or invalid UTF-8"
		}
	}
	return ""
}

// Template returns the content of a .env.template listing every setting.
func Template() string {
	var b strings.Builder
	b.WriteString("# pelato settings: copy to .env and fill in. Flags and the environment take precedence.\n")
	for _, s := range settings {
		if s.NotFromDotEnv {
			continue // .env cannot set it: it would be ignored
		}
		fmt.Fprintf(&b, "# %s\n%s=%s\n", s.Description, s.Name, s.Default)
	}
	return b.String()
}
