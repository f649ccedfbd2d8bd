package main

// Link-type and container variants of the start of edge-mixed, for the
// decoder: pcap written big-endian with nanosecond timestamps, Ethernet
// with 802.1Q and QinQ tags, Linux cooked v1, and raw IPv4. Only the
// first variantPackets frames are kept, to stay small.

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

const variantPackets = 80

// pcapRaw encodes a classic pcap by hand: the byte order and timestamp
// unit are parameters (pcapgo always writes little-endian).
func pcapRaw(recs []rec, lt layers.LinkType, order binary.AppendByteOrder, nanos bool) []byte {
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, snaplen)
	b = order.AppendUint32(b, uint32(lt))
	for _, r := range recs {
		frac := uint32(r.t.Nanosecond() / 1000)
		if nanos {
			frac = uint32(r.t.Nanosecond())
		}
		b = order.AppendUint32(b, uint32(r.t.Unix()))
		b = order.AppendUint32(b, frac)
		b = order.AppendUint32(b, uint32(len(r.data)))
		b = order.AppendUint32(b, uint32(len(r.data)))
		b = append(b, r.data...)
	}
	return b
}

// tagVLAN inserts 802.1Q tags after the MACs: one tag (VLAN 100) or,
// with qinq, an 802.1ad outer tag (S-VLAN 2000) around it.
func tagVLAN(eth []byte, qinq bool) []byte {
	out := append([]byte{}, eth[:12]...)
	if qinq {
		out = append(out, 0x88, 0xa8, 0x07, 0xd0)
	}
	out = append(out, 0x81, 0x00, 0x00, 0x64)
	return append(out, eth[12:]...)
}

// toSLL1 is the 16-byte Linux cooked v1 header in place of Ethernet.
func toSLL1(eth []byte, outgoing bool) []byte {
	pt := byte(0)
	if outgoing {
		pt = 4
	}
	b := []byte{0, pt, 0, 1, 0, 6}
	b = append(b, eth[6:12]...)
	b = append(b, 0, 0)
	b = append(b, eth[12:14]...)
	return append(b, eth[14:]...)
}

func genVariants(g *gen, recs []rec) error {
	if len(recs) > variantPackets {
		recs = recs[:variantPackets]
	}
	mod := func(f func(int, []byte) []byte) []rec {
		out := make([]rec, len(recs))
		for i, r := range recs {
			out[i] = rec{t: r.t, n: r.n, data: f(i, r.data)}
		}
		return out
	}
	files := []struct {
		name string
		data []byte
	}{
		{"variants/be-nanos.pcap", pcapRaw(recs, layers.LinkTypeEthernet, binary.BigEndian, true)},
		{"variants/vlan-qinq.pcap", pcapRaw(mod(func(i int, d []byte) []byte { return tagVLAN(d, i%2 == 1) }), layers.LinkTypeEthernet, binary.LittleEndian, false)},
		{"variants/sll.pcap", pcapRaw(mod(func(_ int, d []byte) []byte { return toSLL1(d, d[6] == macHLBExt[0] && d[11] == macHLBExt[5]) }), layers.LinkTypeLinuxSLL, binary.LittleEndian, false)},
		{"variants/raw-ip.pcap", pcapRaw(mod(func(_ int, d []byte) []byte {
			return append([]byte{}, d[14:14+int(binary.BigEndian.Uint16(d[16:]))]...)
		}), layers.LinkTypeRaw, binary.LittleEndian, false)},
	}
	for _, f := range files {
		if err := g.writeFile(f.name, f.data, len(recs)); err != nil {
			return err
		}
	}
	return nil
}
