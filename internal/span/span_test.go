package span

import "testing"

func TestMapperRoundTrip(t *testing.T) {
	// "é" is 2 bytes/1 unit, "🌡" is 4 bytes/2 UTF-16 units, "e\u0301" is a combining pair.
	content := []byte("a: b\r\nname: é🌡x\ne\u0301z: 1\n")
	m := NewMapper(content)
	tests := []struct {
		off                int
		line, c16, c8, c32 int
	}{
		{0, 0, 0, 0, 0},
		{6, 1, 0, 0, 0},
		{12, 1, 6, 6, 6},  // é
		{14, 1, 7, 8, 7},  // 🌡
		{18, 1, 9, 12, 8}, // x
		{20, 2, 0, 0, 0},
		{21, 2, 1, 1, 1}, // combining mark: its own code point
		{23, 2, 2, 3, 2},
	}
	for _, tt := range tests {
		for _, enc := range []struct {
			e   Encoding
			col int
		}{{UTF16, tt.c16}, {UTF8, tt.c8}, {UTF32, tt.c32}} {
			line, col := m.Position(tt.off, enc.e)
			if line != tt.line || col != enc.col {
				t.Errorf("Position(%d, %v) = %d:%d, want %d:%d", tt.off, enc.e, line, col, tt.line, enc.col)
			}
			back, err := m.Offset(line, col, enc.e)
			if err != nil || back != tt.off {
				t.Errorf("Offset(%d:%d, %v) = %d, %v; want %d", line, col, enc.e, back, err, tt.off)
			}
		}
	}
}

func TestMapperClamps(t *testing.T) {
	m := NewMapper([]byte("ab\r\n🌡\n"))
	if got := m.LineEnd(0); got != 2 {
		t.Errorf("LineEnd(0) = %d, want 2 (before CRLF)", got)
	}
	if off, _ := m.Offset(0, 99, UTF16); off != 2 {
		t.Errorf("past end of line = %d, want 2", off)
	}
	if off, _ := m.Offset(1, 1, UTF16); off != 4 {
		t.Errorf("inside surrogate pair = %d, want 4", off)
	}
	if off, _ := m.Offset(9, 0, UTF16); off != 9 {
		t.Errorf("past last line = %d, want 9", off)
	}
	if _, err := m.Offset(-1, 0, UTF16); err == nil {
		t.Error("negative line: want error")
	}
	if p := m.Point(4); p != (Point{2, 1}) {
		t.Errorf("Point(4) = %v", p)
	}
	if got := m.OffsetOfPoint(Point{Line: 2, Col: 2}); got != 8 {
		t.Errorf("OffsetOfPoint = %d, want 8", got)
	}
	if got := m.Text(Range{4, 8}); got != "🌡" {
		t.Errorf("Text = %q", got)
	}
}

func TestMapperLoneCR(t *testing.T) {
	m := NewMapper([]byte("a\rbc\r\nd\n"))
	if m.LineCount() != 4 {
		t.Fatalf("LineCount = %d, want 4", m.LineCount())
	}
	for off, want := range map[int]Point{0: {1, 1}, 2: {2, 1}, 3: {2, 2}, 6: {3, 1}} {
		if got := m.Point(off); got != want {
			t.Errorf("Point(%d) = %v, want %v", off, got, want)
		}
	}
	if got := m.LineEnd(1); got != 4 {
		t.Errorf("LineEnd(1) = %d, want 4", got)
	}
}

func FuzzMapper(f *testing.F) {
	f.Add([]byte("a\r\nb🌡\n\xffc"), 3, 1)
	f.Fuzz(func(t *testing.T, content []byte, line, col int) {
		m := NewMapper(content)
		for _, enc := range []Encoding{UTF8, UTF16, UTF32} {
			off, err := m.Offset(line, col, enc)
			if err != nil {
				continue
			}
			if off < 0 || off > len(content) {
				t.Fatalf("offset %d out of range", off)
			}
			l, c := m.Position(off, enc)
			if back, _ := m.Offset(l, c, enc); back != off {
				t.Fatalf("round trip %d -> %d:%d -> %d (%v)", off, l, c, back, enc)
			}
		}
	})
}
