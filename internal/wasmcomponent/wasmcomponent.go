// Package wasmcomponent reads the top level of a WebAssembly binary: whether it is a
// component (component model, layer 1) or a core module, and a component's imports,
// exports and custom sections. It decodes only what it needs and skips every other
// section (nested core modules and components included), so a component produced by
// any toolchain (wash, wasm-tools, TinyGo) can be listed without a Wasm runtime.
//
// Binary format: https://github.com/WebAssembly/component-model/blob/main/design/mvp/Binary.md
package wasmcomponent

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/pelato-dev/pelato/internal/userfile"
)

// MaxSize is the largest file ParseFile reads (components are a few MB).
const MaxSize = 256 << 20

// The layers of a WebAssembly binary's header.
const (
	layerCore      = 0
	layerComponent = 1
)

// Section ids of a component (Binary.md).
const (
	secCustom    = 0
	secCoreMod   = 1
	secCoreInst  = 2
	secCoreType  = 3
	secComponent = 4
	secInstance  = 5
	secAlias     = 6
	secType      = 7
	secCanon     = 8
	secStart     = 9
	secImport    = 10
	secExport    = 11
	secValue     = 12
)

// Extern is one import or export of a component.
type Extern struct {
	// Name is the import or export name, e.g. "wasi:http/incoming-handler@0.2.0".
	Name string `json:"name"`
	// Kind is what it is: "instance", "func", "type", "component", "module" or "value".
	Kind string `json:"kind"`
}

// CustomSection is a top-level custom section.
type CustomSection struct {
	Name string
	Data []byte
}

// Info describes a component.
type Info struct {
	// Version is the header's version field (0x0d for the current component model).
	Version uint16
	// Imports and Exports are the component's top-level imports and exports in order.
	Imports []Extern
	Exports []Extern
	// Custom lists the top-level custom sections (producers, component-type, ...).
	Custom []CustomSection
	// Size is the binary's length in bytes.
	Size int
}

// ImportNames returns the names of the imports.
func (i *Info) ImportNames() []string { return names(i.Imports) }

// ExportNames returns the names of the exports.
func (i *Info) ExportNames() []string { return names(i.Exports) }

// CustomSection returns the data of the first custom section called name.
func (i *Info) CustomSection(name string) ([]byte, bool) {
	for _, c := range i.Custom {
		if c.Name == name {
			return c.Data, true
		}
	}
	return nil, false
}

func names(es []Extern) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}

// ErrNotWasm is returned for data that is not a WebAssembly binary at all.
var ErrNotWasm = errors.New("not a WebAssembly binary (no \\0asm header)")

// ErrCoreModule is returned for a core WebAssembly module: a valid Wasm binary, but
// not a component.
var ErrCoreModule = errors.New("a core WebAssembly module, not a component (wasm32-wasip2 builds must produce a component; is the target wasm32-wasip1?)")

// FormatError reports a malformed component.
type FormatError struct {
	Offset int
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("malformed WebAssembly component at byte %d: %s", e.Offset, e.Msg)
}

// ParseFile reads and parses the component at path.
func ParseFile(path string) (*Info, error) {
	// Only a regular file, of at most MaxSize bytes, is read: a FIFO would block
	// the open (see internal/userfile).
	b, err := userfile.Read(path, MaxSize)
	if err != nil {
		return nil, err
	}
	info, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// Parse decodes the header and top-level sections of a component binary.
func Parse(b []byte) (*Info, error) {
	if len(b) < 8 || !bytes.Equal(b[:4], []byte("\x00asm")) {
		return nil, ErrNotWasm
	}
	version := uint16(b[4]) | uint16(b[5])<<8
	layer := uint16(b[6]) | uint16(b[7])<<8
	switch layer {
	case layerCore:
		return nil, ErrCoreModule
	case layerComponent:
	default:
		return nil, &FormatError{Offset: 6, Msg: fmt.Sprintf("unknown layer %d", layer)}
	}
	info := &Info{Version: version, Size: len(b)}
	r := &reader{b: b, off: 8}
	for !r.eof() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		body, err := r.bytes(int(size))
		if err != nil {
			return nil, r.fail("section %d declares %d bytes, %d remain", id, size, len(b)-r.off)
		}
		sr := &reader{b: b[:body.end], off: body.start}
		switch id {
		case secCustom:
			name, err := sr.name()
			if err != nil {
				return nil, err
			}
			info.Custom = append(info.Custom, CustomSection{Name: name, Data: b[sr.off:body.end]})
			continue
		case secImport:
			err = sr.vec(func() error {
				name, err := sr.externName("import")
				if err != nil {
					return err
				}
				kind, err := sr.externDesc()
				if err != nil {
					return err
				}
				info.Imports = append(info.Imports, Extern{Name: name, Kind: kind})
				return nil
			})
		case secExport:
			err = sr.vec(func() error {
				name, err := sr.externName("export")
				if err != nil {
					return err
				}
				kind, err := sr.sortIdx()
				if err != nil {
					return err
				}
				has, err := sr.byte()
				if err != nil {
					return err
				}
				switch has {
				case 0x00:
				case 0x01:
					if _, err := sr.externDesc(); err != nil {
						return err
					}
				default:
					return sr.fail("bad export type marker 0x%02x", has)
				}
				info.Exports = append(info.Exports, Extern{Name: name, Kind: kind})
				return nil
			})
		case secCoreMod, secCoreInst, secCoreType, secComponent, secInstance, secAlias, secType, secCanon, secStart, secValue:
			continue // not needed: skipped whole
		default:
			return nil, &FormatError{Offset: body.start - 1, Msg: fmt.Sprintf("unknown section id %d", id)}
		}
		if err != nil {
			return nil, err
		}
		if !sr.eof() {
			return nil, sr.fail("section %d has %d bytes left over", id, body.end-sr.off)
		}
	}
	return info, nil
}

