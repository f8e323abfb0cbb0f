package lsp

import (
	"context"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/report"
	"github.com/pelato-dev/pelato/internal/span"
)

// project is the diagnostics state of one project folder.
type project struct {
	root string

	// Guarded by Server.mu.
	want     uint64             // version of the newest snapshot that changed the project
	timer    *time.Timer        // pending debounced check
	timerGen uint64             // identifies the pending timer (a stopped one may still fire)
	armed    time.Time          // when the pending timer was first armed
	cancel   context.CancelFunc // cancels the running check
	edits    [3]time.Time       // the latest changes, newest first
	cost     time.Duration      // how long the last completed check took (0: none yet)
	waiting  bool               // a goroutine waits for Go type information, then re-checks

	// Guarded by pubMu, which serialises publishing.
	pubMu     sync.Mutex
	published map[string]bool // files whose last published diagnostics were not empty
	last      *checked        // the newest published result
	build     buildErrors     // compiler errors of the last builds (builddiag.go)
}

// checked is a project's check result and the snapshot it was computed from.
type checked struct {
	version uint64
	root    string
	res     *check.Result
}

// halt stops the project's pending and running checks. The caller holds Server.mu.
func (p *project) halt() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
}

// invalidate records that the current snapshot changed the project at root and
// schedules its check: at once, or after the delay the adaptive debounce chooses
// (see Config.Debounce). The caller holds s.mu.
func (s *Server) invalidate(root string) {
	if s.closed || s.state != stateInitialized {
		return
	}
	p := s.projects[root]
	if p == nil {
		p = &project{root: root, published: map[string]bool{}}
		s.projects[root] = p
	}
	p.want = s.snap.version
	now := time.Now()
	copy(p.edits[1:], p.edits[:len(p.edits)-1])
	p.edits[0] = now
	delay := s.delay(p, now)
	if delay == 0 {
		if p.timer != nil {
			p.timer.Stop()
			p.timer = nil
		}
		s.startCheck(p)
		return
	}
	if p.timer != nil {
		if now.Sub(p.armed) >= s.snap.cfg.Debounce {
			return // a long burst: the pending check runs as armed, bounding the wait
		}
		p.timer.Stop()
	} else {
		p.armed = now
	}
	p.timerGen++
	gen := p.timerGen
	p.timer = time.AfterFunc(delay, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.projects[root] == p && !s.closed && p.timerGen == gen {
			p.timer = nil
			s.startCheck(p)
		}
	})
}

// delay chooses how long to wait before checking p after a change at now: nothing
// when its last check was cheap and the change is not part of a burst, a third of
// the debounce setting in a burst (each change of the burst restarts it), the whole
// setting when its checks are expensive. The caller holds s.mu.
func (s *Server) delay(p *project, now time.Time) time.Duration {
	debounce := s.snap.cfg.Debounce
	if debounce <= 0 {
		return 0
	}
	short := debounce / 3
	burst := true
	for _, t := range p.edits[1:] {
		if t.IsZero() || now.Sub(t) > debounce {
			burst = false
		}
	}
	switch {
	case p.cost >= short:
		return debounce
	case burst:
		return short
	}
	return 0
}

// startCheck cancels the project's running check and starts one on the current
// snapshot. The caller holds s.mu.
func (s *Server) startCheck(p *project) {
	if p.cancel != nil {
		p.cancel() // superseded
	}
	ctx, cancel := context.WithCancel(s.ctx)
	p.cancel = cancel
	snap := s.snap
	s.checks.Add(1)
	s.goBackground(func() {
		defer cancel()
		// Never wait for the go command here: what needs no Go types is published at
		// once; tasks waiting for type information follow (awaitTypes).
		opts := s.checkOptions(snap, p.root)
		opts.NoWait = true
		start := time.Now()
		res, err := check.Project(ctx, opts)
		cost := time.Since(start)
		if ctx.Err() != nil {
			s.dropped.Add(1) // superseded
			return
		}
		s.publish(ctx, p, snap, res, err)
		s.mu.Lock()
		defer s.mu.Unlock()
		p.cost = cost
		if err == nil && res.Pending() && !p.waiting && s.projects[p.root] == p {
			s.awaitTypes(p, res.Loading)
		}
	})
}

