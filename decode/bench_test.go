package decode

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// benchFrames is an Edge-like mix: TCP 443 and 5061, UDP 3478 media and
// STUN, a VLAN-tagged frame and IPv6.
func benchFrames(t testing.TB) []Packet {
	tcp := tcpSyn()
	tcp.DstPort = 5061
	tcp.SYN, tcp.ACK, tcp.PSH = false, true, true
	return []Packet{
		{LinkType: LinkTypeEthernet, Data: ethTCP(t, 40)},
		{LinkType: LinkTypeEthernet, Data: serialize(t, eth(layers.EthernetTypeIPv4), ipv4(6), tcp, gopacket.Payload(make([]byte, 400)))},
		{LinkType: LinkTypeEthernet, Data: serialize(t, eth(layers.EthernetTypeIPv4), ipv4(17), udp(50020, 3478), gopacket.Payload(make([]byte, 172)))},
		{LinkType: LinkTypeEthernet, Data: serialize(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4},
			ipv4(17), udp(3478, 50020), gopacket.Payload(make([]byte, 100)))},
		{LinkType: LinkTypeEthernet, Data: append(serialize(t, eth(layers.EthernetTypeIPv6))[:14:14], serialize(t, ipv6(6), tcpSyn())...)},
	}
}

func TestDecodeZeroAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	// Every frame kind, not only the benchmark mix: options, extension
	// headers and ICMP errors must not allocate either.
	frames := benchFrames(t)
	for _, f := range seedFrames(t)[:4] {
		frames = append(frames, Packet{LinkType: LinkTypeEthernet, Data: f})
	}
	frames = append(frames,
		Packet{LinkType: LinkTypeLinuxSLL2, Data: sllV2(0x86dd, withIPv6Ext(serialize(t, ipv6(17), udp(1, 2))))},
		Packet{LinkType: LinkTypeLinuxSLL, Data: sllV1(0x0800, serialize(t, ipv4(6), tcpSyn()))},
		Packet{LinkType: LinkTypeNull, Data: loopback(binary.LittleEndian, 2, serialize(t, ipv4(17), udp(1, 2)))},
		Packet{LinkType: LinkTypeRaw, Data: serialize(t, ipv6(58), &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(1, 4)},
			gopacket.Payload(append(make([]byte, 4), serialize(t, ipv6(17), udp(1, 2))...)))},
	)
	d := NewDecoder(DecoderOptions{})
	var p Packet
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		p.LinkType, p.Data = frames[i%len(frames)].LinkType, frames[i%len(frames)].Data
		if err := d.Decode(&p); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per packet, want 0", allocs)
	}
}

func BenchmarkDecode(b *testing.B) {
	frames := benchFrames(b)
	d := NewDecoder(DecoderOptions{})
	var p Packet
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f := &frames[i%len(frames)]
		p.LinkType, p.Data = f.LinkType, f.Data
		if err := d.Decode(&p); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkReadPcap reads and decodes an in-memory capture of 100k frames,
// plain and compressed; one op is one whole file.
func BenchmarkReadPcap(b *testing.B) {
	frames := benchFrames(b)
	recs := make([]testRecord, 100_000)
	for i := range recs {
		recs[i] = testRecord{ts: 1_700_000_000_000_000 + uint64(i)*50, data: frames[i%len(frames)].Data}
	}
	plain := pcapBytes(binary.LittleEndian, false, 1, recs)
	for _, c := range []struct {
		comp  string
		ahead bool
	}{{CompressionNone, false}, {CompressionZstd, false}, {CompressionZstd, true}, {CompressionGzip, false}, {CompressionGzip, true}} {
		in := compress(b, c.comp, plain)
		name := c.comp
		if c.ahead {
			name += "-readahead"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(plain)))
			d := NewDecoder(DecoderOptions{})
			var p Packet
			n := 0
			for b.Loop() {
				f, err := NewReaderWith(bytes.NewReader(in), "bench", int64(len(in)), ReaderOptions{ReadAhead: c.ahead})
				if err != nil {
					b.Fatal(err)
				}
				for {
					if err := f.Next(&p); err != nil {
						if err != io.EOF {
							b.Fatal(err)
						}
						break
					}
					if err := d.Decode(&p); err != nil {
						b.Fatal(err)
					}
					n++
				}
				f.Close()
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "packets/s")
			b.ReportMetric(b.Elapsed().Seconds()*1e9/float64(n), "ns/packet")
		})
	}
}

// BenchmarkDecompress is decompression alone, through the decompressor the
// reader uses, into io.Discard: the floor for compressed input (issue 10
// wants the whole audit of a gzip capture within 1.1x of it). With
// EDGEAUDIT_BENCH_COMPRESSED naming a compressed capture it reads that
// file, as make bench-compare does.
func BenchmarkDecompress(b *testing.B) {
	if path := os.Getenv("EDGEAUDIT_BENCH_COMPRESSED"); path != "" {
		b.Run(filepath.Base(path), func(b *testing.B) {
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				br := bufio.NewReaderSize(f, 1<<20)
				dec, closeDec, err := decompressor(sniffCompression(br), br)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, dec)
				if err != nil {
					b.Fatal(err)
				}
				closeDec()
				f.Close()
				b.ReportMetric(float64(n)/1e6, "MB-out/op")
			}
		})
		return
	}
	frames := benchFrames(b)
	recs := make([]testRecord, 100_000)
	for i := range recs {
		recs[i] = testRecord{ts: 1_700_000_000_000_000 + uint64(i)*50, data: frames[i%len(frames)].Data}
	}
	plain := pcapBytes(binary.LittleEndian, false, 1, recs)
	for _, comp := range []string{CompressionZstd, CompressionGzip} {
		in := compress(b, comp, plain)
		b.Run(comp, func(b *testing.B) {
			b.SetBytes(int64(len(plain)))
			for b.Loop() {
				br := bufio.NewReaderSize(bytes.NewReader(in), 1<<20)
				dec, closeDec, err := decompressor(comp, br)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, dec); err != nil {
					b.Fatal(err)
				}
				closeDec()
			}
		})
	}
}
