package main

// Frame building. gopacket serializes every layer so that IPv4, TCP, UDP
// and ICMP checksums and lengths are computed by the same library the
// decoder tests use — no checksum is ever written by hand here.

import (
	"net"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TCP flag bits, in the order of the TCP header's flag byte.
const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

// hop is how one direction of a conversation looks on one capture
// segment: which MACs carry it and which (possibly translated) endpoints
// the IP/transport headers show.
type hop struct {
	srcMAC, dstMAC mac
	src, dst       netip.AddrPort
}

func (h hop) reverse() hop {
	return hop{srcMAC: h.dstMAC, dstMAC: h.srcMAC, src: h.dst, dst: h.src}
}

// tcpSeg is one TCP segment as the conversation builder sees it.
type tcpSeg struct {
	flags    uint8
	seq, ack uint32
	win      uint16
	opts     []layers.TCPOption
	payload  []byte
}

var serOpts = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}

func ethIP(h hop, proto layers.IPProtocol, ipid uint16, ttl uint8, df bool) (*layers.Ethernet, *layers.IPv4) {
	eth := &layers.Ethernet{
		SrcMAC:       net.HardwareAddr(h.srcMAC[:]),
		DstMAC:       net.HardwareAddr(h.dstMAC[:]),
		EthernetType: layers.EthernetTypeIPv4,
	}
	s, d := h.src.Addr().As4(), h.dst.Addr().As4()
	ip4 := &layers.IPv4{
		Version: 4, IHL: 5, TTL: ttl, Id: ipid, Protocol: proto,
		SrcIP: net.IP(s[:]), DstIP: net.IP(d[:]),
	}
	if df {
		ip4.Flags = layers.IPv4DontFragment
	}
	return eth, ip4
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, serOpts, ls...); err != nil {
		panic(err) // only reachable through a bug in this generator
	}
	return append([]byte(nil), buf.Bytes()...)
}

func frameTCP(h hop, ipid uint16, ttl uint8, s tcpSeg) []byte {
	eth, ip4 := ethIP(h, layers.IPProtocolTCP, ipid, ttl, true)
	t := &layers.TCP{
		SrcPort: layers.TCPPort(h.src.Port()), DstPort: layers.TCPPort(h.dst.Port()),
		Seq: s.seq, Ack: s.ack, Window: s.win, Options: s.opts,
		FIN: s.flags&fFIN != 0, SYN: s.flags&fSYN != 0, RST: s.flags&fRST != 0,
		PSH: s.flags&fPSH != 0, ACK: s.flags&fACK != 0,
	}
	t.SetNetworkLayerForChecksum(ip4)
	return serialize(eth, ip4, t, gopacket.Payload(s.payload))
}

func frameUDP(h hop, ipid uint16, ttl uint8, payload []byte) []byte {
	eth, ip4 := ethIP(h, layers.IPProtocolUDP, ipid, ttl, false)
	u := &layers.UDP{SrcPort: layers.UDPPort(h.src.Port()), DstPort: layers.UDPPort(h.dst.Port())}
	u.SetNetworkLayerForChecksum(ip4)
	return serialize(eth, ip4, u, gopacket.Payload(payload))
}

// frameICMPUnreach builds an ICMP destination-unreachable (port, code 3)
// quoting the IP header and first 8 bytes of the offending datagram, as
// RFC 792 requires, so a decoder can match it back to its UDP flow.
func frameICMPUnreach(h hop, ipid uint16, ttl uint8, offending []byte) []byte {
	eth, ip4 := ethIP(h, layers.IPProtocolICMPv4, ipid, ttl, false)
	ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodePort)}
	q := offending[14:] // strip Ethernet
	ihl := int(q[0]&0x0f) * 4
	return serialize(eth, ip4, ic, gopacket.Payload(q[:ihl+8]))
}

// synOpts are the options a Windows 10/Server 2012 R2 stack puts on a
// SYN: MSS 1460, window scale 8, SACK permitted.
func synOpts() []layers.TCPOption {
	return []layers.TCPOption{
		{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
		{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
		{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{8}},
		{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
		{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
		{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
	}
}
