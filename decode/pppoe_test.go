package decode

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pppoeFrame wraps an IP packet in Ethernet + PPPoE session + PPP, as a DSL
// access link carries it.
func pppoeFrame(t *testing.T, pppProto uint16, ip []byte) []byte {
	hdr := make([]byte, 8)
	hdr[0], hdr[1] = 0x11, 0x00
	binary.BigEndian.PutUint16(hdr[2:], 0x1234)
	binary.BigEndian.PutUint16(hdr[4:], uint16(2+len(ip)))
	binary.BigEndian.PutUint16(hdr[6:], pppProto)
	// Built by hand: serialising a bare Ethernet layer pads it to 60 bytes.
	e := append(append(append([]byte{}, macB...), macA...), 0x88, 0x64)
	return append(append(e, hdr...), ip...)
}

func TestDecodePPPoE(t *testing.T) {
	ip := serialize(t, ipv4(layers.IPProtocolUDP), udp(47255, 53), gopacket.Payload([]byte("query")))
	cases := []struct {
		name    string
		frame   []byte
		wantIP  uint8
		wantErr bool
	}{
		{"ipv4 in ppp", pppoeFrame(t, 0x0021, ip), 4, false},
		{"lcp is not ip", pppoeFrame(t, 0xc021, []byte{1, 1, 0, 4}), 0, false},
		{"length beyond frame", func() []byte { f := pppoeFrame(t, 0x0021, ip); return f[:len(f)-10] }(), 0, true},
	}
	d := NewDecoder(DecoderOptions{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Packet{Data: c.frame, LinkType: LinkTypeEthernet, WireLen: len(c.frame)}
			err := d.Decode(&p)
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			if c.wantErr {
				return
			}
			if p.IPVersion != c.wantIP {
				t.Fatalf("ip version %d, want %d", p.IPVersion, c.wantIP)
			}
			if c.wantIP == 4 && (p.Proto != ProtoUDP || p.SrcPort != 47255 || p.DstPort != 53 || string(p.Payload) != "query") {
				t.Fatalf("decoded %+v", p)
			}
		})
	}
}
