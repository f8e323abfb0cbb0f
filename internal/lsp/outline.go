package lsp

import (
	"regexp"
	"strings"

	"github.com/pelato-dev/pelato/internal/span"
)

// yline is one line of a workflow.yaml as a tolerant line scan sees it. Completion
// works on text being typed, which often does not parse as YAML.
type yline struct {
	start, end int    // byte offsets of the line's text, without its line break
	col        int    // column (bytes) of the first character; -1 on blank and comment lines
	dash       bool   // the line starts a list item ("- ")
	keyCol     int    // column after the item's dash (equal to col without a dash)
	key        string // the key when the line holds `key:`
	value      string // the text after `key:`, comment removed and trimmed
	valueStart int    // column of the value's first character
}

// keyRE matches a key and its colon at the start of a line's content.
var keyRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*:(?:[ \t]|$)`)

// scanLines splits content into ylines.
func scanLines(m *span.Mapper) []yline {
	content := m.Content()
	out := make([]yline, m.LineCount())
	for i := range out {
		start, end := m.LineStart(i), m.LineEnd(i)
		out[i] = parseLine(string(content[start:end]), start, end)
	}
	return out
}

// parseLine reads one line's structure.
func parseLine(text string, start, end int) yline {
	l := yline{start: start, end: end, col: -1}
	i := 0
	for i < len(text) && text[i] == ' ' {
		i++
	}
	if i == len(text) || text[i] == '#' {
		return l
	}
	l.col, l.keyCol = i, i
	if text[i] == '-' && (i+1 == len(text) || text[i+1] == ' ') {
		l.dash = true
		j := i + 1
		for j < len(text) && text[j] == ' ' {
			j++
		}
		l.keyCol = j
	}
	rest := text[l.keyCol:]
	if m := keyRE.FindStringSubmatch(rest); m != nil {
		l.key = m[1]
		v := l.keyCol + len(m[0])
		for v < len(text) && (text[v] == ' ' || text[v] == '\t') {
			v++
		}
		l.valueStart = v
		l.value = stripComment(text[v:])
	}
	return l
}

// stripComment removes a trailing `#` comment and surrounding blanks from a value.
func stripComment(v string) string {
	if strings.HasPrefix(v, "#") {
		return ""
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// blank reports whether the line holds nothing but blanks or a comment.
func (l yline) blank() bool { return l.col < 0 }

// itemParent returns the index of the line whose key holds the list item that starts
// on line i at column col, or -1.
func itemParent(lines []yline, i, col int) int {
	for j := i - 1; j >= 0; j-- {
		l := lines[j]
		switch {
		case l.blank():
			continue
		case l.dash && l.col == col: // a sibling item
			continue
		case l.col > col: // inside a sibling item
			continue
		case l.keyCol <= col && l.key != "" && l.value == "":
			return j
		default:
			return -1
		}
	}
	return -1
}

// taskBlock is the lines of one task item of `tasks:`.
type taskBlock struct {
	first, end int // line range [first, end)
	keyCol     int // column of the task's keys
}

// findTask returns the task item holding line i whose keys start at column keyCol.
func findTask(lines []yline, i, keyCol int) (taskBlock, bool) {
	first := -1
	for j := i; j >= 0; j-- {
		l := lines[j]
		if j != i && l.blank() {
			continue
		}
		if l.dash && l.keyCol == keyCol {
			first = j
			break
		}
		if j != i && l.col < keyCol {
			return taskBlock{}, false
		}
	}
	if first < 0 {
		return taskBlock{}, false
	}
	p := itemParent(lines, first, lines[first].col)
	if p < 0 || lines[p].key != "tasks" || lines[p].col != 0 {
		return taskBlock{}, false
	}
	end := first + 1
	for end < len(lines) && (lines[end].blank() || lines[end].col >= keyCol || end == i) {
		end++
	}
	return taskBlock{first: first, end: end, keyCol: keyCol}, true
}

// keys returns the keys present in the task (besides the one on line skip) and the
// value of its `type:`.
func (b taskBlock) keys(lines []yline, skip int) (map[string]bool, string) {
	present := map[string]bool{}
	typ := ""
	for j := b.first; j < b.end; j++ {
		if j == skip || lines[j].key == "" || lines[j].keyCol != b.keyCol {
			continue
		}
		present[lines[j].key] = true
		if lines[j].key == "type" {
			typ = lines[j].value
		}
	}
	return present, typ
}
