package lines

import (
	"slices"
	"strings"
	"testing"
)

func TestWriter(t *testing.T) {
	var got []string
	w := &Writer{Emit: func(l string) { got = append(got, l) }}
	for _, p := range []string{"one\ntw", "o\n", "\nthree", ""} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if want := []string{"one", "two", ""}; !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
	w.Flush()
	w.Flush()
	if got[len(got)-1] != "three" || len(got) != 4 {
		t.Errorf("after Flush: %q", got)
	}

	// Output with no line break is emitted in MaxLine pieces, not buffered forever.
	got = nil
	w.Write([]byte(strings.Repeat("x", 2*MaxLine+10)))
	if len(got) != 2 || len(got[0]) != MaxLine || len(w.buf) != 10 {
		t.Errorf("%d pieces, %d bytes kept", len(got), len(w.buf))
	}
}
