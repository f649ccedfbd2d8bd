package main

// Builders for the hostile captures of hostile_test.go. Every capture is
// generated here, streaming into a temporary file; none is committed.

import (
	"bufio"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// pcapWriter writes a little-endian microsecond pcap.
type pcapWriter struct {
	w    *bufio.Writer
	f    *os.File
	gz   *gzip.Writer
	usec uint64
}

func newPcap(t testing.TB, path string, link uint32, compress bool) *pcapWriter {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	p := &pcapWriter{f: f}
	var w io.Writer = f
	if compress {
		p.gz, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		w = p.gz
	}
	p.w = bufio.NewWriterSize(w, 1<<20)
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 262144)
	binary.LittleEndian.PutUint32(h[20:], link)
	p.w.Write(h[:])
	return p
}

// header writes a record header claiming capLen/origLen; the caller writes
// whatever data it likes after it.
func (p *pcapWriter) header(capLen, origLen uint32) {
	p.usec++
	var h [16]byte
	binary.LittleEndian.PutUint32(h[0:], uint32(1_700_000_000+p.usec/1e6))
	binary.LittleEndian.PutUint32(h[4:], uint32(p.usec%1e6))
	binary.LittleEndian.PutUint32(h[8:], capLen)
	binary.LittleEndian.PutUint32(h[12:], origLen)
	p.w.Write(h[:])
}

func (p *pcapWriter) rec(frame []byte) {
	p.header(uint32(len(frame)), uint32(len(frame)))
	p.w.Write(frame)
}

func (p *pcapWriter) close(t testing.TB) {
	t.Helper()
	if err := p.w.Flush(); err != nil {
		t.Fatal(err)
	}
	if p.gz != nil {
		if err := p.gz.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.f.Close(); err != nil {
		t.Fatal(err)
	}
}

var (
	macA = []byte{2, 0, 0, 0, 0, 1}
	macB = []byte{2, 0, 0, 0, 0, 2}
)

// ether builds an Ethernet frame; each vlan adds an 802.1Q tag.
func ether(etherType uint16, vlans int, payload []byte) []byte {
	b := make([]byte, 0, 14+4*vlans+len(payload))
	b = append(b, macB...)
	b = append(b, macA...)
	for i := 0; i < vlans; i++ {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, uint16(i%4094+1))
	}
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, payload...)
}

// ip4 builds an IPv4 header and payload; fragOff is in 8-byte units.
func ip4(src, dst [4]byte, proto byte, id uint16, more bool, fragOff uint16, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(20+len(payload)))
	binary.BigEndian.PutUint16(b[4:], id)
	ff := fragOff & 0x1fff
	if more {
		ff |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], ff)
	b[8] = 64
	b[9] = proto
	copy(b[12:], src[:])
	copy(b[16:], dst[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[10:], ^uint16(sum))
	return append(b, payload...)
}

// ip6 builds an IPv6 header whose first next header is nh.
func ip6(src, dst [16]byte, nh byte, payload []byte) []byte {
	b := make([]byte, 40, 40+len(payload))
	b[0] = 0x60
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6] = nh
	b[7] = 64
	copy(b[8:], src[:])
	copy(b[24:], dst[:])
	return append(b, payload...)
}

const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
)

func tcpSeg(sport, dport uint16, seq, ack uint32, flags byte, payload []byte) []byte {
	b := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint32(b[4:], seq)
	binary.BigEndian.PutUint32(b[8:], ack)
	b[12] = 5 << 4
	b[13] = flags
	binary.BigEndian.PutUint16(b[14:], 65535)
	return append(b, payload...)
}

