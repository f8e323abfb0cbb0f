package lsp

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// The shapes of the text before the cursor that completion recognises.
var (
	// `key: value-prefix`, possibly in a list item.
	valueCtxRE = regexp.MustCompile(`^( *)(- +)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*:([ \t]*)(.*)$`)
	// `- item-prefix`
	itemCtxRE = regexp.MustCompile(`^( *)- *([^ :#\[\]{},]*)$`)
	// `key-prefix` alone on its line.
	keyCtxRE = regexp.MustCompile(`^( *)([A-Za-z_][A-Za-z0-9_.-]*)?$`)
)

// completer computes the completion items at one position of a workflow.yaml.
type completer struct {
	s        *Server
	src      *source
	root     string
	off      int
	enc      span.Encoding
	snippets bool
	lines    []yline
	line     int
}

// completion serves textDocument/completion in workflow.yaml: keys valid at the
// cursor, a whole task, template names, task files, topics and target labels.
func (s *Server) completion(_ context.Context, snap *Snapshot, params []byte) (any, error) {
	p, err := decode[protocol.CompletionParams](params)
	if err != nil {
		return nil, err
	}
	src, off, err := s.textDocumentPosition(snap, p.TextDocumentPositionParams)
	if err != nil || src == nil || !isWorkflowFile(src.Path) {
		return nil, err
	}
	s.mu.Lock()
	snippets := s.caps.snippets
	s.mu.Unlock()
	c := &completer{s: s, src: src, root: filepath.Dir(src.Path), off: off, enc: s.encoding(), snippets: snippets,
		lines: scanLines(src.Mapper), line: src.Mapper.LineOf(off)}
	items := c.items()
	if items == nil {
		items = []protocol.CompletionItem{}
	}
	return &protocol.CompletionList{Items: items}, nil
}

// items dispatches on the text before the cursor.
func (c *completer) items() []protocol.CompletionItem {
	l := c.lines[c.line]
	before := string(c.src.Content[l.start:c.off])
	if strings.Contains(before, "#") {
		return nil // in a comment
	}
	if m := valueCtxRE.FindStringSubmatch(before); m != nil {
		keyCol := len(m[1]) + len(m[2])
		return c.values(m[3], m[5], m[4] == "", keyCol > 0)
	}
	if m := itemCtxRE.FindStringSubmatch(before); m != nil {
		col := len(m[1])
		p := itemParent(c.lines, c.line, col)
		if p < 0 {
			return nil
		}
		switch {
		case c.lines[p].key == "targets":
			return c.labels(m[2], nil)
		case c.lines[p].key == "tasks" && c.lines[p].col == 0:
			keyCol := col + len(before) - len(m[1]) - len(m[2])
			items := c.keys(m[2], keyCol, true)
			return append(items, c.taskSnippet(col, span.Range{Start: l.start + col, End: c.off}))
		}
		return nil
	}
	if m := keyCtxRE.FindStringSubmatch(before); m != nil {
		col := len(m[1])
		if col == 0 {
			return c.keys(m[2], 0, false)
		}
		if _, ok := findTask(c.lines, c.line, col); ok {
			return c.keys(m[2], col, true)
		}
		if m[2] == "" {
			if p := itemParent(c.lines, c.line, col); p >= 0 && c.lines[p].key == "tasks" {
				return []protocol.CompletionItem{c.taskSnippet(col, span.Range{Start: l.start + col, End: c.off})}
			}
		}
	}
	return nil
}

// edit returns a text edit replacing the prefix the user typed before the cursor.
func (c *completer) edit(prefix, text string) *protocol.TextEdit {
	r := span.Range{Start: c.off - len(prefix), End: c.off}
	return &protocol.TextEdit{Range: lspRange(c.src.Mapper, c.enc, r), NewText: text}
}

// format returns the insert text format of the items.
func (c *completer) format() protocol.InsertTextFormat {
	if c.snippets {
		return protocol.InsertTextFormatSnippet
	}
	return protocol.InsertTextFormatPlainText
}

