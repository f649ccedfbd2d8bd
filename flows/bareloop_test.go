package flows_test

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// bareKey is the bare loop's conversation key: both endpoints, ordered.
type bareKey struct {
	a, b   [16]byte
	pa, pb uint16
	proto  uint8
}

type bareCount struct{ packets, bytes [2]uint64 }

// BenchmarkBareLoop is the reference loop of the shared bench README
// (../shared/bench/README.md beside the repository): pcapgo
// zero-copy reads, a DecodingLayerParser and a map-based flow table, nothing
// else. One op is the whole capture named by $EDGEAUDIT_BENCH_PCAP; make
// bench-compare runs it beside edgeaudit, ndpiReader and tshark.
func BenchmarkBareLoop(b *testing.B) {
	path := os.Getenv("EDGEAUDIT_BENCH_PCAP")
	if path == "" {
		b.Skip("EDGEAUDIT_BENCH_PCAP not set: run `make bench` to generate the Edge workload")
	}
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		udp     layers.UDP
		decoded []gopacket.LayerType
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp, &udp)
	parser.IgnoreUnsupported = true
	var packets int
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := pcapgo.NewReader(f)
		if err != nil {
			b.Fatal(err)
		}
		table := make(map[bareKey]*bareCount, 1<<16)
		for {
			data, ci, err := r.ZeroCopyReadPacketData()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			packets++
			if err := parser.DecodeLayers(data, &decoded); err != nil && len(decoded) == 0 {
				continue
			}
			var k bareKey
			var src, dst [16]byte
			var sp, dp uint16
			for _, t := range decoded {
				switch t {
				case layers.LayerTypeIPv4:
					copy(src[12:], ip4.SrcIP)
					copy(dst[12:], ip4.DstIP)
				case layers.LayerTypeIPv6:
					copy(src[:], ip6.SrcIP)
					copy(dst[:], ip6.DstIP)
				case layers.LayerTypeTCP:
					sp, dp, k.proto = uint16(tcp.SrcPort), uint16(tcp.DstPort), 6
				case layers.LayerTypeUDP:
					sp, dp, k.proto = uint16(udp.SrcPort), uint16(udp.DstPort), 17
				}
			}
			if k.proto == 0 {
				continue
			}
			dir := 0
			if string(src[:]) < string(dst[:]) || (src == dst && sp < dp) {
				k.a, k.b, k.pa, k.pb = src, dst, sp, dp
			} else {
				k.a, k.b, k.pa, k.pb, dir = dst, src, dp, sp, 1
			}
			c := table[k]
			if c == nil {
				c = &bareCount{}
				table[k] = c
			}
			c.packets[dir]++
			c.bytes[dir] += uint64(ci.Length)
		}
		f.Close()
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "pkts/s")
}
