package lsp

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.lsp.dev/uri"

	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/taskcode"
	"github.com/pelato-dev/pelato/internal/userfile"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// Snapshot is an immutable view of the workspace: the open buffers, the known
// projects and the configuration at one moment. Every change makes a new Snapshot
// with a higher version; background work remembers the version it computed from, so
// results of superseded snapshots can be recognised and dropped.
type Snapshot struct {
	version uint64
	docs    map[string]*Document // open buffers by absolute path
	roots   map[string]bool      // project folders (each holding a workflow.yaml)
	cfg     Config
}

// Version returns the snapshot's version: higher is newer.
func (s *Snapshot) Version() uint64 { return s.version }

// Doc returns the open buffer of path, or nil.
func (s *Snapshot) Doc(path string) *Document { return s.docs[path] }

// Roots returns the project folders, sorted.
func (s *Snapshot) Roots() []string { return slices.Sorted(maps.Keys(s.roots)) }

// with returns a copy of s with version v, for the caller to modify before publishing.
func (s *Snapshot) with(v uint64) *Snapshot {
	return &Snapshot{version: v, docs: maps.Clone(s.docs), roots: maps.Clone(s.roots), cfg: s.cfg}
}

// overlay returns the buffer text of path for the checker. With checkTasksOn "save",
// Go buffers are hidden so task files are checked as saved.
func (s *Snapshot) overlay(path string) ([]byte, bool) {
	d := s.docs[filepath.Clean(path)]
	if d == nil {
		return nil, false
	}
	if s.cfg.CheckTasksOn == "save" && isGoFile(d.Path) {
		return nil, false
	}
	return d.Content, true
}

// source is a file's text as the snapshot sees it: the open buffer or the disk.
type source struct {
	Path    string
	URI     uri.URI
	Content []byte
	Mapper  *span.Mapper
	// Doc is the open buffer, or nil when the text came from the disk.
	Doc *Document
}

// workflow returns the text parsed as a workflow.yaml.
func (src *source) workflow() *workflow.Workflow {
	if src.Doc != nil {
		return src.Doc.Workflow()
	}
	return workflow.New(workflow.Parse(workflow.FileName, src.Content))
}

// read returns the text of path: the open buffer, else the file on disk.
func (s *Snapshot) read(path string) (*source, error) {
	if d := s.docs[path]; d != nil {
		return &source{Path: path, URI: d.URI, Content: d.Content, Mapper: d.Mapper(), Doc: d}, nil
	}
	b, err := readDisk(path)
	if err != nil {
		return nil, err
	}
	return &source{Path: path, URI: fileURI(path), Content: b, Mapper: span.NewMapper(b)}, nil
}

// readDisk reads a project file that is not open: only a regular file, of at most
// workflow.MaxFileSize bytes for a workflow.yaml and taskcode.MaxFileSize for any
// other (see internal/userfile), so a FIFO or a link to /dev/zero in a project can
// neither block nor exhaust the server.
func readDisk(path string) ([]byte, error) {
	if isWorkflowFile(path) {
		return userfile.Read(path, workflow.MaxFileSize)
	}
	return taskcode.Read(path)
}

// projectOf returns the project folder path belongs to: for a workflow.yaml its
// folder; for a .env the project in the same folder; for a Go file the nearest
// enclosing project whose tasks/ folder holds it.
func (s *Snapshot) projectOf(path string) (string, bool) {
	if isWorkflowFile(path) {
		dir := filepath.Dir(path)
		return dir, s.roots[dir] || s.docs[path] != nil
	}
	if isDotEnvFile(path) {
		dir := filepath.Dir(path)
		return dir, s.roots[dir]
	}
	if !isGoFile(path) {
		return "", false
	}
	for dir := filepath.Dir(path); ; {
		if s.roots[dir] {
			return dir, within(path, filepath.Join(dir, workflow.TasksDir))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// findRootOnDisk looks for an unknown project enclosing a Go file: an ancestor
// folder named tasks/ whose parent holds a workflow.yaml.
func findRootOnDisk(path string) (string, bool) {
	for dir := filepath.Dir(path); ; {
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		if filepath.Base(dir) == workflow.TasksDir {
			if st, err := os.Stat(filepath.Join(parent, workflow.FileName)); err == nil && !st.IsDir() {
				return parent, true
			}
		}
		dir = parent
	}
}

// within reports whether path lies inside folder dir.
func within(path, dir string) bool {
	return strings.HasPrefix(path, dir+string(filepath.Separator))
}

// skipDir reports whether a folder is never searched for projects.
func skipDir(name string) bool {
	switch name {
	case "gen", "node_modules", ".git":
		return true
	}
	return false
}

// maxDiscovered bounds the entries discover visits, so that a workspace opened on a
// huge folder (a home folder, "/") cannot stall the server.
const maxDiscovered = 200_000

// discover returns every folder under dir holding a workflow.yaml, skipping gen/,
// node_modules/ and .git/. It stops early when stop reports true or after limit
// entries.
func discover(dir string, limit int, stop func() bool) []string {
	var roots []string
	seen := 0
	_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		seen++
		if seen > limit || stop() {
			return filepath.SkipAll
		}
		if err != nil {
			if e != nil && e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			if p != dir && skipDir(e.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if e.Name() == workflow.FileName && !e.IsDir() { // not only regular files: a FIFO here gets its diagnostic
			roots = append(roots, filepath.Dir(p))
		}
		return nil
	})
	return roots
}
