package lsp

import (
	"context"
	"os"
	"path/filepath"
	"slices"

	"go.lsp.dev/protocol"
)

// didChangeWatchedFiles serves workspace/didChangeWatchedFiles: projects appear and
// disappear with their workflow.yaml, and a changed task file or go.mod re-checks the
// project holding it.
func (s *Server) didChangeWatchedFiles(_ context.Context, params []byte) error {
	p, err := decode[protocol.DidChangeWatchedFilesParams](params)
	if err != nil {
		return err
	}
	var changed []string
	for _, ch := range p.Changes {
		if path, err := pathOf(ch.URI); err == nil {
			changed = append(changed, path)
		}
	}
	s.tasks.changed(changed...) // before the re-checks below read them
	var removed []string
	s.update(func(next *Snapshot) []string {
		set := map[string]bool{}
		for _, ch := range p.Changes {
			path, err := pathOf(ch.URI)
			if err != nil {
				continue
			}
			switch {
			case isWorkflowFile(path):
				dir := filepath.Dir(path)
				if ch.Type == protocol.FileChangeTypeDeleted && next.docs[path] == nil {
					if _, err := os.Stat(path); err != nil {
						delete(next.roots, dir)
						delete(set, dir)
						removed = append(removed, dir)
						continue
					}
				}
				next.roots[dir] = true
				set[dir] = true
			case filepath.Base(path) == "go.mod":
				if root, ok := enclosingRoot(next, filepath.Dir(path)); ok {
					set[root] = true
				}
			default:
				for _, r := range s.affected(next, path, true) {
					set[r] = true
				}
			}
		}
		out := make([]string, 0, len(set))
		for r := range set {
			out = append(out, r)
		}
		return out
	})
	for _, r := range removed {
		s.removeProject(r)
	}
	return nil
}

// enclosingRoot returns the nearest project folder at or above dir.
func enclosingRoot(snap *Snapshot, dir string) (string, bool) {
	for {
		if snap.roots[dir] {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// didChangeConfiguration serves workspace/didChangeConfiguration with the `pelato`
// settings; every project is re-checked under the new configuration.
func (s *Server) didChangeConfiguration(_ context.Context, params []byte) error {
	p, err := decode[protocol.DidChangeConfigurationParams](params)
	if err != nil {
		return err
	}
	var cfgErr error
	s.update(func(next *Snapshot) []string {
		cfg, err := next.cfg.apply(p.Settings)
		if err != nil {
			cfgErr = err
			return nil
		}
		next.cfg = cfg
		return next.Roots()
	})
	if cfgErr != nil {
		return cfgErr
	}
	s.setLevel(s.snapshot().cfg.LogLevel)
	return nil
}

// didChangeWorkspaceFolders serves workspace/didChangeWorkspaceFolders: projects of
// added folders are discovered and checked; those of removed folders are forgotten.
func (s *Server) didChangeWorkspaceFolders(_ context.Context, params []byte) error {
	p, err := decode[protocol.DidChangeWorkspaceFoldersParams](params)
	if err != nil {
		return err
	}
	var addedDirs, removedDirs []string
	for _, f := range p.Event.Added {
		if path, err := pathOf(f.URI); err == nil {
			addedDirs = append(addedDirs, path)
		}
	}
	for _, f := range p.Event.Removed {
		if path, err := pathOf(f.URI); err == nil {
			removedDirs = append(removedDirs, path)
		}
	}
	s.mu.Lock()
	folders := slices.DeleteFunc(slices.Clone(s.folders), func(f string) bool { return slices.Contains(removedDirs, f) })
	s.folders = append(folders, addedDirs...)
	s.mu.Unlock()
	var gone []string
	s.update(func(next *Snapshot) []string {
		for r := range next.roots {
			for _, dir := range removedDirs {
				if r == dir || within(r, dir) {
					delete(next.roots, r)
					gone = append(gone, r)
				}
			}
		}
		return nil
	})
	for _, r := range gone {
		s.removeProject(r)
	}
	if len(addedDirs) == 0 {
		return nil
	}
	// Searching a new folder may take a while: off the read loop.
	s.mu.Lock()
	defer s.mu.Unlock()
	s.goBackground(func() {
		var added []string
		for _, dir := range addedDirs {
			added = append(added, discover(dir, s.discoverLimit, func() bool { return s.ctx.Err() != nil })...)
		}
		s.update(func(next *Snapshot) []string {
			for _, r := range added {
				next.roots[r] = true
			}
			return added
		})
	})
	return nil
}