// checkNow checks the project at root on snap and publishes the result, bypassing
// the debounce delay. It returns the number of diagnostics.
func (s *Server) checkNow(ctx context.Context, snap *Snapshot, root string) (int, error) {
	s.mu.Lock()
	p := s.projects[root]
	if p == nil {
		p = &project{root: root, published: map[string]bool{}}
		s.projects[root] = p
		p.want = snap.version
	}
	s.mu.Unlock()
	res, err := check.Project(ctx, s.checkOptions(snap, root))
	if err != nil {
		return 0, err
	}
	s.publish(ctx, p, snap, res, nil)
	return len(res.Diagnostics), nil
}

// publish sends the diagnostics of a check of snap, unless a newer snapshot has
// changed the project since: stale results are never published. Files whose
// diagnostics were published before and have none now get an empty list.
func (s *Server) publish(ctx context.Context, p *project, snap *Snapshot, res *check.Result, err error) {
	if h := s.hooks.beforePublish; h != nil {
		h(snap)
	}
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	s.mu.Lock()
	stale := ctx.Err() != nil || s.closed || s.projects[p.root] != p || p.want > snap.version ||
		(p.last != nil && p.last.version > snap.version)
	enc := s.enc
	s.mu.Unlock()
	if stale {
		s.dropped.Add(1)
		s.log.Debug("dropping stale diagnostics", "project", p.root, "version", snap.version)
		return
	}
	if err != nil {
		s.log.Warn("check failed", "project", p.root, "err", err)
		if errors.Is(err, check.ErrNoWorkflow) {
			s.clear(p)
		}
		return
	}
	if res.Err != nil {
		s.log.Warn("check incomplete", "project", p.root, "err", res.Err)
	}
	res = s.withLatticeHints(snap, p.root, res) // opt-in PL601 hints (lattice.go)
	s.send(p, snap, res, enc, func() { p.last = &checked{version: snap.version, root: p.root, res: res} })
}

// send publishes the diagnostics of res and p's build errors for every file, and
// empty lists for the files that had some before; done, when set, runs before p's
// published files are recorded. res may be nil (never checked). The caller holds
// p.pubMu.
func (s *Server) send(p *project, snap *Snapshot, res *check.Result, enc span.Encoding, done func()) {
	if res == nil {
		res = &check.Result{}
	}
	// The files of tasks still waiting for Go type information keep what the client
	// shows for them until their check can run.
	pending := map[string]bool{}
	for _, r := range res.Tasks {
		if r != nil && r.Pending {
			for _, f := range r.Files {
				pending[filepath.Join(p.root, filepath.FromSlash(f))] = true
			}
		}
	}
	files := map[string][]protocol.Diagnostic{}
	m := newMappers(snap, p.root, res.Files)
	least := snap.cfg.MinSeverity
	for _, d := range res.Diagnostics {
		path := filepath.Join(p.root, filepath.FromSlash(d.File))
		if least != 0 && d.Severity > least || pending[path] {
			continue
		}
		files[path] = append(files[path], toLSPDiagnostic(d, p.root, m, enc))
	}
	for path, ds := range p.buildDiagnostics(m, enc) {
		files[path] = append(files[path], ds...)
	}
	for _, path := range slices.Sorted(maps.Keys(p.published)) {
		if _, ok := files[path]; !ok && !pending[path] {
			files[path] = []protocol.Diagnostic{}
		}
	}
	for _, path := range slices.Sorted(maps.Keys(files)) {
		s.sendDiagnostics(snap, path, files[path])
	}
	published := map[string]bool{}
	for path := range pending {
		if p.published[path] {
			published[path] = true
		}
	}
	for path, ds := range files {
		if len(ds) > 0 {
			published[path] = true
		}
	}
	p.published = published
	if done != nil {
		done()
	}
}

