package config

import (
	"testing"
	"time"
)

func TestParseSizeAndAge(t *testing.T) {
	for s, want := range map[string]int64{"512MiB": 512 << 20, "2GB": 2e9, "300M": 300 << 20, "1048576": 1 << 20, " 1.5 GiB ": 3 << 29, "0": -1, "0MB": -1, "10kib": 10 << 10} {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "big", "-1MB", "5PB", "MiB"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) accepted", s)
		}
	}
	for s, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "12h": 12 * time.Hour, "90m": 90 * time.Minute, "0": -1, "0d": -1, "1.5d": 36 * time.Hour} {
		if got, err := ParseAge(s); err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "soon", "-1h", "3w"} {
		if _, err := ParseAge(s); err == nil {
			t.Errorf("ParseAge(%q) accepted", s)
		}
	}
	c, err := Loader{Getenv: env(map[string]string{"CACHE_MAX_SIZE": "1GiB", "CACHE_MAX_AGE": "7d"})}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if b, a := c.CacheLimits(); b != 1<<30 || a != 7*24*time.Hour {
		t.Errorf("CacheLimits = %d, %v", b, a)
	}
	if _, err := (Loader{Getenv: env(map[string]string{"CACHE_MAX_SIZE": "lots"})}).Load(); err == nil {
		t.Error("a bad CACHE_MAX_SIZE was accepted")
	}
	if err := CheckValue("CACHE_MAX_AGE", "forever"); err == nil {
		t.Error("CheckValue accepted a bad CACHE_MAX_AGE")
	}
}

// FuzzParseSizeAndAge: no input panics; accepted sizes and ages are -1 or positive.
func FuzzParseSizeAndAge(f *testing.F) {
	for _, s := range []string{"512MiB", "0", "1.5GiB", "30d", "12h", "-1", "1e400GB", "NaN", "Infd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseSize(s); err == nil && n != -1 && n <= 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		if d, err := ParseAge(s); err == nil && d != -1 && d <= 0 {
			t.Fatalf("ParseAge(%q) = %v", s, d)
		}
	})
}
