package report

import (
	"io"
	"unicode/utf8"
)

// jsonSafe wraps the writer JSON output goes to so that the code points
// encoding/json leaves raw but a terminal may act on — C1 controls
// (U+0080–U+009F: U+009B is CSI, U+009D is OSC in a UTF-8 terminal that
// honours C1) and bidi overrides (U+202A–U+202E, U+2066–U+2069…) — are
// written as \uXXXX escapes instead (issue 11: `cat report.json` must
// not drive the terminal). The JSON means the same: encoding/json only
// emits non-ASCII inside strings, where \uXXXX is an exact equivalent.
// ESC, BEL and the other C0 controls encoding/json escapes itself.
func jsonSafe(w io.Writer) io.Writer { return &jsonSafeWriter{w: w} }

type jsonSafeWriter struct {
	w     io.Writer
	carry []byte // an incomplete UTF-8 sequence from the previous Write
	buf   []byte
}

func (j *jsonSafeWriter) Write(p []byte) (int, error) {
	in := p
	if len(j.carry) > 0 {
		in = append(j.carry, p...)
		j.carry = nil
	}
	out := j.buf[:0]
	start := 0
	for i := 0; i < len(in); {
		c := in[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		if !utf8.FullRune(in[i:]) {
			out = append(out, in[start:i]...)
			j.carry = append([]byte(nil), in[i:]...)
			start = len(in)
			break
		}
		r, size := utf8.DecodeRune(in[i:])
		if (r >= 0x80 && r <= 0x9f) || isBidiControl(r) {
			out = append(out, in[start:i]...)
			out = append(out, '\\', 'u', hexDigit(r>>12), hexDigit(r>>8), hexDigit(r>>4), hexDigit(r))
			start = i + size
		}
		i += size
	}
	if start < len(in) {
		out = append(out, in[start:]...)
	}
	j.buf = out[:0]
	if _, err := j.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func hexDigit(v rune) byte { return "0123456789abcdef"[v&0xf] }
