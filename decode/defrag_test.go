package decode

import (
	"bytes"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// fragSet is a UDP datagram of 3000 payload bytes cut into fragments at
// 8-byte aligned boundaries; frag(i) returns fragment i as an Ethernet frame.
type fragSet struct {
	v6      bool
	id      uint32
	payload []byte
	ipData  []byte // UDP header + payload, the part that is fragmented
	cuts    []int  // fragment start offsets, then the total length
}

func newFragSet(t testing.TB, v6 bool, id uint32) *fragSet {
	payload := bytes.Repeat([]byte("SIP/2.0 200 OK\r\n"), 188)[:3000]
	var whole []byte
	if v6 {
		whole = serialize(t, ipv6(17), udp(5060, 5061), gopacket.Payload(payload))[40:]
	} else {
		whole = serialize(t, ipv4(17), udp(5060, 5061), gopacket.Payload(payload))[20:]
	}
	return &fragSet{v6: v6, id: id, payload: payload, ipData: whole, cuts: []int{0, 1480, 2960, len(whole)}}
}

func (fs *fragSet) n() int { return len(fs.cuts) - 1 }

// fragment builds the fragment covering [start,end) of the datagram.
func (fs *fragSet) fragment(t testing.TB, start, end int) []byte {
	more := end < len(fs.ipData)
	chunk := gopacket.Payload(fs.ipData[start:end])
	if fs.v6 {
		return serialize(t, eth(layers.EthernetTypeIPv6), ipv6(44),
			&layers.IPv6Fragment{NextHeader: 17, FragmentOffset: uint16(start / 8), MoreFragments: more, Identification: fs.id}, chunk)
	}
	ip := ipv4(17)
	ip.Id = uint16(fs.id)
	ip.FragOffset = uint16(start / 8)
	if more {
		ip.Flags = layers.IPv4MoreFragments
	}
	return serialize(t, eth(layers.EthernetTypeIPv4), ip, chunk)
}

func (fs *fragSet) frag(t testing.TB, i int) []byte { return fs.fragment(t, fs.cuts[i], fs.cuts[i+1]) }

func decodeAt(t *testing.T, d *Decoder, data []byte, at time.Duration) Packet {
	t.Helper()
	p := Packet{LinkType: LinkTypeEthernet, Data: data, Time: int64(at)}
	if err := d.Decode(&p); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return p
}

func checkReassembled(t *testing.T, p Packet, fs *fragSet) {
	t.Helper()
	if !p.Reassembled || p.Fragment || p.SrcPort != 5060 || p.DstPort != 5061 || p.Proto != ProtoUDP || !bytes.Equal(p.Payload, fs.payload) {
		t.Fatalf("not reassembled: reassembled=%v fragment=%v ports %d/%d payload %d bytes", p.Reassembled, p.Fragment, p.SrcPort, p.DstPort, len(p.Payload))
	}
}

func TestDefragOrders(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for name, order := range map[string][]int{"in-order": {0, 1, 2}, "reverse": {2, 1, 0}, "middle-last": {0, 2, 1}} {
			t.Run(map[bool]string{false: "v4/", true: "v6/"}[v6]+name, func(t *testing.T) {
				d := NewDecoder(DecoderOptions{})
				fs := newFragSet(t, v6, 77)
				for k, i := range order {
					p := decodeAt(t, d, fs.frag(t, i), time.Duration(k)*time.Millisecond)
					if k < len(order)-1 {
						if !p.Fragment || p.Reassembled || p.SrcPort != 0 || p.Payload != nil || p.Proto != ProtoUDP {
							t.Fatalf("fragment %d: %+v", i, p)
						}
						continue
					}
					checkReassembled(t, p, fs)
				}
				st := d.Stats().Frag
				if st.Reassembled != 1 || st.Pending != 0 {
					t.Errorf("stats %+v", st)
				}
			})
		}
	}
}

func TestDefragDuplicateAndOverlap(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		d := NewDecoder(DecoderOptions{})
		fs := newFragSet(t, v6, 1)
		decodeAt(t, d, fs.frag(t, 0), 0)
		decodeAt(t, d, fs.frag(t, 0), 0) // retransmitted copy
		decodeAt(t, d, fs.frag(t, 1), 0)
		checkReassembled(t, decodeAt(t, d, fs.frag(t, 2), 0), fs)
		if st := d.Stats().Frag; st.Duplicates != 1 || st.Reassembled != 1 {
			t.Errorf("v6=%v duplicate: %+v", v6, st)
		}

		// A fragment straddling two others is an overlap: the datagram goes.
		fs = newFragSet(t, v6, 2)
		decodeAt(t, d, fs.frag(t, 0), 0)
		decodeAt(t, d, fs.fragment(t, 1000, 2000), 0)
		for i := 1; i < fs.n(); i++ {
			if p := decodeAt(t, d, fs.frag(t, i), 0); p.Reassembled {
				t.Fatalf("v6=%v: overlapping datagram was reassembled", v6)
			}
		}
		if st := d.Stats().Frag; st.Overlaps != 1 {
			t.Errorf("v6=%v overlap: %+v", v6, st)
		}
	}
}

