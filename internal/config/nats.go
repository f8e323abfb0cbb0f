package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// NATS holds the connection settings of the wasmCloud lattice, resolved from the
// settings table: the one place deploy, remove, status and the language server read
// them from.
type NATS struct {
	// URL is NATS_URL, else nats://NATS_HOST:NATS_PORT; several URLs are comma-separated.
	URL string
	// Lattice is WASMCLOUD_LATTICE (or its older alias LATTICE).
	Lattice string
	// Creds is the credentials file (NATS_CREDS).
	Creds string
	// User and Password authenticate with a user name (NATS_USER, NATS_PASSWORD).
	User, Password string
	// Token authenticates with a token (NATS_TOKEN).
	Token string
	// TLSCA is a CA certificate file that verifies the server (NATS_TLS_CA).
	TLSCA string
	// TLSCert and TLSKey are the client certificate and its key (NATS_TLS_CERT, NATS_TLS_KEY).
	TLSCert, TLSKey string
	// Timeout bounds one request (NATS_TIMEOUT).
	Timeout time.Duration
}

// NATS returns the lattice connection settings (validated by Load).
func (c *Config) NATS() NATS {
	timeout, _ := parseTimeout(c.Get("NATS_TIMEOUT"))
	return NATS{
		URL:      c.NATSURL(),
		Lattice:  c.Lattice(),
		Creds:    c.Get("NATS_CREDS"),
		User:     c.Get("NATS_USER"),
		Password: c.Get("NATS_PASSWORD"),
		Token:    c.Get("NATS_TOKEN"),
		TLSCA:    c.Get("NATS_TLS_CA"),
		TLSCert:  c.Get("NATS_TLS_CERT"),
		TLSKey:   c.Get("NATS_TLS_KEY"),
		Timeout:  timeout,
	}
}

// Lattice returns the lattice name: WASMCLOUD_LATTICE or LATTICE, whichever was given
// with the higher precedence (flag, environment, .env), else "default". Load refuses
// the two given at the same precedence with different values.
func (c *Config) Lattice() string {
	return c.latticeValue().Value
}

// latticeValue picks between WASMCLOUD_LATTICE and its alias LATTICE.
func (c *Config) latticeValue() Value {
	w, l := c.values["WASMCLOUD_LATTICE"], c.values["LATTICE"]
	if rank(l.Source) > rank(w.Source) {
		return l
	}
	return w
}

// rank orders sources by precedence.
func rank(s Source) int {
	switch s {
	case FromFlag:
		return 3
	case FromEnv:
		return 2
	case FromDotEnv:
		return 1
	}
	return 0
}

// parseTimeout reads NATS_TIMEOUT: a Go duration or a number of seconds.
func parseTimeout(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

// validateNATS checks each lattice setting's value on its own (so CheckValue, which
// sees one setting at a time, can use it); validateNATSTogether checks how they
// combine.
func (c *Config) validateNATS() error {
	for _, name := range []string{"WASMCLOUD_LATTICE", "LATTICE"} {
		if v := c.values[name]; v.Value == "" || strings.ContainsAny(v.Value, ".*> \t\r\n") {
			return fmt.Errorf("%s (from %s) is %q; a lattice name is one NATS subject token: no dots, spaces, '*' or '>'", name, v.Source, v.Value)
		}
	}
	if v := c.values["NATS_URL"]; v.Value != "" {
		if err := checkNATSURL(v); err != nil {
			return err
		}
	}
	if v := c.values["NATS_TIMEOUT"]; v.Value != "" {
		if d, err := parseTimeout(v.Value); err != nil || d <= 0 {
			return fmt.Errorf("NATS_TIMEOUT (from %s) is %q; expected a positive duration such as 5s or 500ms", v.Source, v.Value)
		}
	}
	return nil
}

// validateNATSTogether checks the lattice settings that must agree with each other:
// the lattice's two names, a certificate and its key, a user and a password, one way
// to authenticate. Load runs it; CheckValue, which sees one setting, does not.
func (c *Config) validateNATSTogether() error {
	w, l := c.values["WASMCLOUD_LATTICE"], c.values["LATTICE"]
	if rank(w.Source) == rank(l.Source) && rank(w.Source) > 0 && w.Value != l.Value {
		return fmt.Errorf("WASMCLOUD_LATTICE is %q and LATTICE is %q (both from %s); LATTICE is the older name of WASMCLOUD_LATTICE: keep one", w.Value, l.Value, w.Source)
	}
	cert, key := c.values["NATS_TLS_CERT"], c.values["NATS_TLS_KEY"]
	if (cert.Value == "") != (key.Value == "") {
		return fmt.Errorf("NATS_TLS_CERT and NATS_TLS_KEY go together: set both (a client certificate and its key) or neither")
	}
	user, pass := c.values["NATS_USER"], c.values["NATS_PASSWORD"]
	if user.Value == "" && pass.Value != "" {
		return fmt.Errorf("NATS_PASSWORD (from %s) is set without NATS_USER; set the user name too", pass.Source)
	}
	var ways []string
	if c.values["NATS_CREDS"].Value != "" {
		ways = append(ways, "NATS_CREDS")
	}
	if user.Value != "" {
		ways = append(ways, "NATS_USER")
	}
	if c.values["NATS_TOKEN"].Value != "" {
		ways = append(ways, "NATS_TOKEN")
	}
	if len(ways) > 1 {
		return fmt.Errorf("%s are all set; NATS authenticates one way: keep one of them", strings.Join(ways, " and "))
	}
	return nil
}
