package config

import (
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://localhost:4222":                     "nats://localhost:4222",
		"nats://u:p@h:1,tls://t@h2:2":               "nats://REDACTED@h:1,tls://REDACTED@h2:2",
		"nats://user:pa%zz@h:1":                     "nats://REDACTED@h:1",
		"user:pass@host:4222":                       "REDACTED@host:4222",
		"nats://a:4222, nats://b:4222":              "nats://a:4222, nats://b:4222",
		"nats://a:4222, u:p@b:4222":                 "nats://a:4222, REDACTED@b:4222",
		"wss://x:y@example.test/ws":                 "wss://REDACTED@example.test/ws",
		"nats://only-host-no-port-credentials@h:42": "nats://REDACTED@h:42",
		"nats://u:p@ss/w@rd@h:1":                    "nats://REDACTED@h:1",
		// Messages quoting URLs, as net/url and nats.go write them.
		`parse "nats://u:s3cret%zz@h:4222": invalid URL escape "%zz"`:                       `parse "nats://REDACTED@h:4222": invalid URL escape "%zz"`,
		"NATS at nats://REDACTED@h:1: cannot reach the server (dial nats://u:p@h:1 failed)": "NATS at nats://REDACTED@h:1: cannot reach the server (dial nats://REDACTED@h:1 failed)",
		"check NATS_USER (alice) and NATS_PASSWORD":                                         "check NATS_USER (alice) and NATS_PASSWORD",
		"mail bob@example.test about it":                                                    "mail bob@example.test about it",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}

// FuzzRedactURL checks that a password between a URL's scheme and its last '@' never
// survives redaction, alone, in a list or quoted in a message.
func FuzzRedactURL(f *testing.F) {
	f.Add("nats://user:secret@host:4222")
	f.Add("nats://a:4222,tls://u:secret@b:4443")
	f.Add("secret@host")
	f.Add(`parse "nats://u:secret%zz@h": invalid URL escape "%zz"`)
	f.Fuzz(func(t *testing.T, u string) {
		if strings.Count(u, "secret") != 1 {
			return
		}
		i := strings.Index(u, "secret")
		// The URL holding "secret": the run of characters around it up to a delimiter.
		start := strings.LastIndexAny(u[:i], " \t\n\r\f\",'<>") + 1
		end := len(u)
		if j := strings.IndexAny(u[i:], " \t\n\r\f\",'<>"); j >= 0 {
			end = i + j
		}
		url := u[start:end]
		at := strings.LastIndex(url, "@")
		scheme := strings.Index(url, "://")
		switch {
		case at < i-start:
			return // no '@' after it: not user information
		case scheme >= 0 && scheme+3 <= i-start && userinfoRE.FindStringIndex(url) != nil && userinfoRE.FindStringIndex(url)[0] == 0:
		case scheme < 0 && start == 0 && end == len(u):
		default:
			return // not in a URL's user information as RedactURL recognises it
		}
		if got := RedactURL(u); strings.Contains(got, "secret") {
			t.Fatalf("RedactURL(%q) = %q", u, got)
		}
	})
}

// TestNATSURLParseErrorRedacted: a NATS_URL whose password breaks the URL parser is
// refused at Load with the URL redacted and without the parser's words, which quote
// the broken part of the password (issue 18.3).
func TestNATSURLParseErrorRedacted(t *testing.T) {
	for _, u := range []string{
		"nats://deployer:s3cr%zzet@nats.example:4222",
		"nats://deployer:s3cr et@nats.example:4222",
		"nats://a:4222,tls://deployer:s3cr\x7fet@nats.example:4443",
		"deployer:s3cr%zzet@nats.example:4222",
	} {
		for _, l := range []Loader{
			{Getenv: env(map[string]string{"NATS_URL": u})},
			{Flags: map[string]string{"NATS_URL": u}, Getenv: env(nil)},
		} {
			_, err := l.Load()
			if err == nil {
				t.Fatalf("NATS_URL=%q accepted", u)
			}
			msg := err.Error()
			if strings.Contains(msg, "s3cr") || strings.Contains(msg, "et@") || !strings.Contains(msg, "REDACTED@nats.example") || !strings.Contains(msg, "NATS_URL") {
				t.Errorf("NATS_URL=%q: %s", u, msg)
			}
		}
		if err := CheckValue("NATS_URL", u); err == nil || strings.Contains(err.Error(), "s3cr") {
			t.Errorf("CheckValue(NATS_URL, %q) = %v", u, err)
		}
	}
	if _, err := (Loader{Getenv: env(map[string]string{"NATS_URL": "nats://host:4222/%zz"})}).Load(); err == nil || !strings.Contains(err.Error(), "%zz") {
		t.Errorf("a URL without user information keeps the parser's words: %v", err)
	}
	if _, err := (Loader{Getenv: env(map[string]string{"NATS_URL": "nats://u:p@h:4222, tls://h2:4443"})}).Load(); err != nil {
		t.Errorf("valid URLs refused: %v", err)
	}
	c, err := Loader{Getenv: env(map[string]string{"NATS_URL": "nats://deployer:hunter2@h:4222"})}.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range c.Describe() {
		if strings.Contains(l, "hunter2") {
			t.Errorf("Describe prints the password: %s", l)
		}
	}
}
