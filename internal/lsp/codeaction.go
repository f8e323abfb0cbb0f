package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/pelato-dev/pelato/internal/check"
	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// codeAction serves textDocument/codeAction: first every quick fix the diagnostics
// under the range carry, then a suppression comment for each of them (actions name
// their diagnostic; the first fix of each diagnostic is preferred); then the
// pipeline's source actions (sourceActions). context.only selects kinds as LSP
// defines it: "source" selects every source.pelato.* action, "quickfix" the fixes.
func (s *Server) codeAction(ctx context.Context, snap *Snapshot, params []byte) (any, error) {
	p, err := decode[protocol.CodeActionParams](params)
	if err != nil {
		return nil, err
	}
	out := []protocol.CommandOrCodeAction{}
	path, err := pathOf(p.TextDocument.URI)
	if err != nil {
		return nil, invalidParams(err)
	}
	root, ok := snap.projectOf(path)
	if !ok {
		return out, nil
	}
	if kindWanted(p.Context.Only, protocol.CodeActionKindQuickFix) {
		out = append(out, s.quickFixes(ctx, snap, root, path, p.Range)...)
	}
	for _, a := range s.sourceActions(snap, root, path, p.Range, p.Context.Only) {
		out = append(out, a)
	}
	return out, nil
}

// kindWanted reports whether a code action of kind k answers a request for only
// (empty: every kind): k is one of only or below one of them (source.pelato.gen is
// below source.pelato and source).
func kindWanted(only []protocol.CodeActionKind, k protocol.CodeActionKind) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if o != "" && (k == o || strings.HasPrefix(string(k), string(o)+".")) {
			return true
		}
	}
	return false
}

// quickFixes returns the quick fixes of the diagnostics of path under r, each
// followed by its suppression comment.
func (s *Server) quickFixes(ctx context.Context, snap *Snapshot, root, path string, r protocol.Range) []protocol.CommandOrCodeAction {
	var out []protocol.CommandOrCodeAction
	res, err := s.resultFor(ctx, snap, root)
	if err != nil {
		return nil // a project that cannot be checked has no fixes
	}
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return nil // not in the project
	}
	rel = filepath.ToSlash(rel)
	enc := s.encoding()
	m := newMappers(snap, root, res.Files)
	want := rangeOffsets(m.get(rel), enc, r)
	marker := "#"
	if isGoFile(path) {
		marker = "//"
	}
	for _, d := range res.Diagnostics {
		if d.File != rel || !overlaps(d.Range, want) {
			continue
		}
		diag := toLSPDiagnostic(d, root, m, enc)
		for i, fix := range d.Fixes {
			out = append(out, s.fixAction(snap, root, m, fix, diag, i == 0))
		}
		out = append(out, s.fixAction(snap, root, m, check.SuppressionFix(d, m.content(rel), marker), diag, false))
	}
	return out
}

// SourceKind is the code action kind of the pipeline's source actions; each command
// pelato.<verb> has the kind source.pelato.<verb>.
const SourceKind protocol.CodeActionKind = "source.pelato"

// offer is a command of the table that editors are offered as code lenses and
// source actions.
type offer struct {
	name  string                  // pelato.<verb>
	label string                  // the title without "pelato: ", e.g. "Deploy"
	kind  protocol.CodeActionKind // source.pelato.<verb>
	cmd   Command
}

// verbOrder is the order offers are listed in; commands not named here follow, by
// name. Naming a command here does not offer it: only registered commands are.
var verbOrder = [...]string{CmdGen, "pelato.build", "pelato.push", "pelato.deploy", "pelato.remove", "pelato.status", "pelato.brush", CmdInvoke, CmdCheck}

