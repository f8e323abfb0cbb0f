// Package span maps between the position systems pelato meets: byte offsets (the
// core's canonical form), 1-based lines with character (rune) columns as printed by
// the CLI and reported by yaml.v3, and 0-based lines with UTF-16 or UTF-8 columns as
// spoken by LSP clients.
//
// A Range is a half-open byte interval [Start, End) into one file's content. Every
// other representation is derived from it through a Mapper built once per content.
package span

import (
	"fmt"
	"sort"
	"unicode/utf8"
)

// Range is a half-open interval of byte offsets [Start, End) in a file's content.
type Range struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

// IsZero reports whether r is the zero Range (used for "no position").
func (r Range) IsZero() bool { return r.Start == 0 && r.End == 0 }

// Contains reports whether byte offset off lies within r (an empty range contains its start).
func (r Range) Contains(off int) bool {
	return off >= r.Start && (off < r.End || (r.Start == r.End && off == r.Start))
}

// Point is a position as a person reads it: 1-based line and 1-based column counted in
// characters (Unicode code points).
type Point struct {
	Line int `json:"line"`
	Col  int `json:"column"`
}

// Encoding names the unit an LSP column counts.
type Encoding int

const (
	// UTF16 counts UTF-16 code units: the LSP default.
	UTF16 Encoding = iota
	// UTF8 counts bytes.
	UTF8
	// UTF32 counts code points.
	UTF32
)

// Mapper converts between byte offsets and line/column forms for one immutable content.
// Line breaks are "\n", "\r\n" and a lone "\r", as in LSP and YAML; a break is never a
// column a caller can point into.
type Mapper struct {
	content []byte
	lines   []int // byte offset of the start of each line (0-based line index)
}

// NewMapper builds a Mapper over content. The content must not change afterwards.
func NewMapper(content []byte) *Mapper {
	lines := make([]int, 1, 1+len(content)/32)
	for i, b := range content {
		if b == '\n' || (b == '\r' && (i+1 == len(content) || content[i+1] != '\n')) {
			lines = append(lines, i+1)
		}
	}
	return &Mapper{content: content, lines: lines}
}

// Content returns the mapped content.
func (m *Mapper) Content() []byte { return m.content }

// LineCount returns the number of lines (a trailing newline starts a last, empty line).
func (m *Mapper) LineCount() int { return len(m.lines) }

// LineStart returns the byte offset at which 0-based line starts (clamped to the file).
func (m *Mapper) LineStart(line int) int {
	if line < 0 {
		return 0
	}
	if line >= len(m.lines) {
		return len(m.content)
	}
	return m.lines[line]
}

// LineEnd returns the byte offset of the end of 0-based line's text, before its line break.
func (m *Mapper) LineEnd(line int) int {
	if line < 0 {
		line = 0
	}
	if line+1 >= len(m.lines) {
		return len(m.content)
	}
	end := m.lines[line+1] - 1 // the "\n" or lone "\r"
	if m.content[end] == '\n' && end > m.lines[line] && m.content[end-1] == '\r' {
		end--
	}
	return end
}

// LineOf returns the 0-based line holding byte offset off (clamped).
func (m *Mapper) LineOf(off int) int {
	off = m.clamp(off)
	return sort.Search(len(m.lines), func(i int) bool { return m.lines[i] > off }) - 1
}

func (m *Mapper) clamp(off int) int {
	if off < 0 {
		return 0
	}
	if off > len(m.content) {
		return len(m.content)
	}
	return off
}

// Point returns the 1-based line and character column of byte offset off.
func (m *Mapper) Point(off int) Point {
	line, col := m.Position(off, UTF32)
	return Point{Line: line + 1, Col: col + 1}
}

// Position returns the 0-based line and the column of byte offset off counted in enc.
// An offset inside a multi-byte character counts as that character's start.
func (m *Mapper) Position(off int, enc Encoding) (line, col int) {
	off = m.clamp(off)
	line = m.LineOf(off)
	start := m.lines[line]
	if enc == UTF8 {
		return line, off - start
	}
	for i := start; i < off; {
		r, size := utf8.DecodeRune(m.content[i:])
		if i+size > off { // off is inside this character
			break
		}
		col += units(r, enc)
		i += size
	}
	return line, col
}

func units(r rune, enc Encoding) int {
	if enc == UTF16 && r >= 0x10000 && r != utf8.RuneError {
		return 2
	}
	return 1
}

// Offset returns the byte offset of the 0-based line and column counted in enc. A column
// past the end of the line clamps to the line's end; a column inside a surrogate pair
// clamps to the character's start; a line past the end clamps to the end of the content.
func (m *Mapper) Offset(line, col int, enc Encoding) (int, error) {
	if line < 0 || col < 0 {
		return 0, fmt.Errorf("position %d:%d is negative", line, col)
	}
	if line >= len(m.lines) {
		return len(m.content), nil
	}
	start, end := m.lines[line], m.LineEnd(line)
	if enc == UTF8 {
		if start+col > end {
			return end, nil
		}
		return start + col, nil
	}
	i, n := start, 0
	for i < end {
		r, size := utf8.DecodeRune(m.content[i:])
		u := units(r, enc)
		if n+u > col {
			break
		}
		n += u
		i += size
	}
	return i, nil
}

// OffsetOfPoint converts a 1-based line and character column (as yaml.v3 reports them)
// into a byte offset. Out-of-range values clamp as Offset does.
func (m *Mapper) OffsetOfPoint(p Point) int {
	if p.Line < 1 {
		return 0
	}
	col := p.Col - 1
	if col < 0 {
		col = 0
	}
	off, _ := m.Offset(p.Line-1, col, UTF32)
	return off
}

// Text returns the content covered by r (clamped).
func (m *Mapper) Text(r Range) string {
	s, e := m.clamp(r.Start), m.clamp(r.End)
	if e < s {
		e = s
	}
	return string(m.content[s:e])
}