// span is a byte range of the binary.
type span struct{ start, end int }

// reader decodes LEB128 integers, names and the externs of the binary format.
type reader struct {
	b   []byte
	off int
}

func (r *reader) eof() bool { return r.off >= len(r.b) }

func (r *reader) fail(format string, args ...any) error {
	return &FormatError{Offset: r.off, Msg: fmt.Sprintf(format, args...)}
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.fail("unexpected end")
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) peek() (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.fail("unexpected end")
	}
	return r.b[r.off], nil
}

// u32 reads an unsigned LEB128 of at most 5 bytes.
func (r *reader) u32() (uint32, error) {
	var v uint64
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if v > 0xffffffff {
				return 0, r.fail("integer too large")
			}
			return uint32(v), nil
		}
	}
	return 0, r.fail("integer representation too long")
}

// s33 reads a signed LEB128 type index (non-negative in valid binaries).
func (r *reader) s33() error {
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return r.fail("integer representation too long")
}

func (r *reader) bytes(n int) (span, error) {
	if n < 0 || n > len(r.b)-r.off {
		return span{}, r.fail("length %d past the end", n)
	}
	s := span{r.off, r.off + n}
	r.off += n
	return s, nil
}

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	s, err := r.bytes(int(n))
	if err != nil {
		return "", err
	}
	str := string(r.b[s.start:s.end])
	if !utf8.ValidString(str) {
		return "", &FormatError{Offset: s.start, Msg: "name is not UTF-8"}
	}
	return str, nil
}

// vec reads a count and calls item that many times.
func (r *reader) vec(item func() error) error {
	n, err := r.u32()
	if err != nil {
		return err
	}
	// Every item takes at least two bytes: refuse counts the section cannot hold.
	if int(n) > (len(r.b)-r.off)/2 {
		return r.fail("count %d exceeds the section", n)
	}
	for range n {
		if err := item(); err != nil {
			return err
		}
	}
	return nil
}

// externName reads importname' / exportname': a discriminator byte and a name
// (0x01 marked interface names in binaries before component-model#263).
func (r *reader) externName(what string) (string, error) {
	c, err := r.byte()
	if err != nil {
		return "", err
	}
	if c != 0x00 && c != 0x01 {
		return "", r.fail("bad %s name marker 0x%02x", what, c)
	}
	return r.name()
}

// externDesc reads an externdesc and returns its kind.
func (r *reader) externDesc() (string, error) {
	c, err := r.byte()
	if err != nil {
		return "", err
	}
	switch c {
	case 0x00:
		m, err := r.byte()
		if err != nil {
			return "", err
		}
		if m != 0x11 {
			return "", r.fail("bad core module type marker 0x%02x", m)
		}
		_, err = r.u32()
		return "module", err
	case 0x01:
		_, err = r.u32()
		return "func", err
	case 0x02:
		b, err := r.byte()
		if err != nil {
			return "", err
		}
		switch b {
		case 0x00:
			_, err = r.u32()
		case 0x01:
			err = r.valType()
		default:
			err = r.fail("bad value bound 0x%02x", b)
		}
		return "value", err
	case 0x03:
		b, err := r.byte()
		if err != nil {
			return "", err
		}
		switch b {
		case 0x00:
			_, err = r.u32()
		case 0x01:
		default:
			err = r.fail("bad type bound 0x%02x", b)
		}
		return "type", err
	case 0x04:
		_, err = r.u32()
		return "component", err
	case 0x05:
		_, err = r.u32()
		return "instance", err
	}
	return "", r.fail("bad extern kind 0x%02x", c)
}

// valType reads a valtype: a primitive type byte or a type index.
func (r *reader) valType() error {
	c, err := r.peek()
	if err != nil {
		return err
	}
	if (c >= 0x73 && c <= 0x7f) || c == 0x64 {
		r.off++
		return nil
	}
	return r.s33()
}

// sortIdx reads a sortidx and returns the kind its sort names.
func (r *reader) sortIdx() (string, error) {
	c, err := r.byte()
	if err != nil {
		return "", err
	}
	kind := ""
	switch c {
	case 0x00:
		core, err := r.byte()
		if err != nil {
			return "", err
		}
		if core != 0x11 {
			return "", r.fail("only core modules can be exported from a component, found core sort 0x%02x", core)
		}
		kind = "module"
	case 0x01:
		kind = "func"
	case 0x02:
		kind = "value"
	case 0x03:
		kind = "type"
	case 0x04:
		kind = "component"
	case 0x05:
		kind = "instance"
	default:
		return "", r.fail("bad sort 0x%02x", c)
	}
	_, err = r.u32()
	return kind, err
}
