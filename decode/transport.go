package decode

import (
	"errors"
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// tcpLayer and udpLayer end the parse at the transport. gopacket's own
// NextLayerType looks the ports up to guess an application layer, which
// edgeaudit never decodes through it (the classifier reads the payload):
// that lookup was a tenth of the decoder's time.
type tcpLayer struct{ layers.TCP }

func (*tcpLayer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

type udpLayer struct{ layers.UDP }

func (*udpLayer) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

// fillTransport copies the transport layer the parser decoded, if any.
func (d *Decoder) fillTransport(p *Packet) error {
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeTCP:
			d.fillTCP(p)
		case layers.LayerTypeUDP:
			d.fillUDP(p)
		case layers.LayerTypeICMPv4:
			d.fillICMPv4(p)
		case layers.LayerTypeICMPv6:
			d.fillICMPv6(p)
		}
	}
	return nil
}

// decodeTransport decodes a reassembled datagram's transport header
// directly with the preallocated layer: the parser chain starts at the link
// layer and cannot be entered half way.
func (d *Decoder) decodeTransport(p *Packet, proto uint8, data []byte) error {
	var err error
	switch proto {
	case ProtoTCP:
		if err = d.tcp.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err == nil {
			d.fillTCP(p)
		}
	case ProtoUDP:
		if err = d.udp.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err == nil {
			d.fillUDP(p)
		}
	case ProtoICMP:
		if err = d.icmp4.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err == nil {
			d.fillICMPv4(p)
		}
	case ProtoICMPv6:
		if err = d.icmp6.DecodeFromBytes(data, gopacket.NilDecodeFeedback); err == nil {
			d.fillICMPv6(p)
		}
	}
	if err != nil {
		return fmt.Errorf("reassembled datagram: %w", err)
	}
	return nil
}

func (d *Decoder) fillTCP(p *Packet) {
	t := &d.tcp
	p.Proto = ProtoTCP
	p.SrcPort, p.DstPort = uint16(t.SrcPort), uint16(t.DstPort)
	p.TCPFlags = t.Contents[13] // DecodeFromBytes guarantees a 20-byte header
	p.Seq, p.Ack, p.Window = t.Seq, t.Ack, t.Window
	p.Payload = t.Payload
}

func (d *Decoder) fillUDP(p *Packet) {
	u := &d.udp
	p.Proto = ProtoUDP
	p.SrcPort, p.DstPort = uint16(u.SrcPort), uint16(u.DstPort)
	p.Payload = u.Payload
}

func (d *Decoder) fillICMPv4(p *Packet) {
	c := &d.icmp4
	p.ICMPType, p.ICMPCode = c.TypeCode.Type(), c.TypeCode.Code()
	p.Payload = c.Payload
	switch p.ICMPType {
	case layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4TypeSourceQuench,
		layers.ICMPv4TypeRedirect, layers.ICMPv4TypeTimeExceeded, layers.ICMPv4TypeParameterProblem:
		p.Inner = quotedIPv4(c.Payload)
	}
}

func (d *Decoder) fillICMPv6(p *Packet) {
	c := &d.icmp6
	p.ICMPType, p.ICMPCode = c.TypeCode.Type(), c.TypeCode.Code()
	p.Payload = c.Payload
	switch p.ICMPType {
	case layers.ICMPv6TypeDestinationUnreachable, layers.ICMPv6TypePacketTooBig,
		layers.ICMPv6TypeTimeExceeded, layers.ICMPv6TypeParameterProblem:
		// Four bytes (unused, MTU or pointer) precede the quoted packet.
		if len(c.Payload) >= 4 {
			p.Inner = quotedIPv6(c.Payload[4:])
		}
	}
}

var errExtHeader = errors.New("IPv6 extension header runs past the datagram")

// skipIPv6Ext walks the extension headers at the start of b and returns the
// upper-layer protocol and its bytes. A non-first fragment header means the
// ports are not here; it returns the fragment's protocol with no bytes.
func skipIPv6Ext(nh uint8, b []byte) (uint8, []byte, error) {
	for range 16 { // more headers than that is an attack, not a packet
		switch nh {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(b) < 2 {
				return nh, nil, errExtHeader
			}
			n := (int(b[1]) + 1) * 8
			if len(b) < n {
				return nh, nil, errExtHeader
			}
			nh, b = b[0], b[n:]
		case 44: // fragment
			if len(b) < 8 {
				return nh, nil, errExtHeader
			}
			off := (uint16(b[2])<<8 | uint16(b[3])) &^ 7
			nh, b = b[0], b[8:]
			if off != 0 {
				return nh, nil, nil
			}
		case 51: // authentication header counts 4-byte units
			if len(b) < 2 {
				return nh, nil, errExtHeader
			}
			n := (int(b[1]) + 2) * 4
			if len(b) < n {
				return nh, nil, errExtHeader
			}
			nh, b = b[0], b[n:]
		default:
			return nh, b, nil
		}
	}
	return nh, nil, errExtHeader
}
