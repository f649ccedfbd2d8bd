// Package decode turns capture files, pipes and live interfaces into a stream
// of decoded packets without allocating on the per-packet path.
package decode

import "net/netip"

// IP protocol numbers the rest of the pipeline switches on.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// TCP flag bits as they sit in the TCP header's flags byte.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
)

// Packet is one frame of a capture, decoded down to the transport payload.
// A Source fills the frame fields, a Decoder the rest. Byte slices alias
// buffers owned by the Source or Decoder and are valid only until the next
// call that fills the same Packet; copy what must outlive it.
type Packet struct {
	// Frame fields, filled by a Source.
	Point    int    // capture point index (a file, a pcapng interface, or a live interface)
	Frame    uint64 // 1-based frame number within its file, as Wireshark numbers it
	Offset   int64  // byte offset of the record in the (decompressed) capture stream
	Time     int64  // capture time, Unix nanoseconds
	WireLen  int    // original length on the wire (Wireshark's frame.len)
	LinkType uint16 // pcap LINKTYPE_* of the interface the frame was captured on
	Data     []byte // captured bytes

	// Link layer, filled by a Decoder when the link type carries MACs.
	HasMAC bool
	SrcMAC [6]byte
	DstMAC [6]byte
	VLAN   uint16 // innermost 802.1Q VLAN id, 0 if none

	// Network layer. IPVersion is 0 when the frame is not IP.
	IPVersion uint8
	Src, Dst  netip.Addr
	Proto     uint8 // IP protocol number of the transport (after IPv6 extension headers)
	TTL       uint8 // IPv4 TTL or IPv6 hop limit
	// Fragment is true for an IP fragment that did not (yet) complete a
	// datagram; its transport fields are empty. A frame that completes a
	// datagram has Fragment false, Reassembled true and the whole payload.
	Fragment    bool
	Reassembled bool

	// Transport layer.
	SrcPort, DstPort uint16
	TCPFlags         uint8
	Seq, Ack         uint32
	Window           uint16
	ICMPType         uint8
	ICMPCode         uint8
	// For ICMP errors (unreachable, time exceeded...) the 5-tuple of the
	// datagram that caused it, as quoted inside the ICMP message.
	Inner InnerTuple

	Payload []byte // transport payload (TCP/UDP data, or the ICMP body)
}

// InnerTuple is the offending datagram quoted by an ICMP error.
type InnerTuple struct {
	Valid            bool
	Proto            uint8
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
}

// Reset clears the decoded fields, keeping the frame fields.
func (p *Packet) Reset() {
	p.HasMAC = false
	p.SrcMAC, p.DstMAC = [6]byte{}, [6]byte{}
	p.VLAN = 0
	p.IPVersion = 0
	p.Src, p.Dst = netip.Addr{}, netip.Addr{}
	p.Proto, p.TTL = 0, 0
	p.Fragment, p.Reassembled = false, false
	p.SrcPort, p.DstPort = 0, 0
	p.TCPFlags, p.Seq, p.Ack, p.Window = 0, 0, 0, 0
	p.ICMPType, p.ICMPCode = 0, 0
	p.Inner = InnerTuple{}
	p.Payload = nil
}
