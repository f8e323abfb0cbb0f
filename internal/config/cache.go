package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// CacheLimits returns CACHE_MAX_SIZE in bytes and CACHE_MAX_AGE (validated by Load);
// -1 means no bound (the setting is 0).
func (c *Config) CacheLimits() (maxBytes int64, maxAge time.Duration) {
	maxBytes, _ = ParseSize(c.Get("CACHE_MAX_SIZE"))
	maxAge, _ = ParseAge(c.Get("CACHE_MAX_AGE"))
	return maxBytes, maxAge
}

func (c *Config) validateCache() error {
	if v := c.values["CACHE_MAX_SIZE"]; v.Value != "" {
		if _, err := ParseSize(v.Value); err != nil {
			return fmt.Errorf("CACHE_MAX_SIZE (from %s): %w", v.Source, err)
		}
	}
	if v := c.values["CACHE_MAX_AGE"]; v.Value != "" {
		if _, err := ParseAge(v.Value); err != nil {
			return fmt.Errorf("CACHE_MAX_AGE (from %s): %w", v.Source, err)
		}
	}
	return nil
}

// sizeUnits are the suffixes ParseSize accepts, longest first.
var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1},
}

// ParseSize reads a size such as 512MiB, 2GB, 300M or 1048576 (bytes). 0 means no
// bound and is returned as -1.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	factor := int64(1)
	for _, u := range sizeUnits {
		if len(t) > len(u.suffix) && strings.EqualFold(t[len(t)-len(u.suffix):], u.suffix) {
			t, factor = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.factor
			break
		}
	}
	bad := fmt.Errorf("%q is not a size; write it like 512MiB, 2GB or 0 for no bound", s)
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f*float64(factor) > 1<<62 {
		return 0, bad
	}
	if f == 0 {
		return -1, nil
	}
	n := int64(f * float64(factor))
	if n < 1 {
		return 0, bad
	}
	return n, nil
}

// ParseAge reads an age such as 30d, 12h or 90m (any Go duration, plus days). 0 means
// no bound and is returned as -1.
func ParseAge(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	bad := fmt.Errorf("%q is not an age; write it like 30d, 12h or 0 for no bound", s)
	if t == "0" {
		return -1, nil
	}
	if days, ok := strings.CutSuffix(t, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || math.IsNaN(n) || n < 0 || n > 100*365 {
			return 0, bad
		}
		if n == 0 {
			return -1, nil
		}
		if d := time.Duration(n * float64(24*time.Hour)); d > 0 {
			return d, nil
		}
		return 0, bad
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 {
		return 0, bad
	}
	if d == 0 {
		return -1, nil
	}
	return d, nil
}
