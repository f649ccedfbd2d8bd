package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// fuzzLinkTypes are the link types FuzzDecode feeds every input as.
var fuzzLinkTypes = []uint16{LinkTypeEthernet, LinkTypeLinuxSLL, LinkTypeLinuxSLL2, LinkTypeRaw,
	LinkTypeIPv4, LinkTypeIPv6, LinkTypeNull, LinkTypeLoop}

// seedFrames are valid frames of every kind the decoder knows, for seeds.
func seedFrames(t testing.TB) [][]byte {
	fs := newFragSet(t, false, 1)
	fs6 := newFragSet(t, true, 2)
	return [][]byte{
		ethTCP(t, 5),
		serialize(t, eth(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 2, Type: layers.EthernetTypeDot1Q},
			&layers.Dot1Q{VLANIdentifier: 3, Type: layers.EthernetTypeIPv6}, ipv6(17), udp(1, 2)),
		serialize(t, eth(layers.EthernetTypeIPv4), ipv4(1), &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)},
			gopacket.Payload(serialize(t, ipv4(17), udp(3, 4)))),
		append(serialize(t, eth(layers.EthernetTypeIPv6))[:14:14], withIPv6Ext(serialize(t, ipv6(6), tcpSyn()))...),
		fs.frag(t, 0), fs6.frag(t, 1),
	}
}

func FuzzOpen(f *testing.F) {
	recs := testRecords(f, 4, 1e6)
	pcap := pcapBytes(binary.LittleEndian, false, 1, recs)
	ng := append(ngSection(binary.LittleEndian, []ngIfaceSpec{{link: 1}, {link: 101, tsres: 9}}, recs),
		ngSection(binary.BigEndian, []ngIfaceSpec{{link: 276, tsres: 0x94}}, nil)...)
	for _, b := range [][]byte{pcap, pcapBytes(binary.BigEndian, true, 101, nil), ng, pcap[:60], ng[:100]} {
		f.Add(b)
	}
	for _, c := range []string{CompressionGzip, CompressionZstd, CompressionLZ4, CompressionXZ} {
		f.Add(compress(f, c, pcap))
		f.Add(compress(f, c, ng))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := NewReaderWith(bytes.NewReader(b), "fuzz", int64(len(b)), ReaderOptions{MaxCapLen: 64 << 10})
		ahead, aerr := NewReaderWith(bytes.NewReader(b), "fuzz", int64(len(b)), ReaderOptions{MaxCapLen: 64 << 10, ReadAhead: true})
		if fmt.Sprint(err) != fmt.Sprint(aerr) {
			t.Fatalf("open: %v, with read-ahead %v", err, aerr)
		}
		if err != nil {
			return
		}
		defer file.Close()
		defer ahead.Close()
		d := NewDecoder(DecoderOptions{FragMaxBytes: 1 << 20})
		var p, q Packet
		// A small input may decompress to a great deal; a bounded number
		// of records is enough to exercise every path.
		for range 20000 {
			err := file.Next(&p)
			// Read-ahead reads in place from the decompressor's chunks:
			// it must give exactly what the buffered reader gives.
			if aerr := ahead.Next(&q); fmt.Sprint(err) != fmt.Sprint(aerr) || !bytes.Equal(p.Data, q.Data) || p.Time != q.Time {
				t.Fatalf("frame %d: %v, with read-ahead %v (data equal: %v)", p.Frame, err, aerr, bytes.Equal(p.Data, q.Data))
			}
			if err != nil {
				var de *DamageError
				if err != io.EOF && !errors.As(err, &de) {
					t.Fatalf("Next returned %T %v, want io.EOF or *DamageError", err, err)
				}
				if file.Next(&p) != io.EOF {
					t.Fatal("no io.EOF after the end")
				}
				return
			}
			if len(p.Data) > 64<<10 {
				t.Fatalf("record of %d bytes passed the cap", len(p.Data))
			}
			d.Decode(&p)
		}
	})
}

func FuzzDecode(f *testing.F) {
	for _, fr := range seedFrames(f) {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := NewDecoder(DecoderOptions{})
		for _, lt := range fuzzLinkTypes {
			p := Packet{LinkType: lt, Data: b}
			d.Decode(&p)
			if p.Payload != nil && len(p.Payload) > len(b) && !p.Reassembled {
				t.Fatalf("payload longer than the frame")
			}
		}
	})
}

// FuzzDefrag feeds a sequence of fragments (from the input) to a decoder
// with tight bounds and checks the bounds hold throughout.
func FuzzDefrag(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 185, 1, 2, 0, 185, 0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		const maxBytes = 16 << 10
		d := NewDecoder(DecoderOptions{FragMaxDatagrams: 4, FragMaxBytes: maxBytes, FragMaxFragments: 8})
		payload := bytes.Repeat([]byte{0xab}, 1600)
		var now time.Duration
		// Each 4-byte step: id, offset (8-byte units, 2 bytes), length/flags.
		for steps := 0; len(b) >= 4 && steps < 512; steps++ {
			id, off, lf := b[0]&7, int(binary.BigEndian.Uint16(b[1:3]))&0x1fff, b[3]
			b = b[4:]
			ip := ipv4(17)
			ip.Id = uint16(id)
			ip.FragOffset = uint16(off)
			if lf&0x80 != 0 {
				ip.Flags = layers.IPv4MoreFragments
			}
			n := int(lf&0x7f) * 8
			frame := serialize(t, eth(layers.EthernetTypeIPv4), ip, gopacket.Payload(payload[:n]))
			now += time.Duration(lf&3) * 10 * time.Second
			p := Packet{LinkType: LinkTypeEthernet, Data: frame, Time: int64(now)}
			d.Decode(&p)
			st := d.Stats().Frag
			if st.Pending > 4 || st.PendingBytes > maxBytes {
				t.Fatalf("bounds exceeded: %+v", st)
			}
		}
	})
}
