// Package flows builds bidirectional conversations from decoded packets:
// the flow table with packet-clock expiry, start-of-stream reassembly,
// per-direction accounting and payload classification.
package flows

import (
	"encoding/binary"
	"net/netip"

	"github.com/edgeaudit/edgeaudit/decode"
)

// Endpoint is one side of a conversation.
type Endpoint struct {
	Addr netip.Addr
	Port uint16
}

// AddrPort returns the endpoint as a netip.AddrPort.
func (e Endpoint) AddrPort() netip.AddrPort { return netip.AddrPortFrom(e.Addr, e.Port) }

// String writes the endpoint as net.JoinHostPort does.
func (e Endpoint) String() string { return e.AddrPort().String() }

// Key identifies a conversation at one capture point regardless of
// direction. It holds no pointers so that hashing it is a plain memory hash.
type Key struct {
	Lo, Hi         [16]byte // endpoint addresses, lower (address, port) first
	LoPort, HiPort uint16
	Point          uint32
	Proto          uint8
	V4             bool
}

// KeyOf returns the direction-free key of a decoded TCP or UDP packet.
func KeyOf(p *decode.Packet) (k Key) {
	s, d := p.Src.As16(), p.Dst.As16()
	k.Proto = p.Proto
	k.Point = uint32(p.Point)
	k.V4 = p.IPVersion == 4
	if less(&s, p.SrcPort, &d, p.DstPort) {
		k.Lo, k.LoPort, k.Hi, k.HiPort = s, p.SrcPort, d, p.DstPort
		return k
	}
	k.Lo, k.LoPort, k.Hi, k.HiPort = d, p.DstPort, s, p.SrcPort
	return k
}

// less orders (address, port) pairs; addresses compare as big-endian
// numbers, which is their byte order.
func less(a *[16]byte, ap uint16, b *[16]byte, bp uint16) bool {
	if x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8]); x != y {
		return x < y
	}
	if x, y := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]); x != y {
		return x < y
	}
	return ap < bp
}