// keys completes keys: project keys at the top level, task keys inside a task, in
// both cases leaving out keys already present.
func (c *completer) keys(prefix string, keyCol int, task bool) []protocol.CompletionItem {
	present := map[string]bool{}
	typ := ""
	if task {
		if b, ok := findTask(c.lines, c.line, keyCol); ok {
			present, typ = b.keys(c.lines, c.line)
		}
	} else {
		for i, l := range c.lines {
			if i != c.line && l.col == 0 && !l.dash && l.key != "" {
				present[l.key] = true
			}
		}
	}
	tpl, hasTpl := c.s.reg.Lookup(typ)
	var out []protocol.CompletionItem
	for _, spec := range workflow.Keys() {
		if present[spec.Key] || spec.Replacement != "" || (spec.Scope == workflow.Project) == task {
			continue
		}
		required := spec.Required
		if spec.Scope == workflow.TemplateKey && hasTpl {
			role := tpl.KeyRole(spec.Key)
			if role != "required" && role != "optional" {
				continue
			}
			required = role == "required"
		}
		out = append(out, c.keyItem(spec, required, prefix, keyCol))
	}
	return out
}

// keyItem is the completion of one key, with a snippet for its value.
func (c *completer) keyItem(spec workflow.KeySpec, required bool, prefix string, keyCol int) protocol.CompletionItem {
	indent := strings.Repeat(" ", keyCol)
	text := spec.Key + ": "
	if c.snippets {
		switch spec.Type {
		case workflow.StringList:
			text = spec.Key + ": [$0]"
		case workflow.StringMap:
			text = spec.Key + ":\n" + indent + "  $0"
		case workflow.TaskList:
			text = spec.Key + ":\n" + indent + "  - $0"
		case workflow.Int:
			text = fmt.Sprintf("%s: ${1:%s}", spec.Key, firstNonEmpty(spec.Default, spec.Example))
		default:
			if spec.Key == "type" {
				text = "type: ${1|" + strings.Join(c.s.reg.Names(), ",") + "|}"
			} else {
				text = spec.Key + ": $0"
			}
		}
	}
	detail := spec.Type.String()
	sort := "1"
	if required {
		detail += " (required)"
		sort = "0"
	}
	return protocol.CompletionItem{
		Label:            spec.Key,
		Kind:             protocol.CompletionItemKindProperty,
		Detail:           protocol.NewOptional(detail),
		Documentation:    &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: spec.Description},
		SortText:         protocol.NewOptional(sort + spec.Key),
		FilterText:       protocol.NewOptional(spec.Key),
		InsertTextFormat: c.format(),
		InsertTextMode:   protocol.InsertTextModeAsIs,
		TextEdit:         c.edit(prefix, text),
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// taskSnippet inserts a whole task item at column col, replacing r.
func (c *completer) taskSnippet(col int, r span.Range) protocol.CompletionItem {
	ind := strings.Repeat(" ", col+2)
	names := c.s.reg.Names()
	var text string
	if c.snippets {
		text = "- name: ${1:New task}\n" +
			ind + "type: ${2|" + strings.Join(names, ",") + "|}\n" +
			ind + "code: ${3:task.go}\n" +
			ind + "targets: [${4:edge}]\n" +
			ind + "source_topic: ${5:input}\n" +
			ind + "dest_topic: ${6:output}\n" +
			ind + "component_name: ${7:new_task}\n" +
			ind + "version: ${8:1.0.0}$0"
	} else {
		text = "- name: New task\n" + ind + "type: " + names[0] + "\n" + ind + "code: task.go\n" + ind + "targets: [edge]\n" +
			ind + "source_topic: input\n" + ind + "dest_topic: output\n" + ind + "component_name: new_task\n" + ind + "version: 1.0.0"
	}
	return protocol.CompletionItem{
		Label:            "task",
		Kind:             protocol.CompletionItemKindSnippet,
		Detail:           protocol.NewOptional("a new task with every required key"),
		SortText:         protocol.NewOptional("2task"),
		FilterText:       protocol.NewOptional("- task"),
		InsertTextFormat: c.format(),
		InsertTextMode:   protocol.InsertTextModeAsIs,
		TextEdit:         &protocol.TextEdit{Range: lspRange(c.src.Mapper, c.enc, r), NewText: text},
	}
}

// values completes the value of key; raw is what follows `key:` before the cursor.
func (c *completer) values(key, raw string, noSpace, task bool) []protocol.CompletionItem {
	lead := ""
	if noSpace {
		lead = " "
	}
	if key == "targets" || key == "target" {
		if i := strings.LastIndexAny(raw, "[,"); i >= 0 {
			prefix := strings.TrimLeft(raw[i+1:], " ")
			var used []string
			for _, v := range strings.Split(strings.Trim(raw[:i+1], "[, "), ",") {
				used = append(used, strings.TrimSpace(v))
			}
			return c.labels(prefix, used)
		}
		if !task {
			return nil
		}
		return c.labels(raw, nil)
	}
	if spec, ok := workflow.LookupKey(key, task); ok && len(spec.Enum) > 0 {
		var out []protocol.CompletionItem
		for _, v := range spec.Enum {
			detail := ""
			if v == spec.Default {
				detail = "the default"
			}
			if key == "platform" {
				detail = workflow.PlatformSummary(v)
			}
			out = append(out, protocol.CompletionItem{Label: v, Kind: protocol.CompletionItemKindEnumMember,
				Detail: protocol.NewOptional(detail), TextEdit: c.edit(raw, lead+v)})
		}
		return out
	}
	if !task {
		return nil
	}
	prefix := raw
	switch key {
	case "type":
		var out []protocol.CompletionItem
		for _, t := range c.s.reg.All() {
			out = append(out, protocol.CompletionItem{
				Label:         t.Name,
				Kind:          protocol.CompletionItemKindEnumMember,
				Detail:        protocol.NewOptional(t.Signature),
				Documentation: &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: t.Description},
				TextEdit:      c.edit(prefix, lead+t.Name),
			})
		}
		return out
	case "code":
		return c.codeFiles(prefix, lead)
	case "source_topic", "dest_topic":
		var out []protocol.CompletionItem
		for _, t := range c.topics() {
			out = append(out, protocol.CompletionItem{Label: t, Kind: protocol.CompletionItemKindValue,
				Detail: protocol.NewOptional("topic used in this workflow"), TextEdit: c.edit(prefix, lead+t)})
		}
		return out
	}
	return nil
}