// offers returns the registered commands editors are offered (every one that is not
// Silent), in verbOrder.
func (s *Server) offers() []offer {
	s.mu.Lock()
	defer s.mu.Unlock()
	rank := func(name string) int {
		if i := slices.Index(verbOrder[:], name); i >= 0 {
			return i
		}
		return len(verbOrder)
	}
	var out []offer
	for name, c := range s.commands {
		if c.Silent || !strings.HasPrefix(name, "pelato.") {
			continue
		}
		verb := strings.TrimPrefix(name, "pelato.")
		label := strings.TrimSpace(strings.TrimPrefix(c.Title, "pelato:"))
		if label == "" {
			label = verb
		}
		out = append(out, offer{name: name, label: label, kind: SourceKind + protocol.CodeActionKind("."+verb), cmd: c})
	}
	slices.SortFunc(out, func(a, b offer) int {
		if d := rank(a.name) - rank(b.name); d != 0 {
			return d
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// codeActionKinds returns the kinds the server's code actions have, for the
// initialize result.
func (s *Server) codeActionKinds() []protocol.CodeActionKind {
	kinds := []protocol.CodeActionKind{protocol.CodeActionKindQuickFix, SourceKind}
	for _, o := range s.offers() {
		kinds = append(kinds, o.kind)
	}
	return kinds
}

// taskTitle and workflowTitle name an offer's action for one task and for the whole
// workflow.
func (o offer) taskTitle(task string) string {
	return "pelato: " + o.label + " task " + task + o.ellipsis()
}

func (o offer) workflowTitle() string {
	if o.cmd.WorkflowTitle != "" {
		return o.cmd.WorkflowTitle
	}
	if o.cmd.NoTask {
		return "pelato: " + o.label + " the workflow" + o.ellipsis()
	}
	return "pelato: " + o.label + " all tasks" + o.ellipsis()
}

func (o offer) ellipsis() string {
	if o.cmd.Input {
		return "…"
	}
	return ""
}

// taskKey is how commands name a task: its component_name, else its name; "" for
// an entry that is not a task mapping written in the file.
func taskKey(t *workflow.Task) string {
	if t.Node.Kind != workflow.Mapping || !t.Node.Via.IsZero() || len(t.Node.Fields) == 0 {
		return ""
	}
	if key := t.Str("component_name"); key != "" {
		return key
	}
	return t.Str("name")
}

// sourceActions returns the pipeline as source actions (kinds source.pelato.<verb>),
// each carrying its server command: for every task under r in workflow.yaml, or
// every task whose code is the Go file path, one action per offered command; then
// one per command for the whole workflow.
func (s *Server) sourceActions(snap *Snapshot, root, path string, r protocol.Range, only []protocol.CodeActionKind) []*protocol.CodeAction {
	var offers []offer
	for _, o := range s.offers() {
		if kindWanted(only, o.kind) {
			offers = append(offers, o)
		}
	}
	if len(offers) == 0 {
		return nil
	}
	wfPath := filepath.Join(root, workflow.FileName)
	src, err := snap.read(wfPath)
	if err != nil {
		return nil // no workflow.yaml to run
	}
	w := src.workflow()
	var tasks []string
	switch {
	case isWorkflowFile(path):
		want := rangeOffsets(src.Mapper, s.encoding(), r)
		for _, t := range w.Tasks {
			// A task spans from the start of its first line (the "- " of its item).
			r := t.Node.Range
			r.Start = bytes.LastIndexByte(src.Content[:r.Start], '\n') + 1
			if key := taskKey(t); key != "" && overlaps(r, want) {
				tasks = append(tasks, key)
			}
		}
	case isGoFile(path):
		for _, t := range w.Tasks {
			key := taskKey(t)
			code, ok := taskPath(root, t.Str("code"))
			if key != "" && ok && (code == path || within(path, code)) && !slices.Contains(tasks, key) {
				tasks = append(tasks, key)
			}
		}
	}
	doc := string(src.URI)
	var out []*protocol.CodeAction
	add := func(o offer, title string, args CommandArgs) {
		raw, err := json.Marshal(args)
		if err != nil {
			return
		}
		kind := o.kind
		out = append(out, &protocol.CodeAction{Title: title, Kind: &kind,
			Command: protocol.Command{Title: title, Command: o.name, Arguments: []protocol.LSPAny{raw}}})
	}
	for _, task := range tasks {
		for _, o := range offers {
			if !o.cmd.NoTask {
				add(o, o.taskTitle(task), CommandArgs{URI: doc, Task: task})
			}
		}
	}
	for _, o := range offers {
		if !o.cmd.NoWorkflow {
			add(o, o.workflowTitle(), CommandArgs{URI: doc})
		}
	}
	return out
}

// resultFor returns the check result of the project at root for snap: the published
// one when it was computed from snap, else a fresh check.
func (s *Server) resultFor(ctx context.Context, snap *Snapshot, root string) (*check.Result, error) {
	s.mu.Lock()
	p := s.projects[root]
	s.mu.Unlock()
	if p != nil {
		p.pubMu.Lock()
		last := p.last
		p.pubMu.Unlock()
		if last != nil && last.version == snap.version {
			return last.res, nil
		}
	}
	opts := s.checkOptions(snap, root)
	opts.NoWait = true // a request never waits for the go command
	res, err := check.Project(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("check %s: %w", root, err)
	}
	return res, nil
}

// fixAction turns a check.Fix into a quick-fix code action.
func (s *Server) fixAction(snap *Snapshot, root string, m *mappers, fix check.Fix, diag protocol.Diagnostic, preferred bool) *protocol.CodeAction {
	s.mu.Lock()
	caps := s.caps
	s.mu.Unlock()
	kind := protocol.CodeActionKindQuickFix
	a := &protocol.CodeAction{Title: fix.Title, Kind: &kind, Diagnostics: []protocol.Diagnostic{diag}}
	if preferred {
		t := true
		a.IsPreferred = &t
	}
	create := fix.Create
	if create != nil {
		if err := insideTasks(root, filepath.Join(root, filepath.FromSlash(create.File))); err != nil {
			// Creating it would write through a link out of the project: not offered.
			a.Disabled = protocol.CodeActionDisabled{Reason: err.Error()}
			return a
		}
	}
	if create != nil && !(caps.documentChanges && caps.createFiles) {
		// The client cannot create files through an edit: the server creates it.
		args, err := json.Marshal(map[string]string{"uri": string(m.uriOf(create.File)), "content": create.Content})
		if err == nil {
			a.Command = protocol.Command{Title: fix.Title, Command: CmdCreateFile, Arguments: []protocol.LSPAny{args}}
		}
		create = nil
	}
	if len(fix.Edits) > 0 || create != nil {
		a.Edit = s.workspaceEdit(snap, m, caps, fix.Edits, create)
	}
	return a
}

// workspaceEdit builds the edit of a fix: document changes (with a CreateFile
// operation) when the client supports them, else a map of changes.
func (s *Server) workspaceEdit(snap *Snapshot, m *mappers, caps clientCaps, edits []check.TextEdit, create *check.CreateFile) *protocol.WorkspaceEdit {
	enc := s.encoding()
	byFile := map[string][]protocol.TextEdit{}
	var order []string
	for _, e := range edits {
		if _, ok := byFile[e.File]; !ok {
			order = append(order, e.File)
		}
		byFile[e.File] = append(byFile[e.File], protocol.TextEdit{Range: lspRange(m.get(e.File), enc, e.Range), NewText: e.NewText})
	}
	if !caps.documentChanges {
		changes := map[uri.URI][]protocol.TextEdit{}
		for f, es := range byFile {
			changes[m.uriOf(f)] = es
		}
		return &protocol.WorkspaceEdit{Changes: changes}
	}
	var dc []protocol.DocumentChange
	if create != nil {
		u := m.uriOf(create.File)
		f := false
		dc = append(dc,
			&protocol.CreateFile{ResourceOperation: protocol.ResourceOperation{Kind: "create"}, Kind: "create", URI: u,
				Options: &protocol.CreateFileOptions{Overwrite: &f, IgnoreIfExists: &f}},
			&protocol.TextDocumentEdit{
				TextDocument: protocol.OptionalVersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}},
				Edits:        []protocol.TextDocumentEditElement{&protocol.TextEdit{NewText: create.Content}},
			})
	}
	for _, f := range order {
		u := m.uriOf(f)
		id := protocol.OptionalVersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}}
		if d := snap.Doc(filepath.Join(m.root, filepath.FromSlash(f))); d != nil {
			v := d.Version
			id.Version = &v
		}
		var es []protocol.TextDocumentEditElement
		for i := range byFile[f] {
			es = append(es, &byFile[f][i])
		}
		dc = append(dc, &protocol.TextDocumentEdit{TextDocument: id, Edits: es})
	}
	return &protocol.WorkspaceEdit{DocumentChanges: dc}
}