func udpDgram(sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

func tcp4(src, dst [4]byte, sport, dport uint16, seq, ack uint32, flags byte, payload []byte) []byte {
	return ether(0x0800, 0, ip4(src, dst, 6, 0, false, 0, tcpSeg(sport, dport, seq, ack, flags, payload)))
}

func udp4(src, dst [4]byte, sport, dport uint16, payload []byte) []byte {
	return ether(0x0800, 0, ip4(src, dst, 17, 0, false, 0, udpDgram(sport, dport, payload)))
}

// randomSource is an address in 203.0.113.0/24's neighbourhood: any
// public-looking address derived from r.
func randomSource(r *rand.Rand) [4]byte {
	v := r.Uint32()
	return [4]byte{byte(20 + v%180), byte(v >> 8), byte(v >> 16), byte(v>>24) | 1}
}

// Addresses of samples/topology.yaml.
var (
	accessVIP = [4]byte{198, 51, 100, 100}
	avVIP     = [4]byte{198, 51, 100, 102}
)

// stunRequest is an RFC 5389 Binding request with the given transaction id.
func stunRequest(txid [12]byte) []byte {
	b := make([]byte, 20)
	binary.BigEndian.PutUint16(b[0:], 0x0001)
	binary.BigEndian.PutUint32(b[4:], 0x2112A442)
	copy(b[8:], txid[:])
	return b
}

// clientHello is a TLS 1.2 ClientHello record naming sni.
func clientHello(sni string) []byte {
	name := []byte(sni)
	ext := binary.BigEndian.AppendUint16(nil, 0) // server_name
	ext = binary.BigEndian.AppendUint16(ext, uint16(len(name)+5))
	ext = binary.BigEndian.AppendUint16(ext, uint16(len(name)+3))
	ext = append(ext, 0)
	ext = binary.BigEndian.AppendUint16(ext, uint16(len(name)))
	ext = append(ext, name...)
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0)                // session id
	body = append(body, 0, 2, 0xc0, 0x2f) // one cipher suite
	body = append(body, 1, 0)             // null compression
	body = binary.BigEndian.AppendUint16(body, uint16(len(ext)))
	body = append(body, ext...)
	hs := []byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	hs = append(hs, body...)
	rec := []byte{0x16, 3, 1, byte(len(hs) >> 8), byte(len(hs))}
	return append(rec, hs...)
}

// writeTCPSession writes a handshake, one client payload and a server ack.
func writeTCPSession(p *pcapWriter, cli, srv [4]byte, sport, dport uint16, payload []byte) {
	p.rec(tcp4(cli, srv, sport, dport, 1000, 0, tcpSYN, nil))
	p.rec(tcp4(srv, cli, dport, sport, 5000, 1001, tcpSYN|tcpACK, nil))
	p.rec(tcp4(cli, srv, sport, dport, 1001, 5001, tcpACK, nil))
	p.rec(tcp4(cli, srv, sport, dport, 1001, 5001, tcpACK|tcpPSH, payload))
	p.rec(tcp4(srv, cli, dport, sport, 5001, 1001+uint32(len(payload)), tcpACK, nil))
}

// pcapng block writers (little-endian).

func ngBlock(typ uint32, body []byte) []byte {
	pad := (4 - len(body)%4) % 4
	n := uint32(12 + len(body) + pad)
	b := binary.LittleEndian.AppendUint32(nil, typ)
	b = binary.LittleEndian.AppendUint32(b, n)
	b = append(b, body...)
	b = append(b, make([]byte, pad)...)
	return binary.LittleEndian.AppendUint32(b, n)
}

func ngSHB() []byte {
	body := binary.LittleEndian.AppendUint32(nil, 0x1a2b3c4d)
	body = binary.LittleEndian.AppendUint16(body, 1)
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint64(body, ^uint64(0))
	return ngBlock(0x0a0d0d0a, body)
}

func ngIDB(opts []byte) []byte {
	body := binary.LittleEndian.AppendUint16(nil, 1) // Ethernet
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint32(body, 262144)
	return ngBlock(1, append(body, opts...))
}

func ngEPB(iface uint32, usec uint64, frame []byte) []byte {
	body := binary.LittleEndian.AppendUint32(nil, iface)
	body = binary.LittleEndian.AppendUint32(body, uint32(usec>>32))
	body = binary.LittleEndian.AppendUint32(body, uint32(usec))
	body = binary.LittleEndian.AppendUint32(body, uint32(len(frame)))
	body = binary.LittleEndian.AppendUint32(body, uint32(len(frame)))
	return ngBlock(6, append(body, frame...))
}

func writeFile(t testing.TB, path string, chunks ...[]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for _, c := range chunks {
		w.Write(c)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
