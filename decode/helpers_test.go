package decode

import (
	"bytes"
	"encoding/binary"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
)

// testRecord is one frame of a generated capture.
type testRecord struct {
	iface int    // pcapng interface within its section
	ts    uint64 // timestamp in the interface's units
	wire  int    // original length, 0 = len(data)
	data  []byte
}

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xa}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0xb}
	ip4A = net.IP{192, 0, 2, 1}
	ip4B = net.IP{198, 51, 100, 100}
	ip6A = net.ParseIP("2001:db8::1")
	ip6B = net.ParseIP("2001:db8::2")
)

// serialize builds a frame from layers, fixing lengths and checksums.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	for _, l := range ls {
		switch v := l.(type) {
		case *layers.TCP:
			v.SetNetworkLayerForChecksum(findNet(ls))
		case *layers.UDP:
			v.SetNetworkLayerForChecksum(findNet(ls))
		case *layers.ICMPv6:
			v.SetNetworkLayerForChecksum(findNet(ls))
		}
	}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func findNet(ls []gopacket.SerializableLayer) gopacket.NetworkLayer {
	var n gopacket.NetworkLayer
	for _, l := range ls {
		if nl, ok := l.(gopacket.NetworkLayer); ok && n == nil {
			n = nl
		}
	}
	return n
}

func eth(typ layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: typ}
}

func ipv4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 7, Protocol: proto, SrcIP: ip4A, DstIP: ip4B}
}

func ipv6(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 63, NextHeader: next, SrcIP: ip6A, DstIP: ip6B}
}

func tcpSyn() *layers.TCP {
	return &layers.TCP{SrcPort: 50000, DstPort: 443, Seq: 1000, SYN: true, Window: 8192}
}

func udp(sp, dp uint16) *layers.UDP {
	return &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
}

// ethTCP is the plain frame most reader tests carry.
func ethTCP(t testing.TB, n int) []byte {
	payload := bytes.Repeat([]byte{byte(n)}, n%50)
	return serialize(t, eth(layers.EthernetTypeIPv4), ipv4(layers.IPProtocolTCP), tcpSyn(), gopacket.Payload(payload))
}

// pcapBytes writes a classic pcap in either byte order and resolution.
func pcapBytes(order binary.ByteOrder, nanos bool, link uint32, recs []testRecord) []byte {
	var b bytes.Buffer
	magic := uint32(pcapMagicMicro)
	if nanos {
		magic = pcapMagicNano
	}
	h := make([]byte, 24)
	order.PutUint32(h[0:], magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], 65535)
	order.PutUint32(h[20:], link)
	b.Write(h)
	div := uint64(1e6)
	if nanos {
		div = 1e9
	}
	for _, r := range recs {
		rh := make([]byte, 16)
		order.PutUint32(rh[0:], uint32(r.ts/div))
		order.PutUint32(rh[4:], uint32(r.ts%div))
		order.PutUint32(rh[8:], uint32(len(r.data)))
		wire := r.wire
		if wire == 0 {
			wire = len(r.data)
		}
		order.PutUint32(rh[12:], uint32(wire))
		b.Write(rh)
		b.Write(r.data)
	}
	return b.Bytes()
}

// ngIfaceSpec describes one interface of a generated pcapng section.
type ngIfaceSpec struct {
	link   uint16
	name   string
	tsres  byte // if_tsresol, 0 = option absent (microseconds)
	offset int64
}

// ngSection builds one pcapng section by hand: pcapgo's writer always
// writes little-endian nanosecond interfaces, and these tests need the
// other byte order and resolutions.
func ngSection(order binary.ByteOrder, ifs []ngIfaceSpec, recs []testRecord) []byte {
	var b bytes.Buffer
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		h := make([]byte, 8)
		order.PutUint32(h[0:], typ)
		order.PutUint32(h[4:], n)
		b.Write(h)
		b.Write(body)
		tr := make([]byte, 4)
		order.PutUint32(tr, n)
		b.Write(tr)
	}
	opt := func(dst []byte, code uint16, v []byte) []byte {
		h := make([]byte, 4)
		order.PutUint16(h[0:], code)
		order.PutUint16(h[2:], uint16(len(v)))
		dst = append(dst, h...)
		dst = append(dst, v...)
		for len(dst)%4 != 0 {
			dst = append(dst, 0)
		}
		return dst
	}
	shb := make([]byte, 16)
	order.PutUint32(shb[0:], ngByteOrder)
	order.PutUint16(shb[4:], 1)
	order.PutUint64(shb[8:], ^uint64(0))
	block(ngSHB, shb)
	for _, it := range ifs {
		idb := make([]byte, 8)
		order.PutUint16(idb[0:], it.link)
		order.PutUint32(idb[4:], 262144)
		if it.name != "" {
			idb = opt(idb, ngOptName, []byte(it.name))
		}
		if it.tsres != 0 {
			idb = opt(idb, ngOptTSResol, []byte{it.tsres})
		}
		if it.offset != 0 {
			v := make([]byte, 8)
			order.PutUint64(v, uint64(it.offset))
			idb = opt(idb, ngOptTSOff, v)
		}
		idb = opt(idb, ngOptEnd, nil)
		block(ngIDB, idb)
	}
	for _, r := range recs {
		epb := make([]byte, 20, 20+len(r.data))
		order.PutUint32(epb[0:], uint32(r.iface))
		order.PutUint32(epb[4:], uint32(r.ts>>32))
		order.PutUint32(epb[8:], uint32(r.ts))
		order.PutUint32(epb[12:], uint32(len(r.data)))
		wire := r.wire
		if wire == 0 {
			wire = len(r.data)
		}
		order.PutUint32(epb[16:], uint32(wire))
		block(ngEPB, append(epb, r.data...))
	}
	return b.Bytes()
}

// pcapgoFile writes recs with gopacket's own pcap writer, so the reader is
// checked against an independent implementation.
func pcapgoFile(t testing.TB, nanos bool, recs []testRecord) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if nanos {
		w = pcapgo.NewWriterNanos(&b)
	}
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, int64(r.ts)), CaptureLength: len(r.data), Length: len(r.data)}
		if err := w.WritePacket(ci, r.data); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// compress wraps b in the named compression.
func compress(t testing.TB, kind string, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	switch kind {
	case CompressionNone:
		return b
	case CompressionGzip:
		w := gzip.NewWriter(&out)
		w.Write(b)
		w.Close()
	case CompressionZstd:
		w, err := zstd.NewWriter(&out)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		w.Close()
	case CompressionLZ4:
		w := lz4.NewWriter(&out)
		w.Write(b)
		w.Close()
	case CompressionXZ:
		w, err := xz.NewWriter(&out)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
		w.Close()
	case CompressionBzip2:
		// The standard library only decompresses bzip2.
		if _, err := exec.LookPath("bzip2"); err != nil {
			t.Skip("bzip2 command not installed; cannot make a bzip2 capture")
		}
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin = bytes.NewReader(b)
		o, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return o
	default:
		t.Fatalf("unknown compression %s", kind)
	}
	return out.Bytes()
}

// readAll reads every frame, copying Data, and returns the final error.
func readAll(t testing.TB, f *File) ([]Packet, error) {
	t.Helper()
	var out []Packet
	for {
		var p Packet
		err := f.Next(&p)
		if err != nil {
			return out, err
		}
		p.Data = append([]byte(nil), p.Data...)
		out = append(out, p)
	}
}