// createFile writes a new file under the project's tasks/ folder, refusing to
// overwrite one and to write anywhere a symbolic link leads out of the project (a
// link in tasks/ to ~/.bashrc, say): the folder it creates the file in must resolve
// to a place inside tasks/, and O_EXCL refuses a final component that is a link.
func createFile(root, path string, content []byte) error {
	if err := insideTasks(root, path); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	// MkdirAll follows links: judge again what the folder turned out to be.
	if err := insideTasks(root, path); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create %s: the file already exists", path)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// insideTasks refuses path unless the deepest existing folder above it resolves,
// through symbolic links, to root/tasks or a folder inside it.
func insideTasks(root, path string) error {
	tasks := filepath.Join(root, workflow.TasksDir)
	realTasks, err := filepath.EvalSymlinks(tasks)
	if err != nil {
		return fmt.Errorf("create %s: the project's tasks/ folder: %w", path, err)
	}
	if realRoot, err := filepath.EvalSymlinks(root); err == nil && !within(realTasks, realRoot) {
		return fmt.Errorf("create %s: the project's tasks/ folder is a symbolic link to %s, outside the project; pelato does not write there", path, realTasks)
	}
	dir := filepath.Dir(path)
	for {
		if _, err := os.Lstat(dir); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if real != realTasks && !within(real, realTasks) {
		return fmt.Errorf("create %s: %s is a symbolic link to %s, outside the project's tasks/ folder; pelato does not write through it", path, dir, real)
	}
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(path)
		return fmt.Errorf("create %s: it is a symbolic link (to %s); pelato does not write through it", path, target)
	}
	return nil
}

// overlaps reports whether two byte ranges touch.
func overlaps(a, b span.Range) bool { return a.Start <= b.End && b.Start <= a.End }
