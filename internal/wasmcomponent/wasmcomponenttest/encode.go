// Package wasmcomponenttest writes small, valid WebAssembly component binaries for
// tests: instance imports and exports with the given names (each of an empty instance
// type), custom sections, and optionally a nested core module and a nested component
// whose own imports must not be mistaken for the outer component's. The binaries
// follow the component model's Binary.md (version 0x0d, layer 1).
package wasmcomponenttest

// Spec describes the component to write.
type Spec struct {
	Imports []string
	Exports []string
	// Custom sections, written in order.
	Custom []Custom
	// Nested adds a core module and a nested component with an import of its own.
	Nested bool
	// Padding adds a custom section "padding" of this many bytes (to reach a size).
	Padding int
}

// Custom is a custom section.
type Custom struct {
	Name string
	Data []byte
}

// Encode returns the component binary described by s.
func Encode(s Spec) []byte {
	out := []byte("\x00asm\x0d\x00\x01\x00")
	for _, c := range s.Custom {
		out = section(out, 0, append(str(c.Name), c.Data...))
	}
	if s.Nested {
		// A core module with one custom section.
		core := append([]byte("\x00asm\x01\x00\x00\x00"), section(nil, 0, str("core-only"))...)
		out = section(out, 1, core)
		// A nested component importing an instance the outer component does not.
		inner := []byte("\x00asm\x0d\x00\x01\x00")
		inner = section(inner, 7, []byte{0x01, 0x42, 0x00})
		inner = section(inner, 10, append(append([]byte{0x01, 0x00}, str("nested:only/import@1.0.0")...), 0x05, 0x00))
		out = section(out, 4, inner)
	}
	// One empty instance type, index 0.
	out = section(out, 7, []byte{0x01, 0x42, 0x00})
	if len(s.Imports) > 0 {
		body := leb(nil, uint32(len(s.Imports)))
		for _, name := range s.Imports {
			body = append(body, 0x00)
			body = append(body, str(name)...)
			body = append(body, 0x05, 0x00) // (instance (type 0))
		}
		out = section(out, 10, body)
	}
	if len(s.Exports) > 0 {
		// One instance made of no exports, index len(Imports); every export names it.
		out = section(out, 5, []byte{0x01, 0x01, 0x00})
		body := leb(nil, uint32(len(s.Exports)))
		for _, name := range s.Exports {
			body = append(body, 0x00)
			body = append(body, str(name)...)
			body = append(body, 0x05)
			body = leb(body, uint32(len(s.Imports)))
			body = append(body, 0x00) // no type ascription
		}
		out = section(out, 11, body)
	}
	if s.Padding > 0 {
		out = section(out, 0, append(str("padding"), make([]byte, s.Padding)...))
	}
	return out
}

// CoreModule returns a minimal core WebAssembly module (not a component).
func CoreModule() []byte {
	return section([]byte("\x00asm\x01\x00\x00\x00"), 0, str("core"))
}

func section(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = leb(out, uint32(len(body)))
	return append(out, body...)
}

func str(s string) []byte { return append(leb(nil, uint32(len(s))), s...) }

func leb(out []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
			continue
		}
		return append(out, c)
	}
}
