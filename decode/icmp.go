package decode

import (
	"encoding/binary"
	"net/netip"
)

// quotedIPv4 reads the 5-tuple of the IPv4 datagram an ICMP error quotes.
// RFC 792 guarantees only the IP header and 8 bytes, and routers often cut
// even that, so every field is taken only if present.
func quotedIPv4(b []byte) InnerTuple {
	if len(b) < 20 || b[0]>>4 != 4 {
		return InnerTuple{}
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl {
		return InnerTuple{}
	}
	t := InnerTuple{
		Valid: true,
		Proto: b[9],
		Src:   netip.AddrFrom4([4]byte(b[12:16])),
		Dst:   netip.AddrFrom4([4]byte(b[16:20])),
	}
	// Ports only from a first fragment.
	if binary.BigEndian.Uint16(b[6:8])&0x1fff == 0 {
		t.SrcPort, t.DstPort = quotedPorts(t.Proto, b[ihl:])
	}
	return t
}

// quotedIPv6 reads the 5-tuple of the IPv6 packet an ICMPv6 error quotes,
// walking its extension headers as far as the quote goes.
func quotedIPv6(b []byte) InnerTuple {
	if len(b) < 40 || b[0]>>4 != 6 {
		return InnerTuple{}
	}
	t := InnerTuple{
		Valid: true,
		Src:   netip.AddrFrom16([16]byte(b[8:24])),
		Dst:   netip.AddrFrom16([16]byte(b[24:40])),
	}
	nh, rest, _ := skipIPv6Ext(b[6], b[40:])
	t.Proto = nh
	t.SrcPort, t.DstPort = quotedPorts(nh, rest)
	return t
}

// quotedPorts reads the ports of a TCP, UDP, UDP-Lite or SCTP header: all
// four put them in the first four bytes.
func quotedPorts(proto uint8, b []byte) (uint16, uint16) {
	switch proto {
	case ProtoTCP, ProtoUDP, 132, 136:
		if len(b) >= 4 {
			return binary.BigEndian.Uint16(b[0:2]), binary.BigEndian.Uint16(b[2:4])
		}
	}
	return 0, 0
}