func TestDefragTimeoutOnPacketTime(t *testing.T) {
	d := NewDecoder(DecoderOptions{FragTimeout: 30 * time.Second})
	fs := newFragSet(t, false, 9)
	decodeAt(t, d, fs.frag(t, 0), 0)
	decodeAt(t, d, fs.frag(t, 1), 31*time.Second)
	p := decodeAt(t, d, fs.frag(t, 2), 31*time.Second)
	if p.Reassembled {
		t.Fatal("datagram older than the timeout was completed")
	}
	if st := d.Stats().Frag; st.Timeouts != 1 || st.Pending != 1 {
		t.Errorf("stats %+v", st)
	}
	// Any later IP packet expires the rest on packet time.
	decodeAt(t, d, ethTCP(t, 1), 70*time.Second)
	if st := d.Stats().Frag; st.Timeouts != 2 || st.Pending != 0 || st.PendingBytes != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestDefragBounds(t *testing.T) {
	t.Run("datagrams", func(t *testing.T) {
		d := NewDecoder(DecoderOptions{FragMaxDatagrams: 2})
		sets := []*fragSet{newFragSet(t, false, 1), newFragSet(t, false, 2), newFragSet(t, false, 3)}
		for _, fs := range sets {
			decodeAt(t, d, fs.frag(t, 0), 0)
		}
		st := d.Stats().Frag
		if st.Evictions != 1 || st.Pending != 2 {
			t.Fatalf("stats %+v", st)
		}
		// The oldest went; the newest still completes.
		decodeAt(t, d, sets[2].frag(t, 1), 0)
		checkReassembled(t, decodeAt(t, d, sets[2].frag(t, 2), 0), sets[2])
	})
	t.Run("bytes", func(t *testing.T) {
		d := NewDecoder(DecoderOptions{FragMaxBytes: 5000})
		a, b := newFragSet(t, true, 1), newFragSet(t, true, 2)
		decodeAt(t, d, a.frag(t, 0), 0)
		decodeAt(t, d, a.frag(t, 1), 0)
		decodeAt(t, d, b.frag(t, 0), 0)
		decodeAt(t, d, b.frag(t, 1), 0)
		st := d.Stats().Frag
		if st.Evictions == 0 || st.PendingBytes > 5000 {
			t.Fatalf("stats %+v", st)
		}
		checkReassembled(t, decodeAt(t, d, b.frag(t, 2), 0), b)
	})
	t.Run("fragments", func(t *testing.T) {
		d := NewDecoder(DecoderOptions{FragMaxFragments: 4})
		fs := newFragSet(t, false, 5)
		for off := 0; off < 80; off += 8 {
			decodeAt(t, d, fs.fragment(t, off, off+8), 0)
		}
		if st := d.Stats().Frag; st.TooMany != 2 { // 4 accepted, the 5th drops; the next 5 start again
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("past-65535", func(t *testing.T) {
		d := NewDecoder(DecoderOptions{})
		ip := ipv4(17)
		ip.FragOffset = 8189
		p := Packet{LinkType: LinkTypeEthernet, Data: serialize(t, eth(layers.EthernetTypeIPv4), ip, gopacket.Payload(make([]byte, 100)))}
		if err := d.Decode(&p); err == nil {
			t.Fatal("fragment past 65535 accepted")
		}
	})
	t.Run("no-defrag", func(t *testing.T) {
		d := NewDecoder(DecoderOptions{NoDefrag: true})
		fs := newFragSet(t, false, 5)
		for i := range fs.n() {
			if p := decodeAt(t, d, fs.frag(t, i), 0); !p.Fragment || p.Reassembled {
				t.Fatalf("fragment %d: %+v", i, p)
			}
		}
	})
}

// A fragment cut short by the snap length cannot be reassembled; it is
// counted and marked, not an error.
func TestDefragTruncatedFragment(t *testing.T) {
	d := NewDecoder(DecoderOptions{})
	fs := newFragSet(t, false, 3)
	f := fs.frag(t, 0)
	p := decodeAt(t, d, f[:200], 0)
	if !p.Fragment || d.Stats().Frag.Truncated != 1 {
		t.Fatalf("%+v %+v", p, d.Stats().Frag)
	}
}
