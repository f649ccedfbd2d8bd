package report

import (
	"strings"
	"testing"
)

func TestPrintable(t *testing.T) {
	cases := []struct{ in, want string }{
		{"sip.contoso.com", "sip.contoso.com"},
		{"a\x1b[31mred", `a\x1b[31mred`},
		{"osc\x1b]52;c;ZXZpbA==\x07", `osc\x1b]52;c;ZXZpbA==\x07`},
		{"c1 \u009b31m", `c1 \u009b31m`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"tab\tnl\ncr\r", `tab\tnl\ncr\r`},
		{"del\x7f", `del\x7f`},
		{`back\slash`, `back\\slash`},
		{"ünïcode ok", "ünïcode ok"},
	}
	for _, c := range cases {
		if got := Printable(c.in); got != c.want {
			t.Errorf("Printable(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzPrintable(f *testing.F) {
	f.Add("\x1b]0;title\x07")
	f.Add("\u009b\u202e\xff")
	f.Fuzz(func(t *testing.T, s string) {
		out := Printable(s)
		for _, r := range out {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || isBidiControl(r) {
				t.Fatalf("Printable(%q) left control %U in %q", s, r, out)
			}
		}
		if strings.ContainsRune(out, 0x1b) {
			t.Fatalf("escape survived in %q", out)
		}
	})
}
