package classify

import (
	"encoding/binary"
	"errors"

	"github.com/gopacket/gopacket/layers"
)

// A minimal pcap/pcapng record reader for the conformance tests. gopacket's
// pcapgo would do, but it pulls golang.org/x/net/bpf, which go.sum lacks.

type record struct {
	lt   layers.LinkType
	data []byte
}

func readRecords(b []byte) ([]record, error) {
	if len(b) >= 4 && binary.BigEndian.Uint32(b) == 0x0A0D0D0A {
		return readPcapng(b)
	}
	return readPcap(b)
}

func readPcap(b []byte) ([]record, error) {
	if len(b) < 24 {
		return nil, errors.New("short pcap header")
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, errors.New("not a pcap file")
	}
	lt := layers.LinkType(bo.Uint32(b[20:24]) & 0xFFFF)
	var out []record
	for p := 24; p+16 <= len(b); {
		n := int(bo.Uint32(b[p+8 : p+12]))
		if p+16+n > len(b) {
			break
		}
		out = append(out, record{lt, b[p+16 : p+16+n]})
		p += 16 + n
	}
	return out, nil
}

func readPcapng(b []byte) ([]record, error) {
	var bo binary.ByteOrder = binary.LittleEndian
	var ifaces []layers.LinkType
	var out []record
	for p := 0; p+12 <= len(b); {
		typ := bo.Uint32(b[p:])
		if typ == 0x0A0D0D0A {
			if binary.LittleEndian.Uint32(b[p+8:]) == 0x1A2B3C4D {
				bo = binary.LittleEndian
			} else {
				bo = binary.BigEndian
			}
			ifaces = nil
		}
		n := int(bo.Uint32(b[p+4:]))
		if n < 12 || p+n > len(b) {
			break
		}
		blk := b[p : p+n]
		switch typ {
		case 1:
			ifaces = append(ifaces, layers.LinkType(bo.Uint16(blk[8:])))
		case 6:
			id, cl := int(bo.Uint32(blk[8:])), int(bo.Uint32(blk[20:]))
			if id < len(ifaces) && 28+cl <= n {
				out = append(out, record{ifaces[id], blk[28 : 28+cl]})
			}
		case 3:
			if len(ifaces) > 0 {
				cl := min(int(bo.Uint32(blk[8:])), n-16)
				out = append(out, record{ifaces[0], blk[12 : 12+cl]})
			}
		}
		p += n
	}
	return out, nil
}
