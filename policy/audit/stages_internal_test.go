package audit

import (
	"testing"

	"github.com/edgeaudit/edgeaudit/decode"
)

// TestTwoStages: reading and analysis get goroutines of their own when
// there are cores for them, except that on two cores a slow decompressor
// (which has a goroutine of its own) leaves the analysis one goroutine.
func TestTwoStages(t *testing.T) {
	open := func(path string) *Input {
		f, err := decode.OpenWith(path, decode.ReaderOptions{ReadAhead: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return &Input{Path: path, File: f}
	}
	plain := open("../../samples/edge-mixed.pcap")
	gz := open("../../samples/edge-mixed.pcap.gz")
	xz := open("../../samples/edge-mixed.pcap.xz")
	lz4 := open("../../samples/edge-mixed.pcap.lz4")
	for _, c := range []struct {
		name  string
		procs int
		ins   []*Input
		want  bool
	}{
		{"one core", 1, []*Input{plain}, false},
		{"plain", 2, []*Input{plain}, true},
		{"gzip", 2, []*Input{gz}, false},
		{"gzip and xz", 2, []*Input{gz, xz}, false},
		{"gzip and plain", 2, []*Input{gz, plain}, true},
		{"lz4 is fast", 2, []*Input{lz4}, true},
		{"gzip, four cores", 4, []*Input{gz}, true},
	} {
		r := &run{}
		for _, in := range c.ins {
			r.srcs = append(r.srcs, &source{in: in})
		}
		if got := r.twoStages(c.procs); got != c.want {
			t.Errorf("%s: twoStages = %v, want %v", c.name, got, c.want)
		}
	}
	f, err := decode.OpenWith("../../samples/edge-mixed.pcap.gz", decode.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.DecompressionBound() {
		t.Error("gzip read without read-ahead is not decompressed on a goroutine of its own")
	}
}
