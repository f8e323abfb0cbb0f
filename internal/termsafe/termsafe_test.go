package termsafe

import "testing"

func TestLineAndText(t *testing.T) {
	for _, tc := range []struct{ in, line, text string }{
		{"plain text, ünïcödé 🌡", "plain text, ünïcödé 🌡", "plain text, ünïcödé 🌡"},
		{"clear\x1b[2J\x1b]0;owned\x07", `clear\x1b[2J\x1b]0;owned\x07`, `clear\x1b[2J\x1b]0;owned\x07`},
		{"over\rwrite", `over\rwrite`, `over\rwrite`},
		{"two\nlines\ttab", `two\nlines` + "\ttab", "two\nlines\ttab"},
		{"csi\u009b31m", `csi\u009b31m`, `csi\u009b31m`},
		{"trojan\u202esource\u2066", `trojan\u202esource\u2066`, `trojan\u202esource\u2066`},
		{"bad\xffutf8\x00", `bad\xffutf8\x00`, `bad\xffutf8\x00`},
		{"del\x7f", `del\x7f`, `del\x7f`},
	} {
		if got := Line(tc.in); got != tc.line {
			t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.line)
		}
		if got := Text(tc.in); got != tc.text {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.text)
		}
	}
}

func FuzzLineIsPrintable(f *testing.F) {
	f.Add("a\x1b[2Jb\r\n\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		out := Line(s)
		for _, r := range out {
			if r < 0x20 && r != '\t' || r == 0x7f || unsafeRune(r) {
				t.Fatalf("Line(%q) = %q keeps %U", s, out, r)
			}
		}
		if clean(s, false) && out != s {
			t.Fatalf("clean text changed: %q → %q", s, out)
		}
	})
}
