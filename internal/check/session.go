package check

import (
	"github.com/pelato-dev/pelato/internal/workflow"
)

// Session carries what one check of a project can reuse in the next, for a caller
// that checks the same project again and again (a language server keeps one per
// project): the previous parse of workflow.yaml, which an edit of one task re-parses
// incrementally (workflow.Reparser); the task files read (FileCache, by its
// FileMode); and the workflow-rule results of tasks whose text did not change
// (cleanTasks). A check with a Session reports exactly what one without reports. It
// is safe for concurrent use.
type Session struct {
	parser *workflow.Reparser
	files  *FileCache
	clean  cleanTasks
}

// NewSession returns a Session whose task files are read again as files says.
func NewSession(files FileMode) *Session {
	return &Session{parser: workflow.NewReparser(workflow.FileName), files: NewFileCache(files)}
}

// Files returns the session's file cache: tell it which files changed (Changed).
func (s *Session) Files() *FileCache {
	if s == nil {
		return nil
	}
	return s.files
}

// Parses returns how many parses of workflow.yaml re-parsed one task entry and how
// many were done in full.
func (s *Session) Parses() (incremental, full int) { return s.parser.Stats() }

// Parse parses workflow.yaml's content as the session's checks do: incrementally
// after the previous version, and at no cost when it is the version the last check
// (or Parse) saw. It equals workflow.Parse(workflow.FileName, content).
func (s *Session) Parse(content []byte) *workflow.File { return s.parser.Parse(content) }

// parse parses workflow.yaml's content, incrementally with a Session.
func (o Options) parse(content []byte) *workflow.File {
	if o.Session == nil {
		return workflow.Parse(workflow.FileName, content)
	}
	return o.Session.Parse(content)
}
