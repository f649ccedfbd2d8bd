package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var (
	addr4A = netip.MustParseAddr("192.0.2.1")
	addr4B = netip.MustParseAddr("198.51.100.100")
	addr6A = netip.MustParseAddr("2001:db8::1")
	addr6B = netip.MustParseAddr("2001:db8::2")
)

// sllV1 prefixes an IPv4 datagram with a Linux cooked v1 header.
func sllV1(proto uint16, ip []byte) []byte {
	h := make([]byte, 16)
	binary.BigEndian.PutUint16(h[0:], 0) // to us
	binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(h[4:], 6)
	copy(h[6:], macA)
	binary.BigEndian.PutUint16(h[14:], proto)
	return append(h, ip...)
}

// sllV2 prefixes a datagram with a Linux cooked v2 header.
func sllV2(proto uint16, ip []byte) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], proto)
	binary.BigEndian.PutUint32(h[4:], 3) // ifindex
	binary.BigEndian.PutUint16(h[8:], 1)
	h[10], h[11] = 4, 6 // outgoing, address length
	copy(h[12:], macA)
	return append(h, ip...)
}

// loopback prefixes a datagram with a BSD loopback family word.
func loopback(order binary.ByteOrder, family uint32, ip []byte) []byte {
	h := make([]byte, 4)
	order.PutUint32(h, family)
	return append(h, ip...)
}

// withIPv6Ext inserts hop-by-hop, routing and destination-options headers
// between the IPv6 header and its transport.
func withIPv6Ext(pkt []byte) []byte {
	transport := pkt[6]
	hbh := []byte{43, 0, 1, 4, 0, 0, 0, 0}
	rt := []byte{60, 0, 0, 0, 0, 0, 0, 0} // type 0, no segments left
	dst := []byte{transport, 0, 1, 4, 0, 0, 0, 0}
	out := append([]byte(nil), pkt[:40]...)
	out[6] = 0
	out = append(out, hbh...)
	out = append(out, rt...)
	out = append(out, dst...)
	out = append(out, pkt[40:]...)
	binary.BigEndian.PutUint16(out[4:], uint16(len(out)-40))
	return out
}

func TestDecodeLinkTypes(t *testing.T) {
	tcp4 := serialize(t, ipv4(layers.IPProtocolTCP), tcpSyn(), gopacket.Payload("hello"))
	udp6 := serialize(t, ipv6(layers.IPProtocolUDP), udp(3478, 50000), gopacket.Payload("stun!"))
	vlan := serialize(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv4},
		ipv4(layers.IPProtocolTCP), tcpSyn(), gopacket.Payload("hello"))
	qinq := serialize(t, eth(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 200, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv4}, ipv4(layers.IPProtocolTCP), tcpSyn(), gopacket.Payload("hello"))
	qinq9100 := serialize(t, eth(etherTypeQinQ9100), &layers.Dot1Q{VLANIdentifier: 300, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv4}, ipv4(layers.IPProtocolTCP), tcpSyn(), gopacket.Payload("hello"))
	arp := serialize(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: 1, Protocol: 0x800, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: 1, SourceHwAddress: macA, SourceProtAddress: ip4A, DstHwAddress: make([]byte, 6), DstProtAddress: ip4B})

	type want struct {
		ip      uint8
		vlan    uint16
		mac     bool
		proto   uint8
		sport   uint16
		payload string
	}
	tcpW := want{ip: 4, proto: ProtoTCP, sport: 50000, payload: "hello"}
	udpW := want{ip: 6, proto: ProtoUDP, sport: 3478, payload: "stun!"}
	cases := []struct {
		name string
		link uint16
		data []byte
		want want
	}{
		{"ethernet", LinkTypeEthernet, serialize(t, eth(layers.EthernetTypeIPv4), ipv4(6), tcpSyn(), gopacket.Payload("hello")), want{4, 0, true, 6, 50000, "hello"}},
		{"ethernet-ipv6", LinkTypeEthernet, append(serialize(t, eth(layers.EthernetTypeIPv6))[:14:14], udp6...), want{6, 0, true, 17, 3478, "stun!"}},
		{"802.1q", LinkTypeEthernet, vlan, want{4, 100, true, 6, 50000, "hello"}},
		{"qinq-88a8", LinkTypeEthernet, qinq, want{4, 100, true, 6, 50000, "hello"}},
		{"qinq-9100", LinkTypeEthernet, qinq9100, want{4, 100, true, 6, 50000, "hello"}},
		{"sll", LinkTypeLinuxSLL, sllV1(0x0800, tcp4), tcpW},
		{"sll2", LinkTypeLinuxSLL2, sllV2(0x86dd, udp6), udpW},
		{"raw-101-v4", LinkTypeRaw, tcp4, tcpW},
		{"raw-101-v6", LinkTypeRaw, udp6, udpW},
		{"raw-12", LinkTypeRaw12, tcp4, tcpW},
		{"raw-14", LinkTypeRaw14, udp6, udpW},
		{"ipv4-228", LinkTypeIPv4, tcp4, tcpW},
		{"ipv6-229", LinkTypeIPv6, udp6, udpW},
		{"null-le", LinkTypeNull, loopback(binary.LittleEndian, 2, tcp4), tcpW},
		{"null-v6-darwin", LinkTypeNull, loopback(binary.LittleEndian, 30, udp6), udpW},
		{"loop-be", LinkTypeLoop, loopback(binary.BigEndian, 2, tcp4), tcpW},
		{"ipv6-ext-headers", LinkTypeRaw, withIPv6Ext(udp6), udpW},
		{"arp", LinkTypeEthernet, arp, want{mac: true}},
	}
	d := NewDecoder(DecoderOptions{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Packet{LinkType: c.link, Data: c.data}
			if err := d.Decode(&p); err != nil {
				t.Fatal(err)
			}
			got := want{p.IPVersion, p.VLAN, p.HasMAC, p.Proto, p.SrcPort, string(p.Payload)}
			if got != c.want {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			switch p.IPVersion {
			case 4:
				if p.Src != addr4A || p.Dst != addr4B || p.TTL != 64 || p.DstPort != 443 || p.TCPFlags != TCPSyn || p.Seq != 1000 || p.Window != 8192 {
					t.Errorf("ipv4 fields %+v", p)
				}
			case 6:
				if p.Src != addr6A || p.Dst != addr6B || p.TTL != 63 || p.DstPort != 50000 {
					t.Errorf("ipv6 fields %+v", p)
				}
			}
			if p.HasMAC && (p.SrcMAC != [6]byte(macA) || p.DstMAC != [6]byte(macB)) {
				t.Errorf("macs %x %x", p.SrcMAC, p.DstMAC)
			}
		})
	}
}

