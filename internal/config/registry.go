package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// The grammar of a registry reference, from the OCI distribution reference grammar:
// a host (DNS labels, or an IP address; IPv6 in brackets), an optional port, and an
// optional path of lowercase repository components.
var (
	hostLabelRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	pathCompRE  = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`)
	ipv6RE      = regexp.MustCompile(`^\[[0-9a-f:.]+\]$`)
)

// ValidateRegistry checks that s is a registry reference, host[:port][/path], as
// REGISTRY_URL must be: images are named <s>/<component_name>:<version>. The error
// says what is wrong and, for a URL with a scheme, what to write instead. It never
// repeats credentials a value may carry.
func ValidateRegistry(s string) error {
	const form = "expected host[:port][/path], e.g. localhost:5000 or ghcr.io/my-org"
	if s == "" {
		return errors.New("is empty; " + form)
	}
	if len(s) > 255 {
		return fmt.Errorf("is %d characters long; %s", len(s), form)
	}
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		hint := rest
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			hint = u.Host + strings.TrimSuffix(u.Path, "/")
		}
		if strings.Contains(rest, "@") {
			return fmt.Errorf("has a scheme (%s://) and credentials; write only host[:port][/path] and give credentials with REGISTRY_USER and REGISTRY_PASSWORD (or docker login)", safeScheme(scheme))
		}
		return fmt.Errorf("has a scheme (%s://); write it without a scheme, as host[:port][/path]: %s", safeScheme(scheme), hint)
	}
	if strings.Contains(s, "@") {
		return errors.New("contains `@` (credentials?); write only host[:port][/path] and give credentials with REGISTRY_USER and REGISTRY_PASSWORD (or docker login)")
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r >= 0x80 }); i >= 0 {
		return fmt.Errorf("contains white space, a control character or a non-ASCII character at byte %d; %s", i+1, form)
	}
	if i := strings.IndexAny(s, "#?&%;,\\\"'`*"); i >= 0 {
		return fmt.Errorf("contains %q, which no registry reference has; %s", s[i], form)
	}
	if low := strings.ToLower(s); low != s {
		return fmt.Errorf("has upper-case letters; image references are lowercase: %s", low)
	}
	hostport, path, _ := strings.Cut(strings.TrimSuffix(s, "/"), "/")
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		if end := strings.Index(hostport, "]"); end >= 0 {
			host, port = hostport[:end+1], strings.TrimPrefix(hostport[end+1:], ":")
			if port == "" && strings.HasSuffix(hostport, ":") {
				return errors.New("ends its host with `:` but gives no port; " + form)
			}
		}
	} else if h, p, ok := strings.Cut(hostport, ":"); ok {
		host, port = h, p
		if port == "" {
			return errors.New("has `:` after the host but no port; " + form)
		}
	}
	switch {
	case host == "":
		return errors.New("has no host; " + form)
	case strings.HasPrefix(host, "["):
		if !ipv6RE.MatchString(host) {
			return fmt.Errorf("host %s is not an IPv6 address in brackets; %s", host, form)
		}
	default:
		for _, label := range strings.Split(host, ".") {
			if !hostLabelRE.MatchString(label) {
				return fmt.Errorf("host %s is not a valid host name (letters, digits and `-` in dot-separated labels); %s", host, form)
			}
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return fmt.Errorf("port %s is not a port number from 1 to 65535; %s", port, form)
		}
	}
	if path != "" {
		for _, c := range strings.Split(path, "/") {
			if !pathCompRE.MatchString(c) {
				return fmt.Errorf("path component %q is not valid: use lowercase letters and digits, separated by `.`, `_`, `__` or dashes; %s", c, form)
			}
		}
	}
	return nil
}

// safeScheme returns the scheme for a message when it looks like one, else "a".
func safeScheme(s string) string {
	if regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]{0,15}$`).MatchString(s) {
		return s
	}
	return "a scheme"
}
