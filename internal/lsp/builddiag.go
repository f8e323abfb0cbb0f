package lsp

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/pipeline"
	"github.com/pelato-dev/pelato/internal/span"
)

// buildSource is the source of the diagnostics a build's compiler errors become.
const buildSource = "pelato build"

// buildErrors are the compiler errors of a project's last builds, by component: a
// build of a component replaces its entry (an empty one when it built), an edit of a
// file drops the errors in it. They are published with the check's diagnostics of
// the same file (LSP keeps one list per file and server). Guarded by project.pubMu.
type buildErrors map[string][]pipeline.CompileError

// recordBuild keeps the compiler errors of the components res built (or failed to
// build) in the project at root and publishes the files they touch, now and before.
func (s *Server) recordBuild(root string, res *pipeline.BuildResult) {
	if res == nil {
		return
	}
	p := s.projectAt(root)
	if p == nil {
		return
	}
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	if p.build == nil {
		p.build = buildErrors{}
	}
	for _, c := range res.Components {
		if c.Status == pipeline.StatusSkipped && len(c.CompileErrors) == 0 {
			continue // not built this time: keep what the last build said
		}
		p.build[c.ComponentName] = c.CompileErrors
	}
	s.republish(p)
}

// edited drops the build errors in the file at path from every project holding it.
func (s *Server) edited(path string) {
	s.mu.Lock()
	var roots []string
	for root := range s.projects {
		if strings.HasPrefix(path, root+string(filepath.Separator)) {
			roots = append(roots, root)
		}
	}
	s.mu.Unlock()
	for _, root := range roots {
		s.forgetBuildErrors(root, path)
	}
}

// forgetBuildErrors drops the build errors in the file at path (being edited: its
// positions no longer hold) and republishes it when there were any.
func (s *Server) forgetBuildErrors(root, path string) {
	p := s.projectAt(root)
	if p == nil {
		return
	}
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	changed := false
	for comp, errs := range p.build {
		kept := slices.DeleteFunc(slices.Clone(errs), func(e pipeline.CompileError) bool {
			return filepath.Join(root, filepath.FromSlash(e.File)) == path
		})
		if len(kept) != len(errs) {
			p.build[comp], changed = kept, true
		}
	}
	if changed {
		s.republish(p)
	}
}

// projectAt returns the project at root, or nil.
func (s *Server) projectAt(root string) *project {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.projects[root]
}

// republish sends the diagnostics of p's last check again, with its build errors.
// The caller holds p.pubMu.
func (s *Server) republish(p *project) {
	s.mu.Lock()
	enc := s.enc
	s.mu.Unlock()
	snap := s.snapshot()
	if p.last != nil {
		s.send(p, snap, p.last.res, enc, nil)
		return
	}
	s.send(p, snap, nil, enc, nil)
}

// buildDiagnostics returns the build errors of p as LSP diagnostics, by file path.
func (p *project) buildDiagnostics(m *mappers, enc span.Encoding) map[string][]protocol.Diagnostic {
	out := map[string][]protocol.Diagnostic{}
	for _, comp := range slices.Sorted(maps.Keys(p.build)) {
		for _, e := range p.build[comp] {
			if e.File == "" || e.Line < 1 || strings.HasPrefix(e.File, "..") || filepath.IsAbs(e.File) {
				continue
			}
			mp := m.get(e.File)
			start, _ := mp.Offset(e.Line-1, max(e.Column-1, 0), span.UTF8)
			end := wordEnd(mp.Content(), start, mp.LineEnd(e.Line-1))
			if e.Column < 1 {
				start, end = mp.LineStart(e.Line-1), mp.LineEnd(e.Line-1)
			}
			path := filepath.Join(p.root, filepath.FromSlash(e.File))
			out[path] = append(out[path], protocol.Diagnostic{
				Range:    lspRange(mp, enc, span.Range{Start: start, End: end}),
				Severity: protocol.DiagnosticSeverityError,
				Source:   protocol.NewOptional(buildSource),
				Message:  protocol.String(e.Message + " (" + comp + ")"),
			})
		}
	}
	return out
}

// wordEnd returns the end of the identifier (or of the one character) at off.
func wordEnd(b []byte, off, lineEnd int) int {
	end := off
	for end < lineEnd {
		r, n := utf8.DecodeRune(b[end:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
			break
		}
		end += n
	}
	if end == off && off < lineEnd {
		_, n := utf8.DecodeRune(b[off:])
		end += n
	}
	return end
}
