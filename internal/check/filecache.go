package check

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pelato-dev/pelato/internal/userfile"
)

// FileMode says how a check reads again the task files (and the listing of tasks/)
// that an earlier check of the same Session read.
type FileMode int

const (
	// FilesReread reads every file again on every check: right for one check (the
	// CLI), and for a caller that cannot tell when files change.
	FilesReread FileMode = iota
	// FilesStat reads a file again when its size or modification time changed: one
	// stat per file per check instead of a read.
	FilesStat
	// FilesNotified reads a file again only after FileCache.Changed named it (or a
	// folder holding it), as a language server does when the editor reports changes
	// (workspace/didChangeWatchedFiles): no system call for an unchanged file. A file
	// reached through a symbolic link is read again on every check (its target may
	// change unseen), and so is one whose read failed.
	FilesNotified
)

// FileCache holds the task files, their metadata and folder listings read by earlier
// checks of one project, and says which can be used again (FileMode). A nil
// *FileCache reads everything from the disk. It is safe for concurrent use.
type FileCache struct {
	mode FileMode

	mu       sync.Mutex
	gen      uint64 // the current check, for FilesStat: stats are fresh within one
	root     string // the project folder, and itself with symbolic links resolved:
	realRoot string // a path elsewhere (reached through a link) is never trusted
	entries  map[string]*fileEntry
}

// fileEntry is what was learnt of one path.
type fileEntry struct {
	statGen uint64 // FilesStat: the check info was read in
	info    fs.FileInfo
	hasStat bool

	content  []byte
	limit    int64
	readSize int64     // the size and modification time the content was read at
	readMod  time.Time // (FilesStat)
	hasRead  bool

	dir    []fs.DirEntry
	hasDir bool

	imports    []string // the import paths of content, once parsed
	hasImports bool

	linked bool // reached through a symbolic link: never trusted (FilesNotified)
}

// NewFileCache returns an empty cache reading files again as mode says.
func NewFileCache(mode FileMode) *FileCache {
	return &FileCache{mode: mode, entries: map[string]*fileEntry{}}
}

// Mode returns the cache's FileMode.
func (c *FileCache) Mode() FileMode {
	if c == nil {
		return FilesReread
	}
	return c.mode
}

// Changed forgets what was read of each path, of everything under it (a folder),
// and the listing of the folder holding it: the next check reads them again.
func (c *FileCache) Changed(paths ...string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range paths {
		p = filepath.Clean(p)
		delete(c.entries, p)
		if e := c.entries[filepath.Dir(p)]; e != nil {
			e.dir, e.hasDir = nil, false
		}
		prefix := p + string(filepath.Separator)
		for q := range c.entries {
			if strings.HasPrefix(q, prefix) {
				delete(c.entries, q)
			}
		}
	}
}

// ChangedAll forgets everything read.
func (c *FileCache) ChangedAll() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = map[string]*fileEntry{}
}

// begin starts a check of the project at root.
func (c *FileCache) begin(root string) {
	if c == nil || c.mode == FilesReread {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if root = filepath.Clean(root); root != c.root {
		c.root, c.entries = root, map[string]*fileEntry{}
		c.realRoot, _ = filepath.EvalSymlinks(root)
	}
}

// entry returns the entry of path, made on first use. The caller holds c.mu.
func (c *FileCache) entry(path string) *fileEntry {
	e := c.entries[path]
	if e == nil {
		e = &fileEntry{}
		if c.mode == FilesNotified {
			// Trusted only when its real path is where the project says it is.
			real, err := filepath.EvalSymlinks(path)
			rel, rerr := filepath.Rel(c.root, path)
			e.linked = err != nil || rerr != nil || c.realRoot == "" || real != filepath.Join(c.realRoot, rel)
		}
		c.entries[path] = e
	}
	return e
}

// fresh reports whether e's stat can be used as it is in this check. The caller
// holds c.mu.
func (c *FileCache) fresh(e *fileEntry) bool {
	if !e.hasStat {
		return false
	}
	if c.mode == FilesStat {
		return e.statGen == c.gen
	}
	return !e.linked
}

// stat is os.Stat through the cache.
func (c *FileCache) stat(path string) (fs.FileInfo, error) {
	if c == nil || c.mode == FilesReread {
		return os.Stat(path)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statLocked(path)
}

func (c *FileCache) statLocked(path string) (fs.FileInfo, error) {
	e := c.entry(path)
	if c.fresh(e) {
		return e.info, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		e.hasStat = false
		return nil, err
	}
	e.info, e.statGen, e.hasStat = info, c.gen, true
	return info, nil
}

// read is userfile.Read(path, limit) through the cache.
func (c *FileCache) read(path string, limit int64) ([]byte, error) {
	if c == nil || c.mode == FilesReread {
		return userfile.Read(path, limit)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entry(path)
	var info fs.FileInfo
	switch {
	case c.mode == FilesNotified && !e.linked && e.hasRead && e.limit == limit:
		return e.content, nil
	case c.mode == FilesStat:
		var err error
		if info, err = c.statLocked(path); err == nil && e.hasRead && e.limit == limit &&
			e.readSize == info.Size() && e.readMod.Equal(info.ModTime()) && info.Mode().IsRegular() {
			return e.content, nil
		}
	}
	b, err := userfile.Read(path, limit)
	if err != nil {
		e.content, e.hasRead = nil, false
		return nil, err
	}
	e.content, e.limit, e.hasRead = b, limit, true
	e.imports, e.hasImports = nil, false
	if info != nil {
		e.readSize, e.readMod = info.Size(), info.ModTime()
	}
	return b, nil
}

// readDir is os.ReadDir through the cache: listings are kept in FilesNotified mode
// only (a listing is one system call).
func (c *FileCache) readDir(path string) ([]fs.DirEntry, error) {
	if c == nil || c.mode != FilesNotified {
		return os.ReadDir(path)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entry(path)
	if e.hasDir && !e.linked {
		return e.dir, nil
	}
	d, err := os.ReadDir(path)
	if err != nil {
		e.dir, e.hasDir = nil, false
		return nil, err
	}
	e.dir, e.hasDir = d, true
	return d, nil
}

// importsOf returns the import paths learnt of path's content when content is the
// content the cache read (the same bytes, not a copy: an editor's buffer is parsed).
func (c *FileCache) importsOf(path string, content []byte) ([]string, bool) {
	if c == nil || c.mode == FilesReread {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[path]
	if e == nil || !e.hasImports || !sameBytes(e.content, content) {
		return nil, false
	}
	return e.imports, true
}

// setImports records the import paths of path's content, when the cache read it.
func (c *FileCache) setImports(path string, content []byte, imports []string) {
	if c == nil || c.mode == FilesReread {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[path]; e != nil && e.hasRead && sameBytes(e.content, content) {
		e.imports, e.hasImports = imports, true
	}
}

// sameBytes reports whether a and b are the same slice of memory.
func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}
