package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONSafeEscapesC1AndBidi(t *testing.T) {
	in := map[string]string{"sni": "a\x1b]52;c;eA==\x07b\u009b2J\u202ec\u2066d\u00e9\U0001F600"}
	var buf bytes.Buffer
	enc := json.NewEncoder(jsonSafe(&buf))
	if err := enc.Encode(in); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, bad := range []string{"\x1b", "\x07", "\u009b", "\u202e", "\u2066"} {
		if strings.Contains(s, bad) {
			t.Errorf("raw %q in %q", bad, s)
		}
	}
	for _, want := range []string{`\u001b`, `\u0007`, `\u009b`, `\u202e`, `\u2066`, "\u00e9", "\U0001F600"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q missing from %q", want, s)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back["sni"] != in["sni"] {
		t.Fatalf("round trip: %v %q", err, back["sni"])
	}
	// A sequence split across writes is carried over.
	buf.Reset()
	w := jsonSafe(&buf)
	w.Write([]byte("\"x\xc2"))
	w.Write([]byte("\x9by\""))
	if buf.String() != `"x\u009by"` {
		t.Fatalf("split: %q", buf.String())
	}
}
