// Package taskcode knows what a task's code is on disk: which files make up a task
// (a .go file, or a folder of them), the copy of a file that gets compiled (with a
// `//go:build ignore` constraint, which gopls users add, taken out, lines kept in
// place) and the gofmt-clean copy that goes into a generated project. The checker,
// the generator and the local runtime all read task code through it.
package taskcode

import (
	"bytes"
	"fmt"
	"go/build/constraint"
	"go/format"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// IsSource reports whether a folder entry is one of a folder task's files: a regular
// .go file that is not a test and not hidden or `_`-prefixed (the go tool ignores those).
func IsSource(e fs.DirEntry) bool {
	n := e.Name()
	return e.Type().IsRegular() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") &&
		!strings.HasPrefix(n, ".") && !strings.HasPrefix(n, "_")
}

// Files returns the files of the task at path (a .go file, or a folder whose
// IsSource entries form the task), sorted. A folder with no Go file is an error.
func Files(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		if !strings.HasSuffix(path, ".go") {
			return nil, fmt.Errorf("%s is not a .go file", path)
		}
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if IsSource(e) {
			out = append(out, filepath.Join(path, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("task folder %s holds no .go files", path)
	}
	sort.Strings(out)
	return out, nil
}

// Prepare returns the copy of a task file that is compiled: a `//go:build ignore` (or
// `// +build ignore`) constraint above the package clause is removed, leaving its line
// empty so every other line and column keeps its position. It also returns the offset
// of the `package` keyword in that copy, or -1 when there is none.
func Prepare(src []byte) ([]byte, int) {
	out := bytes.Clone(src)
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, func(token.Position, string) {}, scanner.ScanComments)
	removed := 0
	for {
		pos, tok, lit := s.Scan()
		switch {
		case tok == token.COMMENT:
			if isIgnoreConstraint(lit) {
				off := file.Offset(pos) - removed
				lit = strings.TrimSuffix(lit, "\r") // the scanner keeps a CR of a CRLF line
				out = append(out[:off], out[off+len(lit):]...)
				removed += len(lit)
			}
			continue
		case tok == token.PACKAGE:
			return out, file.Offset(pos) - removed
		}
		return out, -1
	}
}

// Copy returns the copy of a task file that goes into a generated project: the copy
// Prepare makes, formatted by gofmt (go/format), so the generated Go is gofmt-clean
// byte for byte whatever the task file's layout. Formatting drops the blank lines a
// removed constraint leaves at the top (and may re-indent the rest), so positions in
// the copy are not those of the task file: the checker reports on the task file
// itself. A file that does not parse is an error.
func Copy(src []byte) ([]byte, error) {
	prepared, _ := Prepare(src)
	out, err := format.Source(prepared)
	if err != nil {
		return nil, fmt.Errorf("format: %w", err)
	}
	return out, nil
}

// PosMap maps positions in a Copy back to the task file it was made from. gofmt
// keeps the sequence of tokens and comments and changes only their layout (and the
// order of imports), so the tokens of both are paired in order.
type PosMap struct {
	cp, orig []lineCol // token starts, in order, paired by index
}

type lineCol struct{ line, col int }

// MapPositions pairs the tokens of orig (a task file) and cp (its Copy). Where the
// token counts differ (cp is not a Copy of orig) only the common prefix is paired.
func MapPositions(orig, cp []byte) *PosMap {
	prepared, _ := Prepare(orig) // drops the constraint's comment, keeps every line
	m := &PosMap{cp: tokenStarts(cp), orig: tokenStarts(prepared)}
	n := min(len(m.cp), len(m.orig))
	m.cp, m.orig = m.cp[:n], m.orig[:n]
	return m
}

// Map returns the position in the task file of line and col (1-based; col 0 means
// the line's first token) of the copy, and false when no paired token starts on that
// line at or before col. A position inside a token keeps its offset from the token's
// start.
func (m *PosMap) Map(line, col int) (int, int, bool) {
	want := lineCol{line, max(col, 1)}
	if col == 0 {
		want.col = 1 << 30
	}
	// The last token that starts at or before want.
	i := sort.Search(len(m.cp), func(i int) bool {
		c := m.cp[i]
		return c.line > want.line || c.line == want.line && c.col > want.col
	}) - 1
	if col == 0 {
		// The first token of the line.
		i = sort.Search(len(m.cp), func(i int) bool { return m.cp[i].line >= line })
	}
	if i < 0 || i >= len(m.cp) || m.cp[i].line != line {
		return 0, 0, false
	}
	o := m.orig[i]
	if col == 0 {
		return o.line, 0, true
	}
	return o.line, o.col + (col - m.cp[i].col), true
}

// tokenStarts returns where every token and comment of src starts, in order; the
// semicolons the scanner inserts at line ends are left out, since gofmt adds and
// removes those with the layout.
func tokenStarts(src []byte) []lineCol {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, src, func(token.Position, string) {}, scanner.ScanComments)
	var out []lineCol
	for {
		pos, tok, _ := s.Scan()
		if tok == token.EOF {
			return out
		}
		if tok == token.SEMICOLON {
			continue // inserted ("\n") or explicit: gofmt changes both
		}
		p := file.Position(pos)
		out = append(out, lineCol{p.Line, p.Column})
	}
}

// isIgnoreConstraint reports whether a comment is exactly the build constraint
// `ignore` in //go:build or legacy // +build form.
func isIgnoreConstraint(comment string) bool {
	comment = strings.TrimSuffix(comment, "\r")
	if !constraint.IsGoBuild(comment) && !constraint.IsPlusBuild(comment) {
		return false
	}
	expr, err := constraint.Parse(comment)
	if err != nil {
		return false
	}
	tag, ok := expr.(*constraint.TagExpr)
	return ok && tag.Tag == "ignore"
}
