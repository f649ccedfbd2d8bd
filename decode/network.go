package decode

import (
	"errors"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// fill copies the layers of one DecodeLayers pass into p. It returns the
// bytes after a 0x9100 tag when the frame continues with another VLAN tag.
func (d *Decoder) fill(p *Packet) ([]byte, error) {
	var ethType layers.EthernetType
	var linkPayload []byte
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeEthernet:
			p.HasMAC = true
			copy(p.SrcMAC[:], d.eth.SrcMAC)
			copy(p.DstMAC[:], d.eth.DstMAC)
			ethType, linkPayload = d.eth.EthernetType, d.eth.Payload
		case layers.LayerTypeDot1Q:
			p.VLAN = d.dot1q.VLANIdentifier
			ethType, linkPayload = d.dot1q.Type, d.dot1q.Payload
		case layers.LayerTypeIPv4:
			return nil, d.fillIPv4(p)
		case layers.LayerTypeIPv6:
			return nil, d.fillIPv6(p)
		}
	}
	if ethType == etherTypeQinQ9100 {
		return linkPayload, nil
	}
	return nil, nil
}

func (d *Decoder) fillIPv4(p *Packet) error {
	ip := &d.ip4
	if len(ip.SrcIP) != 4 || len(ip.DstIP) != 4 {
		return errors.New("IPv4: bad address length")
	}
	p.IPVersion = 4
	p.Src = netip.AddrFrom4([4]byte(ip.SrcIP))
	p.Dst = netip.AddrFrom4([4]byte(ip.DstIP))
	p.Proto = uint8(ip.Protocol)
	p.TTL = ip.TTL
	d.frag.expire(p.Time)
	if ip.Flags&layers.IPv4MoreFragments == 0 && ip.FragOffset == 0 {
		return d.fillTransport(p)
	}
	p.Fragment = true
	if d.opts.NoDefrag {
		return nil
	}
	if len(ip.Payload) != int(ip.Length)-int(ip.IHL)*4 {
		d.frag.stats.Truncated++
		return nil
	}
	key := fragKey{id: uint32(ip.Id), proto: p.Proto}
	copy(key.src[:], ip.SrcIP)
	copy(key.dst[:], ip.DstIP)
	whole, proto, err := d.frag.add(key, int(ip.FragOffset)*8, ip.Flags&layers.IPv4MoreFragments != 0, ip.Payload, p.Proto, p.Time)
	if err != nil || whole == nil {
		return err
	}
	p.Fragment, p.Reassembled = false, true
	return d.decodeTransport(p, proto, whole)
}

func (d *Decoder) fillIPv6(p *Packet) error {
	ip := &d.ip6
	if len(ip.SrcIP) != 16 || len(ip.DstIP) != 16 {
		return errors.New("IPv6: bad address length")
	}
	p.IPVersion = 6
	p.Src = netip.AddrFrom16([16]byte(ip.SrcIP))
	p.Dst = netip.AddrFrom16([16]byte(ip.DstIP))
	p.TTL = ip.HopLimit
	p.Proto = uint8(ip.NextHeader)
	if ip.HopByHop != nil {
		p.Proto = uint8(ip.HopByHop.NextHeader)
	}
	d.frag.expire(p.Time)
	var frag bool
	for _, t := range d.decoded {
		switch t {
		case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Destination:
			p.Proto = uint8(d.ip6x.NextHeader)
		case layers.LayerTypeIPv6Fragment:
			p.Proto = uint8(d.ip6f.NextHeader)
			frag = d.ip6f.FragmentOffset != 0 || d.ip6f.MoreFragments
		}
	}
	if !frag {
		return d.fillTransport(p)
	}
	p.Fragment = true
	if d.opts.NoDefrag {
		return nil
	}
	// The fragment layer's payload runs to the IPv6 payload length; if the
	// capture cut it short, the datagram cannot be rebuilt.
	if ip.Length != 0 && int(ip.Length) != len(ip.Payload)+d.ip6Consumed() {
		d.frag.stats.Truncated++
		return nil
	}
	key := fragKey{id: d.ip6f.Identification, v6: true}
	copy(key.src[:], ip.SrcIP)
	copy(key.dst[:], ip.DstIP)
	whole, proto, err := d.frag.add(key, int(d.ip6f.FragmentOffset)*8, d.ip6f.MoreFragments, d.ip6f.Payload, p.Proto, p.Time)
	if err != nil || whole == nil {
		return err
	}
	p.Fragment, p.Reassembled = false, true
	// The fragmentable part may itself start with extension headers.
	proto, whole, err = skipIPv6Ext(proto, whole)
	if err != nil {
		return err
	}
	p.Proto = proto
	return d.decodeTransport(p, proto, whole)
}

// ip6Consumed is how many bytes of the IPv6 payload the hop-by-hop header
// took before Payload (gopacket strips it from Payload).
func (d *Decoder) ip6Consumed() int {
	if d.ip6.HopByHop != nil {
		return d.ip6.HopByHop.ActualLength
	}
	return 0
}