func TestDecodeEthernetPadding(t *testing.T) {
	f := serialize(t, eth(layers.EthernetTypeIPv4), ipv4(17), udp(53, 5353), gopacket.Payload("x"))
	f = append(f, make([]byte, 60-len(f))...)
	p := Packet{LinkType: LinkTypeEthernet, Data: f}
	if err := NewDecoder(DecoderOptions{}).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if string(p.Payload) != "x" {
		t.Errorf("payload %q includes the Ethernet padding", p.Payload)
	}
}

func TestDecodeICMPErrors(t *testing.T) {
	// 192.0.2.1:50000 -> 198.51.100.100:443 UDP quoted by a router.
	quoted4 := serialize(t, ipv4(17), udp(50000, 443), gopacket.Payload("quoted payload"))
	unreach := serialize(t, ipv4(1), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(quoted4[:28]))
	quoted6 := withIPv6Ext(serialize(t, ipv6(6), tcpSyn()))
	ptb := serialize(t, ipv6(58), &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(2, 0)}, gopacket.Payload(append([]byte{0, 0, 5, 0}, quoted6...)))
	// A quoted non-first fragment carries no ports.
	fragQ := bytes.Clone(quoted4[:28])
	binary.BigEndian.PutUint16(fragQ[6:], 100)
	exceeded := serialize(t, ipv4(1), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(11, 0)}, gopacket.Payload(fragQ))
	echo := serialize(t, ipv4(1), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 2}, gopacket.Payload("ping"))
	cases := []struct {
		name  string
		data  []byte
		typ   uint8
		inner InnerTuple
	}{
		{"v4-port-unreachable", unreach, 3, InnerTuple{true, 17, addr4A, addr4B, 50000, 443}},
		{"v6-packet-too-big", ptb, 2, InnerTuple{true, 6, addr6A, addr6B, 50000, 443}},
		{"v4-time-exceeded-fragment", exceeded, 11, InnerTuple{true, 17, addr4A, addr4B, 0, 0}},
		{"v4-echo", echo, 8, InnerTuple{}},
	}
	d := NewDecoder(DecoderOptions{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Packet{LinkType: LinkTypeRaw, Data: c.data}
			if err := d.Decode(&p); err != nil {
				t.Fatal(err)
			}
			if p.ICMPType != c.typ || p.Inner != c.inner {
				t.Fatalf("type %d inner %+v, want %d %+v", p.ICMPType, p.Inner, c.typ, c.inner)
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := serialize(t, eth(layers.EthernetTypeIPv4), ipv4(6), tcpSyn())
	badTCP := bytes.Clone(good)
	badTCP[14+20+12] = 0x10 // data offset 1 word
	badIHL := bytes.Clone(good)
	badIHL[14] = 0x43
	cases := map[string]Packet{
		"cut-ip-header": {LinkType: LinkTypeEthernet, Data: good[:14+10]},
		"tcp-offset":    {LinkType: LinkTypeEthernet, Data: badTCP},
		"ihl-too-small": {LinkType: LinkTypeEthernet, Data: badIHL},
		"raw-version-5": {LinkType: LinkTypeRaw, Data: []byte{0x50, 0, 0, 0}},
		"raw-empty":     {LinkType: LinkTypeRaw},
		"unknown-link":  {LinkType: 147, Data: good},
		"cut-ipv6":      {LinkType: LinkTypeIPv6, Data: make([]byte, 20)},
	}
	d := NewDecoder(DecoderOptions{})
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			if err := d.Decode(&p); err == nil {
				t.Fatalf("no error; decoded %+v", p)
			}
		})
	}
	p := Packet{LinkType: 147}
	if err := d.Decode(&p); !errors.Is(err, ErrUnsupportedLinkType) {
		t.Errorf("unknown link type: %v", err)
	}
}

// Decode must reset what a previous packet left.
func TestDecodeResets(t *testing.T) {
	d := NewDecoder(DecoderOptions{})
	p := Packet{LinkType: LinkTypeEthernet, Data: serialize(t, eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 5, Type: layers.EthernetTypeIPv4}, ipv4(6), tcpSyn())}
	if err := d.Decode(&p); err != nil {
		t.Fatal(err)
	}
	p.Data = serialize(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: 1, Protocol: 0x800, HwAddressSize: 6, ProtAddressSize: 4,
		SourceHwAddress: macA, SourceProtAddress: ip4A, DstHwAddress: macB, DstProtAddress: ip4B})
	if err := d.Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.VLAN != 0 || p.IPVersion != 0 || p.SrcPort != 0 || p.Src.IsValid() {
		t.Errorf("stale fields %+v", p)
	}
}
