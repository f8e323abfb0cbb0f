package lsp

import (
	"context"
	"encoding/json"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/span"
	"github.com/pelato-dev/pelato/internal/workflow"
)

// codeLens serves textDocument/codeLens in workflow.yaml: "Generate all" and "Check"
// on the file, "Generate", "Invoke…" and "Deploy" on each task. Each runs a command through
// workspace/executeCommand.
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
	lens := func(r span.Range, title, cmd string, args CommandArgs) {
		if !s.hasCommand(cmd) {
			return
		}
		raw, err := json.Marshal(args)
		if err != nil {
			return
		}
		out = append(out, protocol.CodeLens{Range: lspRange(src.Mapper, enc, r),
			Command: protocol.Command{Title: title, Command: cmd, Arguments: []protocol.LSPAny{raw}}})
	}
	w := src.workflow()
	top := span.Range{}
	if root := w.File.Root; root != nil && root.Kind == workflow.Mapping && len(root.Fields) > 0 {
		top = root.Fields[0].KeyRange
	}
	doc := CommandArgs{URI: string(src.URI)}
	lens(top, "Generate all", CmdGen, doc)
	lens(top, "Check", CmdCheck, doc)
	for _, t := range w.Tasks {
		if t.Node.Kind != workflow.Mapping || !t.Node.Via.IsZero() || len(t.Node.Fields) == 0 {
			continue
		}
		key := t.Str("component_name")
		if key == "" {
			key = t.Str("name")
		}
		if key == "" {
			continue
		}
		r := t.Node.Fields[0].KeyRange
		lens(r, "Generate", CmdGen, CommandArgs{URI: doc.URI, Task: key})
		lens(r, "Invoke…", CmdInvoke, CommandArgs{URI: doc.URI, Task: key})
		lens(r, "Deploy", CmdDeploy, CommandArgs{URI: doc.URI, Task: key})
	}
	return out, nil
}
