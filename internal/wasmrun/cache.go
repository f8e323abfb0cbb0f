package wasmrun

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The compile cache is bounded: after every new build the oldest entries are removed
// until it fits. An entry's age is the time it was last used (a cached module is
// touched on every hit; wazero's native code counts from when it was compiled).
const (
	// DefaultCacheMaxBytes is the size the compile cache is trimmed to by default.
	DefaultCacheMaxBytes = 512 << 20
	// DefaultCacheMaxAge is how long an unused entry is kept by default.
	DefaultCacheMaxAge = 30 * 24 * time.Hour
)

// CacheLimits bound the compile cache under a cache root: its compiled modules (wasm/)
// and wazero's native code (wazero/). Zero fields mean the defaults; a negative field
// means no bound.
type CacheLimits struct {
	// MaxBytes is the most the two folders may hold together.
	MaxBytes int64
	// MaxAge removes entries unused for longer.
	MaxAge time.Duration
}

// withDefaults returns l with zero fields set to the defaults.
func (l CacheLimits) withDefaults() CacheLimits {
	if l.MaxBytes == 0 {
		l.MaxBytes = DefaultCacheMaxBytes
	}
	if l.MaxAge == 0 {
		l.MaxAge = DefaultCacheMaxAge
	}
	return l
}

// cacheParts are the folders of a cache root that hold the compile cache, with the
// names reports give them. Anything else under the root (a local runtime's state, for
// one) is not the compile cache's to count or remove.
var cacheParts = []struct{ name, dir string }{
	{"modules", "wasm"},
	{"native code", "wazero"},
}

// recentlyWritten protects entries written moments ago (by this process or another
// one compiling at the same time) from a trim.
const recentlyWritten = 10 * time.Second

// DefaultCacheDir returns the default cache root, os.UserCacheDir()/pelato.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("wasmrun: locating the user cache folder (set a cache folder explicitly): %w", err)
	}
	return filepath.Join(dir, "pelato"), nil
}

// CachePart is the usage of one folder of the compile cache.
type CachePart struct {
	Name    string `json:"name"`
	Dir     string `json:"dir"`
	Entries int    `json:"entries"`
	Bytes   int64  `json:"bytes"`
}

// CacheUsage is what the compile cache under a root holds.
type CacheUsage struct {
	Dir     string      `json:"dir"`
	Entries int         `json:"entries"`
	Bytes   int64       `json:"bytes"`
	Parts   []CachePart `json:"parts"`
}

// cacheEntry is one file of the compile cache.
type cacheEntry struct {
	path  string
	size  int64
	mtime time.Time
	temp  bool // an unfinished write
}

// cacheEntries lists the files of the compile cache under root, by part.
func cacheEntries(root string) (map[string][]cacheEntry, error) {
	out := map[string][]cacheEntry{}
	for _, p := range cacheParts {
		dir := filepath.Join(root, p.dir)
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil // removed meanwhile
			}
			name := d.Name()
			temp := strings.HasPrefix(name, ".tmp-") || strings.HasSuffix(name, ".tmp")
			out[p.name] = append(out[p.name], cacheEntry{path: path, size: info.Size(), mtime: info.ModTime(), temp: temp})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("wasmrun: reading the compile cache: %w", err)
		}
	}
	return out, nil
}

// ReadCacheUsage reports what the compile cache under root holds.
func ReadCacheUsage(root string) (CacheUsage, error) {
	u := CacheUsage{Dir: root, Parts: []CachePart{}}
	entries, err := cacheEntries(root)
	if err != nil {
		return u, err
	}
	for _, p := range cacheParts {
		part := CachePart{Name: p.name, Dir: filepath.Join(root, p.dir)}
		for _, e := range entries[p.name] {
			part.Entries++
			part.Bytes += e.size
		}
		u.Entries += part.Entries
		u.Bytes += part.Bytes
		u.Parts = append(u.Parts, part)
	}
	return u, nil
}

// TrimCache removes from the compile cache under root the entries unused for longer
// than limits.MaxAge, then the least recently used ones until it holds at most 90 %
// of limits.MaxBytes (so that not every build trims again), and unfinished writes
// older than an hour. Entries written in the last few seconds stay. It returns how
// many files it removed and how many bytes that freed.
func TrimCache(root string, limits CacheLimits, now time.Time) (removed int, freed int64, err error) {
	limits = limits.withDefaults()
	byPart, err := cacheEntries(root)
	if err != nil {
		return 0, 0, err
	}
	var all []cacheEntry
	var total int64
	for _, es := range byPart {
		all = append(all, es...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mtime.Before(all[j].mtime) })
	for _, e := range all {
		total += e.size
	}
	remove := func(e cacheEntry) {
		if rmErr := os.Remove(e.path); rmErr == nil {
			removed++
			freed += e.size
			total -= e.size
		} else if !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("wasmrun: trimming the compile cache: %w", rmErr)
		}
	}
	var kept []cacheEntry
	for _, e := range all {
		age := now.Sub(e.mtime)
		switch {
		case age < recentlyWritten:
		case e.temp && age > time.Hour:
			remove(e)
			continue
		case !e.temp && limits.MaxAge > 0 && age > limits.MaxAge:
			remove(e)
			continue
		}
		kept = append(kept, e)
	}
	if limits.MaxBytes > 0 && total > limits.MaxBytes {
		// Over the bound: the least recently used go first, down to the target.
		target := limits.MaxBytes / 10 * 9
		for _, e := range kept {
			if total <= target {
				break
			}
			if !e.temp && now.Sub(e.mtime) >= recentlyWritten {
				remove(e)
			}
		}
	}
	return removed, freed, err
}

// CleanCache removes the whole compile cache under root (its modules and native code;
// nothing else under root) and returns how many files and bytes it removed.
func CleanCache(root string) (removed int, freed int64, err error) {
	u, err := ReadCacheUsage(root)
	if err != nil {
		return 0, 0, err
	}
	for _, p := range u.Parts {
		if rmErr := os.RemoveAll(p.Dir); rmErr != nil {
			return removed, freed, fmt.Errorf("wasmrun: cleaning the compile cache: %w", rmErr)
		}
		removed += p.Entries
		freed += p.Bytes
	}
	return removed, freed, nil
}

// touch marks a cache entry as used now, so trimming keeps it longest.
func touch(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now)
}