// codeFiles completes `code:` with the Go files and folders under tasks/.
func (c *completer) codeFiles(prefix, lead string) []protocol.CompletionItem {
	dir, folder := "", filepath.Join(c.root, workflow.TasksDir)
	if strings.Contains(prefix, "/") {
		dir = path.Dir(prefix)
		p, ok := taskPath(c.root, dir)
		if !ok {
			return nil
		}
		folder = p
	}
	entries, err := os.ReadDir(folder)
	if err != nil {
		return nil
	}
	var out []protocol.CompletionItem
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		rel := name
		if dir != "" {
			rel = dir + "/" + name
		}
		kind := protocol.CompletionItemKindFile
		if e.IsDir() {
			kind = protocol.CompletionItemKindFolder
		} else if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		out = append(out, protocol.CompletionItem{Label: rel, Kind: kind, Detail: protocol.NewOptional("tasks/" + rel),
			TextEdit: c.edit(prefix, lead+rel)})
	}
	return out
}

// topics returns the subjects other lines use as source_topic or dest_topic.
func (c *completer) topics() []string {
	set := map[string]bool{}
	for i, l := range c.lines {
		if i != c.line && (l.key == "source_topic" || l.key == "dest_topic") && l.value != "" {
			set[unquote(l.value)] = true
		}
	}
	return sortedKeys(set)
}

// labels completes target labels already used in the file, leaving out used ones.
func (c *completer) labels(prefix string, used []string) []protocol.CompletionItem {
	set := map[string]bool{}
	for i, l := range c.lines {
		if i == c.line {
			continue
		}
		switch {
		case l.key == "targets" || l.key == "target":
			for _, v := range strings.Split(strings.Trim(l.value, "[] "), ",") {
				if v = unquote(strings.TrimSpace(v)); v != "" {
					set[v] = true
				}
			}
		case l.dash && l.key == "":
			if p := itemParent(c.lines, i, l.col); p >= 0 && c.lines[p].key == "targets" {
				text := string(c.src.Content[l.start+l.keyCol : l.end])
				if v := unquote(stripComment(text)); v != "" {
					set[v] = true
				}
			}
		}
	}
	for _, u := range used {
		delete(set, unquote(u))
	}
	var out []protocol.CompletionItem
	for _, label := range sortedKeys(set) {
		out = append(out, protocol.CompletionItem{Label: label, Kind: protocol.CompletionItemKindValue,
			Detail: protocol.NewOptional("target label used in this workflow"), TextEdit: c.edit(prefix, label)})
	}
	return out
}

// unquote removes YAML quotes around a plain value.
func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

func sortedKeys(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
