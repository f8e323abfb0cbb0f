// Package termsafe makes text from a project safe to print for a person: a
// workflow.yaml, a task file or a file name may carry escape sequences that clear the
// screen, retitle the terminal, move the cursor or hide text (a carriage return, the
// bidirectional overrides of "Trojan Source"). Every human-readable output of the CLI
// passes user-supplied text through Line or Text, which replace each such character
// by a visible escape (\x1b, \r, \u202e) and leave everything else as it is.
package termsafe

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/pelato-dev/pelato/internal/lines"
)

// Line returns s with every control character escaped, line breaks included: the
// result is one line.
func Line(s string) string { return escape(s, false) }

// Text returns s with every control character escaped except line feeds (and tabs,
// which Line keeps too): for messages of several lines, such as compiler output.
func Text(s string) string { return escape(s, true) }

func escape(s string, keepNewlines bool) string {
	if clean(s, keepNewlines) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && keepNewlines, r == '\t':
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// clean reports whether s needs no escaping (the common case, checked without
// allocating).
func clean(s string, keepNewlines bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && !(c == '\n' && keepNewlines)) || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || unsafeRune(r) {
			return false
		}
		i += n
	}
	return true
}

// unsafeRune reports whether r, above ASCII, is a control character or one that
// changes how the text around it is displayed: C1 controls (0x80–0x9f, which some
// terminals obey as escape sequences), line and paragraph separators, bidirectional
// embeddings, overrides, isolates and marks, and the byte-order mark.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x200e || r == 0x200f || r == 0x061c:
		return true
	case r >= 0x2028 && r <= 0x202e:
		return true
	case r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0xfeff:
		return true
	}
	return false
}

// Lines returns a writer that passes what is written to it on to w a line at a time,
// each line escaped by Line: what a task prints, in `pelato dev` and `pelato invoke`
// alike. Flush writes an unfinished last line.
func Lines(w io.Writer) *lines.Writer {
	return &lines.Writer{Emit: func(line string) { _, _ = io.WriteString(w, Line(line)+"\n") }}
}
