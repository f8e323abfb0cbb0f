package workflow

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pelato-dev/pelato/internal/plural"
)

// indentMessages are yaml.v3's errors that a mis-indented line causes. yaml.v3 often
// reports them on another line than the mis-indented one (the line opening the
// enclosing block, say `tasks:`), so Parse looks for the line itself (misindented).
var indentMessages = []string{
	"did not find expected '-' indicator",
	"did not find expected key",
	"mapping values are not allowed in this context",
	"block sequence entries are not allowed in this context",
	"did not find expected <document start>",
	"did not find expected node content",
}

// isIndentMessage reports whether yaml.v3's message may come from a mis-indented line.
func isIndentMessage(msg string) bool {
	for _, m := range indentMessages {
		if strings.Contains(msg, m) {
			return true
		}
	}
	return false
}

// keyRE matches a block mapping key at the start of a line's text: a plain or quoted
// key followed by `:` and a space or the end of the line.
var keyRE = regexp.MustCompile(`^(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\[\]{},&*!|>%@` + "`" + `-][^#]*?|-[^\s#][^#]*?)[ \t]*:(?:[ \t]|$)`)

// level is a block collection open at some indentation while scanning.
type level struct {
	indent int
	seq    bool   // a sequence of `- ` items (else a mapping)
	line   int    // 1-based line where it was opened
	what   string // its first key (`name:`) or `-`, for messages
}

// misindent is a line whose indentation fits no block around it.
type misindent struct {
	line    int // 1-based
	message string
}

// misindented finds the first line of body whose indentation cannot be right: a key
// deeper than the keys beside it, a key or `- ` item at a column no enclosing block
// uses, a key at the column of a list's dashes. It reads block YAML only as deep as
// needed for that (block scalars, flow collections spanning lines and multi-line plain
// scalars are skipped); it returns false when every line fits, or when a tab is
// used for indentation (reported on its own).
func misindented(body []byte) (misindent, bool) {
	lines := strings.Split(string(body), "\n")
	var stack []level
	open := true          // the previous line ended with `key:`: a deeper block may follow
	openIndent := -1      // the indentation of that key (or of the `- ` opening a block)
	scalarUnder := -1     // inside a block scalar: lines deeper than this belong to it
	flowDepth := 0        // inside a flow collection spanning lines
	valueLine := level{}  // the last key with a scalar value on its line
	hasValueLine := false // valueLine is set
	for i, raw := range lines {
		lineNo := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		text := strings.TrimLeft(raw, " ")
		n := len(raw) - len(text)
		if strings.HasPrefix(text, "\t") {
			return misindent{}, false
		}
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if scalarUnder >= 0 {
			if n > scalarUnder {
				continue
			}
			scalarUnder = -1
		}
		if flowDepth > 0 {
			flowDepth += flowBalance(text)
			if flowDepth < 0 {
				flowDepth = 0
			}
			continue
		}
		if n == 0 && (strings.HasPrefix(text, "---") || strings.HasPrefix(text, "...") || strings.HasPrefix(text, "%")) {
			stack, open, openIndent, hasValueLine = nil, true, -1, false
			continue
		}
		dash := text == "-" || strings.HasPrefix(text, "- ")
		isKey := !dash && keyRE.MatchString(text)
		if open {
			open = false
			switch {
			case n > openIndent:
				// A nested block: it opens here.
			case n == openIndent && dash:
				// An indentless sequence under a key (`tasks:` / `- name:`).
			default:
				goto siblings
			}
			hasValueLine = false
			if dash {
				stack = append(stack, level{indent: n, seq: true, line: lineNo, what: "-"})
			} else if isKey {
				stack = append(stack, level{indent: n, line: lineNo, what: keyOf(text)})
			} else {
				continue // a scalar value on the next line
			}
			goto item
		}
	siblings:
		if hasValueLine && n > valueLine.indent {
			if isKey || dash {
				what := "`" + keyOf(text) + ":`"
				if dash {
					what = "this `- ` item"
				}
				return misindent{lineNo, fmt.Sprintf("%s is indented by %s, deeper than `%s:` on line %d (%s), whose value is already on its line: align it with `%s:` (%s) to add it to the same mapping",
					what, plural.Count(n, "space"), valueLine.what, valueLine.line, plural.Count(valueLine.indent, "space"), valueLine.what, plural.Count(valueLine.indent, "space"))}, true
			}
			continue // a plain scalar continued on the next line
		}
		hasValueLine = false
		{
			j := len(stack)
			for j > 0 && stack[j-1].indent > n {
				j--
			}
			popped := stack[j:]
			stack = stack[:j]
			var atMap, atSeq *level
			for k := len(stack) - 1; k >= 0 && stack[k].indent == n; k-- {
				if stack[k].seq {
					atSeq = &stack[k]
				} else {
					atMap = &stack[k]
				}
			}
			switch {
			case dash && atSeq != nil:
				stack = stack[:len(stack)-countAbove(stack, atSeq)]
			case isKey && atMap != nil:
				stack = stack[:len(stack)-countAbove(stack, atMap)]
			case dash && atMap != nil:
				return misindent{lineNo, fmt.Sprintf("this `- ` item is indented by %s, the column of the keys of the mapping opened by `%s:` on line %d: a list item needs a key ending with `:` above it; indent it under such a key, or align it with the list it belongs to",
					plural.Count(n, "space"), atMap.what, atMap.line)}, true
			case isKey && atSeq != nil:
				hint := ""
				if len(popped) > 0 && !popped[0].seq {
					hint = fmt.Sprintf(" by %s like `%s:` on line %d to add it to that item, or", plural.Count(popped[0].indent, "space"), popped[0].what, popped[0].line)
				}
				return misindent{lineNo, fmt.Sprintf("`%s:` is indented by %s, the column of the `- ` items of the list on line %d: indent it%s start a new item with `- `",
					keyOf(text), plural.Count(n, "space"), atSeq.line, hint)}, true
			case isKey || dash:
				return misindent{lineNo, misfitMessage(text, dash, n, stack, popped)}, true
			default:
				continue
			}
		}
	item:
		if dash {
			rest := strings.TrimLeft(strings.TrimPrefix(text, "-"), " ")
			if rest == "" || strings.HasPrefix(rest, "#") || isNodeProps(rest) {
				open, openIndent = true, n
				continue
			}
			in := n + (len(text) - len(rest))
			if !keyRE.MatchString(rest) {
				if flowDepth = flowBalance(rest); flowDepth < 0 {
					flowDepth = 0
				}
				continue
			}
			stack = append(stack, level{indent: in, line: lineNo, what: keyOf(rest)})
			n, text = in, rest
		}
		if !isKey && !dash {
			continue
		}
		value := valueOf(text)
		switch {
		case value == "" || strings.HasPrefix(value, "#") || isNodeProps(value):
			open, openIndent = true, n
		case strings.HasPrefix(value, "|") || strings.HasPrefix(value, ">"):
			scalarUnder = n
		default:
			if flowDepth = flowBalance(value); flowDepth < 0 {
				flowDepth = 0
			}
			valueLine, hasValueLine = level{indent: n, line: lineNo, what: keyOf(text)}, flowDepth == 0
		}
	}
	return misindent{}, false
}

