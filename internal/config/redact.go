package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// RedactURL returns text with the user information (a user name, a password, a
// token) of every URL in it replaced by REDACTED: "nats://REDACTED@host:4222". It
// takes one URL, a comma-separated list or any message that quotes URLs (an error of
// net/url or nats.go), and is the one function every message that may hold a URL
// passes through before it is printed: the CLI's errors and tables, the language
// server's messages and logs. The user information runs from the scheme to the last
// '@' before a space, a quote or a comma, so a password holding '@', '/' or '%'
// is hidden whole (a path holding '@' loses its host too: better than a password).
//
// A URL without a scheme ("user:pass@host:4222", which nats.go dials as nats://) is
// recognised when it stands alone or as an item of a comma-separated list.
func RedactURL(text string) string {
	if !strings.Contains(text, "@") {
		return text
	}
	text = userinfoRE.ReplaceAllString(text, "${1}REDACTED@")
	parts := strings.Split(text, ",")
	for i, p := range parts {
		t := strings.TrimSpace(p)
		at := strings.LastIndex(t, "@")
		if at < 0 || strings.Contains(t, "://") || strings.ContainsAny(t, " \t\n\r\f") {
			continue
		}
		parts[i] = strings.Replace(p, t, "REDACTED"+t[at:], 1)
	}
	return strings.Join(parts, ",")
}

// userinfoRE matches a scheme and what follows it up to the last '@' of the URL.
var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^\s,"'<>@]*(?:@[^\s,"'<>@]*)*@`)

// checkNATSURL checks that every URL of NATS_URL can be dialled by nats.go: it parses
// as a URL with a host. A URL that fails to parse is shown redacted and the parser's
// words are left out when the URL holds user information: they quote the part of the
// password that broke the parse ("invalid URL escape \"%zz\"").
func checkNATSURL(v Value) error {
	for _, raw := range strings.Split(v.Value, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		full := raw
		if !strings.Contains(raw, "://") {
			full = "nats://" + raw // nats.go's default scheme
		}
		u, err := url.Parse(full)
		secret := strings.Contains(raw, "@")
		shown := full
		if at := strings.LastIndex(full, "@"); at >= 0 {
			// Not RedactURL: a URL that does not parse may hold spaces or quotes.
			shown = full[:strings.Index(full, "://")+3] + "REDACTED" + full[at:]
		}
		switch {
		case err != nil && secret:
			return fmt.Errorf("NATS_URL (from %s): %s is not a valid URL; characters such as %% / ? # @ : in a user name or password must be percent-encoded (%%25 for %%), or use NATS_USER and NATS_PASSWORD", v.Source, shown)
		case err != nil:
			return fmt.Errorf("NATS_URL (from %s): %s is not a valid URL (%v)", v.Source, shown, unwrapURLError(err))
		case u.Host == "":
			return fmt.Errorf("NATS_URL (from %s): %s has no host; expected e.g. nats://host:4222", v.Source, shown)
		}
	}
	return nil
}

// unwrapURLError drops net/url's quoting of the whole URL from a parse error.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