// clear publishes empty diagnostics for every file of p. The caller holds p.pubMu.
func (s *Server) clear(p *project) {
	snap := s.snapshot()
	for _, path := range slices.Sorted(maps.Keys(p.published)) {
		s.sendDiagnostics(snap, path, []protocol.Diagnostic{})
	}
	p.published = map[string]bool{}
	p.last = nil
}

// removeProject forgets the project at root and clears its diagnostics.
func (s *Server) removeProject(root string) {
	s.mu.Lock()
	p := s.projects[root]
	if p != nil {
		p.halt()
		delete(s.projects, root)
	}
	s.mu.Unlock()
	s.tasks.forget(root)
	if p != nil {
		p.pubMu.Lock()
		s.clear(p)
		p.pubMu.Unlock()
	}
}

// sendDiagnostics publishes the diagnostics of one file, with the version of its
// open buffer.
func (s *Server) sendDiagnostics(snap *Snapshot, path string, ds []protocol.Diagnostic) {
	params := &protocol.PublishDiagnosticsParams{URI: fileURI(path), Diagnostics: ds}
	if d := snap.Doc(path); d != nil {
		params.Version = protocol.NewOptional(d.Version)
	}
	s.notify(protocol.MethodTextDocumentPublishDiagnostics, params)
}

// mappers returns position mappers for a project's files: the content the checker
// read when it has it, else the snapshot's view.
type mappers struct {
	snap  *Snapshot
	root  string
	files map[string][]byte
	cache map[string]*span.Mapper
}

func newMappers(snap *Snapshot, root string, files map[string][]byte) *mappers {
	return &mappers{snap: snap, root: root, files: files, cache: map[string]*span.Mapper{}}
}

// get returns the mapper of the project file rel (forward slashes, relative to root).
func (m *mappers) get(rel string) *span.Mapper {
	if mp, ok := m.cache[rel]; ok {
		return mp
	}
	var mp *span.Mapper
	if b, ok := m.files[rel]; ok {
		mp = span.NewMapper(b)
	} else if src, err := m.snap.read(filepath.Join(m.root, filepath.FromSlash(rel))); err == nil {
		mp = src.Mapper
	} else {
		mp = span.NewMapper(nil)
	}
	m.cache[rel] = mp
	return mp
}

// content returns the text of the project file rel as the checker read it.
func (m *mappers) content(rel string) []byte { return m.get(rel).Content() }

// uriOf returns the URI of the project file rel.
func (m *mappers) uriOf(rel string) uri.URI {
	return fileURI(filepath.Join(m.root, filepath.FromSlash(rel)))
}

// toLSPDiagnostic converts a check diagnostic.
func toLSPDiagnostic(d check.Diagnostic, root string, m *mappers, enc span.Encoding) protocol.Diagnostic {
	out := protocol.Diagnostic{
		Range:           lspRange(m.get(d.File), enc, d.Range),
		Severity:        severity(d.Severity),
		Code:            protocol.String(string(d.Code)),
		CodeDescription: protocol.CodeDescription{Href: uri.URI(report.DocURL(d.Code))},
		Source:          protocol.NewOptional("pelato"),
		Message:         protocol.String(d.Message),
	}
	var tags []protocol.DiagnosticTag
	if d.Unnecessary {
		tags = append(tags, protocol.DiagnosticTagUnnecessary)
	}
	if d.Deprecated {
		tags = append(tags, protocol.DiagnosticTagDeprecated)
	}
	if len(tags) > 0 {
		out.Tags = protocol.NewDiagnosticTags(tags...)
	}
	for _, r := range d.Related {
		out.RelatedInformation = append(out.RelatedInformation, protocol.DiagnosticRelatedInformation{
			Location: protocol.Location{URI: m.uriOf(r.File), Range: lspRange(m.get(r.File), enc, r.Range)},
			Message:  r.Message,
		})
	}
	return out
}