// countAbove returns how many levels of stack lie above l (l is an element of stack).
func countAbove(stack []level, l *level) int {
	for k := range stack {
		if &stack[k] == l {
			return len(stack) - 1 - k
		}
	}
	return 0
}

// misfitMessage describes a key or `- ` item at a column no open block uses, naming
// the columns that would fit.
func misfitMessage(text string, dash bool, n int, stack, popped []level) string {
	what := "`" + keyOf(text) + ":`"
	if dash {
		what = "this `- ` item"
	}
	var fits []string
	add := func(l level) {
		if l.seq != dash {
			return
		}
		like := "`" + l.what + ":`"
		if l.seq {
			like = "the `- ` item"
		}
		fits = append(fits, fmt.Sprintf("%s like %s on line %d", plural.Count(l.indent, "space"), like, l.line))
	}
	if len(popped) > 0 {
		add(popped[0])
	}
	for k := len(stack) - 1; k >= 0; k-- {
		add(stack[k])
	}
	msg := fmt.Sprintf("%s is indented by %s, which lines up with no block above it", what, plural.Count(n, "space"))
	if len(fits) > 0 {
		if len(fits) > 2 {
			fits = fits[:2]
		}
		msg += ": indent it by " + strings.Join(fits, ", or by ")
	}
	return msg
}

// keyOf returns the key of a `key: value` line's text (without the colon).
func keyOf(text string) string {
	if text == "-" || strings.HasPrefix(text, "- ") {
		return "-"
	}
	m := keyRE.FindString(text)
	return strings.TrimRight(strings.TrimSpace(m), ":")
}

// valueOf returns what follows the key of a `key: value` line's text.
func valueOf(text string) string {
	m := keyRE.FindString(text)
	return strings.TrimSpace(text[len(m):])
}

// isNodeProps reports whether a value is only an anchor and/or a tag (`&base`,
// `!!map`): the node itself follows on the next lines.
func isNodeProps(v string) bool {
	for _, f := range strings.Fields(v) {
		if strings.HasPrefix(f, "#") {
			return true
		}
		if !strings.HasPrefix(f, "&") && !strings.HasPrefix(f, "!") {
			return false
		}
	}
	return true
}

// flowBalance returns how many flow collections ([ or {) s leaves open, outside quotes
// and comments.
func flowBalance(s string) int {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			if depth > 0 || i == 0 || s[i-1] == ' ' {
				quote = c
			}
		case c == '#' && (i == 0 || s[i-1] == ' '):
			return depth
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
		}
	}
	return depth
}
