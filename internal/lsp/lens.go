package lsp

import (
	"context"
	"encoding/json"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// codeLens serves textDocument/codeLens in workflow.yaml, from the command table
// (offers): on the file's first key one lens per command for the whole workflow
// ("Generate all", …, "Check"); on each task one per command for that task
// ("Generate", …, "Invoke…"). A command registered with NoLens gets none. Each runs
// its command through workspace/executeCommand.
func (s *Server) codeLens(_ context.Context, snap *Snapshot, params []byte) (any, error) {
	p, err := decode[protocol.CodeLensParams](params)
	if err != nil {
		return nil, err
	}
	src, err := s.workflowSource(snap, p.TextDocument)
	if err != nil || src == nil {
		return nil, err
	}
	enc := s.encoding()
	out := []protocol.CodeLens{}
	seen := map[string]bool{} // command and task: one lens each
	lens := func(r span.Range, title, cmd string, args CommandArgs) {
		if !s.hasCommand(cmd) || seen[cmd+"\x00"+args.Task] {
			return
		}
		raw, err := json.Marshal(args)
		if err != nil {
			return
		}
		seen[cmd+"\x00"+args.Task] = true
		out = append(out, protocol.CodeLens{Range: lspRange(src.Mapper, enc, r),
			Command: protocol.Command{Title: title, Command: cmd, Arguments: []protocol.LSPAny{raw}}})
	}
	var offers []offer
	for _, o := range s.offers() {
		if !o.cmd.NoLens {
			offers = append(offers, o)
		}
	}
	w := src.workflow()
	top := span.Range{}
	if root := w.File.Root; root != nil && root.Kind == workflow.Mapping && len(root.Fields) > 0 {
		top = root.Fields[0].KeyRange
	}
	doc := CommandArgs{URI: string(src.URI)}
	for _, o := range offers {
		switch {
		case o.cmd.NoWorkflow:
		case o.cmd.NoTask:
			lens(top, o.label+o.ellipsis(), o.name, doc)
		default:
			lens(top, o.label+" all"+o.ellipsis(), o.name, doc)
		}
	}
	for _, t := range w.Tasks {
		key := taskKey(t)
		if key == "" {
			continue
		}
		r := t.Node.Fields[0].KeyRange
		for _, o := range offers {
			if !o.cmd.NoTask && !o.cmd.NoTaskLens {
				lens(r, o.label+o.ellipsis(), o.name, CommandArgs{URI: doc.URI, Task: key})
			}
		}
	}
	return out, nil
}
