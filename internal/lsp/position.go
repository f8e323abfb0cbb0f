package lsp

import (
	"math"

	"go.lsp.dev/protocol"

	"github.com/pelato-dev/pelato/internal/span"
)

// Every position crossing the wire goes through these helpers: the core speaks byte
// offsets, the client speaks lines and columns in the negotiated encoding.

// negotiateEncoding picks UTF-8 when the client offers it, else the mandatory UTF-16.
func negotiateEncoding(caps protocol.ClientCapabilities) (span.Encoding, protocol.PositionEncodingKind) {
	if caps.General != nil {
		for _, k := range caps.General.PositionEncodings {
			if k == protocol.PositionEncodingKindUTF8 {
				return span.UTF8, protocol.PositionEncodingKindUTF8
			}
		}
	}
	return span.UTF16, protocol.PositionEncodingKindUTF16
}

// offsetOf returns the byte offset of an LSP position (clamped into the content).
func offsetOf(m *span.Mapper, enc span.Encoding, p protocol.Position) int {
	off, err := m.Offset(int(p.Line), int(p.Character), enc)
	if err != nil {
		return 0
	}
	return off
}

// rangeOffsets returns the byte range of an LSP range, ordered.
func rangeOffsets(m *span.Mapper, enc span.Encoding, r protocol.Range) span.Range {
	s, e := offsetOf(m, enc, r.Start), offsetOf(m, enc, r.End)
	if e < s {
		s, e = e, s
	}
	return span.Range{Start: s, End: e}
}

// lspPosition returns the LSP position of byte offset off.
func lspPosition(m *span.Mapper, enc span.Encoding, off int) protocol.Position {
	line, col := m.Position(off, enc)
	return protocol.Position{Line: u32(line), Character: u32(col)}
}

// lspRange returns the LSP range of a byte range.
func lspRange(m *span.Mapper, enc span.Encoding, r span.Range) protocol.Range {
	return protocol.Range{Start: lspPosition(m, enc, r.Start), End: lspPosition(m, enc, r.End)}
}

func u32(n int) uint32 {
	if n < 0 {
		return 0
	}
	if n > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(n)
}
