package check

import (
	"bytes"
	"strings"

	"github.com/pelato-dev/pelato/internal/span"
)

// Suppression comments: `<comment> pelato:ignore CODE[,CODE...]` alone on the line above
// a diagnostic's first line, or trailing that line, silences those codes there; `<comment> pelato:ignore-file
// CODE[,CODE...]` anywhere silences them in the whole file. The comment marker is "#"
// in workflow.yaml and "//" in Go. The word `all` matches every code.

// Suppress removes from ds the diagnostics of file that content's suppression comments
// silence. Diagnostics of other files pass through.
func Suppress(ds []Diagnostic, file string, content []byte, marker string) []Diagnostic {
	lineCodes, fileCodes := suppressions(content, marker)
	if len(lineCodes) == 0 && len(fileCodes) == 0 {
		return ds
	}
	m := span.NewMapper(content)
	out := ds[:0]
	for _, d := range ds {
		if d.File == file {
			line := m.LineOf(d.Range.Start)
			if matches(fileCodes, d.Code) || matches(lineCodes[line], d.Code) {
				continue
			}
		}
		out = append(out, d)
	}
	return out
}

func matches(codes []string, c Code) bool {
	for _, s := range codes {
		if strings.EqualFold(s, string(c)) || s == "all" {
			return true
		}
	}
	return false
}

// suppressions finds the ignore comments of content: per 0-based line they silence (the
// next line for a comment alone on its line, its own line for a trailing comment), and
// file-wide.
func suppressions(content []byte, marker string) (map[int][]string, []string) {
	if !bytes.Contains(content, []byte("pelato:ignore")) {
		return nil, nil
	}
	lines := map[int][]string{}
	var file []string
	for i, line := range bytes.Split(content, []byte("\n")) {
		text := string(bytes.TrimSpace(line))
		idx := strings.Index(text, marker)
		if idx < 0 {
			continue
		}
		comment := strings.TrimSpace(text[idx+len(marker):])
		switch {
		case strings.HasPrefix(comment, "pelato:ignore-file"):
			file = append(file, codeList(strings.TrimPrefix(comment, "pelato:ignore-file"))...)
		case strings.HasPrefix(comment, "pelato:ignore"):
			target := i
			if idx == 0 {
				target = i + 1
			}
			lines[target] = append(lines[target], codeList(strings.TrimPrefix(comment, "pelato:ignore"))...)
		}
	}
	return lines, file
}

func codeList(s string) []string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		s = s[:i] // a reason may follow the codes
	}
	var out []string
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// SuppressionFix returns a fix that inserts an ignore comment for d's code on the line
// above d, indented like that line.
func SuppressionFix(d Diagnostic, content []byte, marker string) Fix {
	m := span.NewMapper(content)
	line := m.LineOf(d.Range.Start)
	start := m.LineStart(line)
	indent := start
	for indent < len(content) && (content[indent] == ' ' || content[indent] == '\t') {
		indent++
	}
	nl := "\n"
	if end := m.LineEnd(line); end < len(content) && content[end] == '\r' {
		nl = "\r\n"
	}
	text := string(content[start:indent]) + marker + " pelato:ignore " + string(d.Code) + nl
	return Fix{Title: "Ignore " + string(d.Code) + " here", Edits: []TextEdit{{File: d.File, Range: span.Range{Start: start, End: start}, NewText: text}}}
}
