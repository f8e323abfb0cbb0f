package config

import (
	"bytes"
	"strings"
)

// Entry is one `NAME=value` line of a .env file, located for diagnostics.
type Entry struct {
	// Name is the setting's name as written.
	Name string
	// Line is the 1-based line of the entry.
	Line int
	// NameStart and NameEnd are the byte offsets of Name in the file's content.
	NameStart, NameEnd int
	// Value is the value as pelato reads it (quotes removed); ValueOK is false when the
	// line cannot be read as a setting (ParseDotEnv reports why).
	Value   string
	ValueOK bool
}

// DotEnvEntries lists the settings a .env file's content sets, in order, with their
// positions. Lines ParseDotEnv would refuse are left out; comments and blank lines
// are skipped.
func DotEnvEntries(data []byte) []Entry {
	var out []Entry
	off := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		off = 3
	}
	for n := 1; off < len(data); n++ {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data) - off
		}
		line := data[off : off+end]
		start := off
		off += end + 1

		text := strings.TrimRight(string(line), "\r")
		trimmed := strings.TrimLeft(text, " \t")
		lead := len(text) - len(trimmed)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(trimmed, "export "); ok {
			lead += len(trimmed) - len(rest)
			trimmed = rest
		}
		name, _, ok := strings.Cut(trimmed, "=")
		name = strings.TrimRight(name, " \t")
		if !ok || name == "" || strings.ContainsAny(name, " \t\"'") {
			continue
		}
		e := Entry{Name: name, Line: n, NameStart: start + lead, NameEnd: start + lead + len(name)}
		if m, err := ParseDotEnv(".env", []byte(trimmed)); err == nil {
			e.Value, e.ValueOK = m[name], true
		}
		out = append(out, e)
	}
	return out
}

// Names returns the names of every setting pelato reads.
func Names() []string {
	out := make([]string, len(settings))
	for i, s := range settings {
		out[i] = s.Name
	}
	return out
}

// Lookup returns the setting called name.
func Lookup(name string) (Setting, bool) {
	for _, s := range settings {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// CheckValue reports whether value is acceptable for the setting name, with the
// reason Load would give when it is not. An empty value means unset and is accepted.
func CheckValue(name, value string) error {
	if value == "" {
		return nil
	}
	c := &Config{values: map[string]Value{}}
	for _, s := range settings {
		c.values[s.Name] = Value{s.Default, FromDefault}
	}
	c.values[name] = Value{value, FromDotEnv}
	return c.validate()
}