// severity maps a check severity to LSP's.
func severity(s check.Severity) protocol.DiagnosticSeverity {
	switch s {
	case check.Error:
		return protocol.DiagnosticSeverityError
	case check.Warning:
		return protocol.DiagnosticSeverityWarning
	case check.Info:
		return protocol.DiagnosticSeverityInformation
	}
	return protocol.DiagnosticSeverityHint
}

// didOpen serves textDocument/didOpen.
func (s *Server) didOpen(_ context.Context, params []byte) error {
	p, err := decode[protocol.DidOpenTextDocumentParams](params)
	if err != nil {
		return err
	}
	path, err := pathOf(p.TextDocument.URI)
	if err != nil {
		return err
	}
	doc := newDocument(path, p.TextDocument.Version, []byte(p.TextDocument.Text))
	s.tasks.attach(doc)
	s.update(func(next *Snapshot) []string {
		next.docs[path] = doc
		return s.affected(next, path, true)
	})
	return nil
}

// didChange serves textDocument/didChange, applying full or incremental changes.
func (s *Server) didChange(_ context.Context, params []byte) error {
	p, err := decode[protocol.DidChangeTextDocumentParams](params)
	if err != nil {
		return err
	}
	path, err := pathOf(p.TextDocument.URI)
	if err != nil {
		return err
	}
	enc := s.encoding()
	var applyErr error
	s.update(func(next *Snapshot) []string {
		old := next.docs[path]
		if old == nil {
			applyErr = errors.New("didChange for a document that is not open: " + path)
			return nil
		}
		content, err := applyChanges(old.Content, p.ContentChanges, enc)
		if err != nil {
			applyErr = err
			return nil
		}
		doc := newDocument(path, p.TextDocument.Version, content)
		s.tasks.attach(doc)
		next.docs[path] = doc
		return s.affected(next, path, next.cfg.CheckTasksOn != "save" || !isGoFile(path))
	})
	if applyErr == nil {
		s.edited(path) // its build errors no longer point at the right place
	}
	return applyErr
}

// didSave serves textDocument/didSave: saved files change what is on disk.
func (s *Server) didSave(_ context.Context, params []byte) error {
	p, err := decode[protocol.DidSaveTextDocumentParams](params)
	if err != nil {
		return err
	}
	path, err := pathOf(p.TextDocument.URI)
	if err != nil {
		return err
	}
	s.tasks.changed(path)
	s.update(func(next *Snapshot) []string { return s.affected(next, path, true) })
	return nil
}

// didClose serves textDocument/didClose: the file is read from disk again, and
// diagnostics that no longer apply are cleared.
func (s *Server) didClose(_ context.Context, params []byte) error {
	p, err := decode[protocol.DidCloseTextDocumentParams](params)
	if err != nil {
		return err
	}
	path, err := pathOf(p.TextDocument.URI)
	if err != nil {
		return err
	}
	s.tasks.changed(path) // its text on disk is read again
	s.update(func(next *Snapshot) []string {
		delete(next.docs, path)
		return s.affected(next, path, true)
	})
	return nil
}

// affected returns the project a change of path invalidates (registering the project
// when path reveals a new one) when recheck is set. The caller holds s.mu.
func (s *Server) affected(next *Snapshot, path string, recheck bool) []string {
	root, ok := next.projectOf(path)
	if !ok && root == "" && isGoFile(path) {
		if r, found := findRootOnDisk(path); found {
			root, ok = r, within(path, filepath.Join(r, "tasks"))
		}
	}
	if root == "" || (!ok && !isWorkflowFile(path)) {
		return nil
	}
	next.roots[root] = true
	if !recheck {
		return nil
	}
	return []string{root}
}
