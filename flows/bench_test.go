package flows_test

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows"
)

// frame is one captured record held in memory, so the benchmark measures
// decoding and the flow table rather than the disk.
type frame struct {
	data     []byte
	ts       int64
	wire     int
	linkType uint16
}

// loadWorkload reads up to n frames of the capture named by
// $EDGEAUDIT_BENCH_PCAP (make bench generates the Edge workload of
// ../shared/bench there).
func loadWorkload(b *testing.B, n int) []frame {
	path := os.Getenv("EDGEAUDIT_BENCH_PCAP")
	if path == "" {
		b.Skip("EDGEAUDIT_BENCH_PCAP not set: run `make bench` to generate the Edge workload")
	}
	f, err := decode.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var p decode.Packet
	out := make([]frame, 0, n)
	for len(out) < n {
		if err := f.Next(&p); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			b.Fatal(err)
		}
		out = append(out, frame{data: append([]byte(nil), p.Data...), ts: p.Time, wire: p.WireLen, linkType: p.LinkType})
	}
	return out
}

// BenchmarkDecodeFlows is the per-packet cost of decoding plus the flow
// table with classification, on one core: ns/op is ns per packet.
func BenchmarkDecodeFlows(b *testing.B) {
	frames := loadWorkload(b, 1_000_000)
	dec := decode.NewDecoder(decode.DecoderOptions{})
	tb := flows.NewTable(flows.Config{}, flows.Hooks{})
	var p decode.Packet
	// Warm the table so steady state, not flow creation, is measured.
	for i := range frames {
		fr := &frames[i]
		p.Data, p.Time, p.WireLen, p.LinkType, p.Frame = fr.data, fr.ts, fr.wire, fr.linkType, uint64(i+1)
		if dec.Decode(&p) == nil {
			tb.Packet(&p)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	base := frames[len(frames)-1].ts - frames[0].ts + 1
	for i := 0; i < b.N; i++ {
		k := i % len(frames)
		fr := &frames[k]
		// Later laps run later in packet time, so flows expire and
		// restart as in a longer capture.
		p.Data, p.Time, p.WireLen, p.LinkType, p.Frame = fr.data, fr.ts+int64(i/len(frames)+1)*base, fr.wire, fr.linkType, uint64(i+1)
		if dec.Decode(&p) == nil {
			tb.Packet(&p)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}
