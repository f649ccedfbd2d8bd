package decode

import (
	"errors"
	"fmt"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// LINKTYPE_* values the Decoder understands (pcap-linktype(7)).
const (
	LinkTypeNull      = 0   // BSD loopback, host byte order family
	LinkTypeEthernet  = 1   // Ethernet, with any number of 802.1Q/QinQ tags
	LinkTypeRaw12     = 12  // DLT_RAW's own value, written as-is by some tools
	LinkTypeRaw14     = 14  // DLT_RAW on OpenBSD
	LinkTypeRaw       = 101 // raw IPv4 or IPv6
	LinkTypeLoop      = 108 // OpenBSD loopback, network byte order family
	LinkTypeLinuxSLL  = 113 // Linux cooked v1 ("any" device)
	LinkTypeIPv4      = 228
	LinkTypeIPv6      = 229
	LinkTypeLinuxSLL2 = 276 // Linux cooked v2
)

// ErrUnsupportedLinkType is wrapped by Decode for a frame whose link type
// has no parser.
var ErrUnsupportedLinkType = errors.New("unsupported link type")

// DecoderOptions bounds IP fragment reassembly. Zero values give defaults.
type DecoderOptions struct {
	FragMaxDatagrams int           // datagrams under reassembly at once (DefaultFragMaxDatagrams)
	FragMaxBytes     int           // buffer bytes held for them (DefaultFragMaxBytes)
	FragTimeout      time.Duration // packet time an incomplete datagram is kept (DefaultFragTimeout)
	FragMaxFragments int           // fragments accepted per datagram (DefaultFragMaxFragments)
	NoDefrag         bool          // mark fragments but never reassemble
}

// DecoderStats counts what a Decoder had to drop or work around.
type DecoderStats struct {
	Frag FragStats
}

// Decoder decodes frames into Packets without allocating: one gopacket
// DecodingLayerParser per link type, all sharing one set of preallocated
// layers. Make one with NewDecoder: the zero value is not ready. A Decoder
// is not safe for concurrent use; give each goroutine one.
type Decoder struct {
	opts DecoderOptions

	eth   layers.Ethernet
	dot1q layers.Dot1Q
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	loop  layers.Loopback
	ip4   layers.IPv4
	ip6   layers.IPv6
	ip6x  layers.IPv6ExtensionSkipper
	ip6f  layers.IPv6Fragment
	tcp   tcpLayer
	udp   udpLayer
	icmp4 layers.ICMPv4
	icmp6 layers.ICMPv6
	pppoe pppoeSession

	ethP, vlanP, sllP, sll2P, loopP, ip4P, ip6P *gopacket.DecodingLayerParser
	decoded                                     []gopacket.LayerType

	frag *defragmenter
}

// NewDecoder returns a Decoder with the given reassembly bounds.
func NewDecoder(opts DecoderOptions) *Decoder {
	if opts.FragMaxDatagrams <= 0 {
		opts.FragMaxDatagrams = DefaultFragMaxDatagrams
	}
	if opts.FragMaxBytes <= 0 {
		opts.FragMaxBytes = DefaultFragMaxBytes
	}
	if opts.FragTimeout <= 0 {
		opts.FragTimeout = DefaultFragTimeout
	}
	if opts.FragMaxFragments <= 0 {
		opts.FragMaxFragments = DefaultFragMaxFragments
	}
	d := &Decoder{opts: opts, decoded: make([]gopacket.LayerType, 0, 16)}
	d.frag = newDefragmenter(opts)
	// The skipper takes every IPv6 extension header; the fragment layer,
	// put after it, takes the fragment header back so its fields are read.
	common := []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.pppoe,
		&d.ip4, &d.ip6, &d.ip6x, &d.ip6f, &d.tcp, &d.udp, &d.icmp4, &d.icmp6}
	mk := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first)
		p.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
		for _, l := range common {
			p.AddDecodingLayer(l)
		}
		// Stopping at a layer we do not decode (ARP, the payload
		// above TCP and UDP...) is the normal end of a frame.
		p.IgnoreUnsupported = true
		return p
	}
	d.ethP = mk(layers.LayerTypeEthernet)
	d.vlanP = mk(layers.LayerTypeDot1Q)
	d.sllP = mk(layers.LayerTypeLinuxSLL)
	d.sll2P = mk(layers.LayerTypeLinuxSLL2)
	d.loopP = mk(layers.LayerTypeLoopback)
	d.ip4P = mk(layers.LayerTypeIPv4)
	d.ip6P = mk(layers.LayerTypeIPv6)
	return d
}

// Stats returns the reassembly counters.
func (d *Decoder) Stats() DecoderStats {
	return DecoderStats{Frag: d.frag.snapshot()}
}

// SupportsLinkType reports whether Decode has a parser for lt.
func SupportsLinkType(lt uint16) bool {
	switch lt {
	case LinkTypeNull, LinkTypeLoop, LinkTypeEthernet, LinkTypeRaw, LinkTypeRaw12, LinkTypeRaw14,
		LinkTypeIPv4, LinkTypeIPv6, LinkTypeLinuxSLL, LinkTypeLinuxSLL2:
		return true
	}
	return false
}

// etherTypeQinQ9100 is the pre-standard QinQ outer tag some switches still
// send; gopacket does not map it, so the decoder continues past it itself.
const etherTypeQinQ9100 = 0x9100

// Decode decodes p.Data as p.LinkType and fills p's decoded fields (after
// p.Reset). A frame that is valid but not IP leaves IPVersion 0 and returns
// nil; a malformed frame or an unknown link type returns an error, with
// whatever was decoded before the fault left in p.
func (d *Decoder) Decode(p *Packet) error {
	p.Reset()
	d.frag.release()
	data := p.Data
	var parser *gopacket.DecodingLayerParser
	switch p.LinkType {
	case LinkTypeEthernet:
		parser = d.ethP
	case LinkTypeLinuxSLL:
		parser = d.sllP
	case LinkTypeLinuxSLL2:
		parser = d.sll2P
	case LinkTypeNull, LinkTypeLoop:
		parser = d.loopP
	case LinkTypeIPv4:
		parser = d.ip4P
	case LinkTypeIPv6:
		parser = d.ip6P
	case LinkTypeRaw, LinkTypeRaw12, LinkTypeRaw14:
		if len(data) == 0 {
			return errors.New("raw IP: empty frame")
		}
		switch data[0] >> 4 {
		case 4:
			parser = d.ip4P
		case 6:
			parser = d.ip6P
		default:
			return fmt.Errorf("raw IP: version %d", data[0]>>4)
		}
	default:
		return fmt.Errorf("%w %d", ErrUnsupportedLinkType, p.LinkType)
	}
	// A 0x9100 outer tag ends a pass; a bounded number of further passes
	// continue from the tag (real stacks have two tags, rarely three).
	for range 4 {
		err := parser.DecodeLayers(data, &d.decoded)
		next, ferr := d.fill(p)
		if err != nil {
			return err
		}
		if ferr != nil || next == nil {
			return ferr
		}
		data, parser = next, d.vlanP
	}
	return errors.New("too many VLAN tags")
}
