package main

// File writers: classic pcap (through pcapgo), pcapng (by hand, so the
// section header carries no host-specific options and each interface can
// have its own link type and timestamp resolution), and the compressed
// wrappers the decoder must sniff by magic bytes.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
)

const snaplen = 262144

// pcapBytes encodes recs as a microsecond little-endian Ethernet pcap.
func pcapBytes(recs []rec) []byte {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(snaplen, layers.LinkTypeEthernet); err != nil {
		panic(err)
	}
	for _, r := range recs {
		ci := gopacket.CaptureInfo{Timestamp: r.t, CaptureLength: len(r.data), Length: len(r.data)}
		if err := w.WritePacket(ci, r.data); err != nil {
			panic(err)
		}
	}
	return buf.Bytes()
}

// ngIface is one pcapng interface description.
type ngIface struct {
	name     string
	linkType layers.LinkType
	tsresol  uint8 // decimal exponent: 6 = microseconds, 9 = nanoseconds
}

// ngRec is a record bound to an interface.
type ngRec struct {
	iface int
	rec
}

func ngOpt(code uint16, val []byte) []byte {
	b := binary.LittleEndian.AppendUint16(nil, code)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(val)))
	b = append(b, val...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func ngBlock(typ uint32, body []byte) []byte {
	n := uint32(12 + len(body))
	b := binary.LittleEndian.AppendUint32(nil, typ)
	b = binary.LittleEndian.AppendUint32(b, n)
	b = append(b, body...)
	return binary.LittleEndian.AppendUint32(b, n)
}

// pcapngBytes encodes one section with the given interfaces and records.
func pcapngBytes(ifs []ngIface, recs []ngRec) []byte {
	var out []byte
	shb := binary.LittleEndian.AppendUint32(nil, 0x1A2B3C4D)
	shb = binary.LittleEndian.AppendUint16(shb, 1)
	shb = binary.LittleEndian.AppendUint16(shb, 0)
	shb = binary.LittleEndian.AppendUint64(shb, ^uint64(0))
	shb = append(shb, ngOpt(4, []byte("edgeaudit samples/gen"))...) // shb_userappl
	shb = append(shb, 0, 0, 0, 0)
	out = append(out, ngBlock(0x0A0D0D0A, shb)...)
	for _, f := range ifs {
		b := binary.LittleEndian.AppendUint16(nil, uint16(f.linkType))
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint32(b, snaplen)
		b = append(b, ngOpt(2, []byte(f.name))...)
		b = append(b, ngOpt(9, []byte{f.tsresol})...)
		b = append(b, 0, 0, 0, 0)
		out = append(out, ngBlock(1, b)...)
	}
	for _, r := range recs {
		var ts uint64
		if ifs[r.iface].tsresol == 9 {
			ts = uint64(r.t.UnixNano())
		} else {
			ts = uint64(r.t.UnixMicro())
		}
		b := binary.LittleEndian.AppendUint32(nil, uint32(r.iface))
		b = binary.LittleEndian.AppendUint32(b, uint32(ts>>32))
		b = binary.LittleEndian.AppendUint32(b, uint32(ts))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r.data)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(r.data)))
		b = append(b, r.data...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		out = append(out, ngBlock(6, b)...)
	}
	return out
}

// toSLL2 turns an Ethernet frame into a Linux cooked v2 frame, as
// `tcpdump -i any` records it: 20-byte header with protocol, interface
// index, ARPHRD_ETHER, packet type and the sender's MAC.
func toSLL2(eth []byte, ifindex uint32, outgoing bool) []byte {
	b := append([]byte{}, eth[12:14]...) // protocol (EtherType)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint32(b, ifindex)
	b = append(b, 0x00, 0x01) // ARPHRD_ETHER
	if outgoing {
		b = append(b, 4) // PACKET_OUTGOING
	} else {
		b = append(b, 0) // PACKET_HOST
	}
	b = append(b, 6)
	b = append(b, eth[6:12]...)
	b = append(b, 0, 0)
	return append(b, eth[14:]...)
}

// compressors maps a file suffix to an encoder. Every encoder is
// single-threaded with fixed settings and no timestamps, so output is
// byte-identical run to run.
var compressors = []struct {
	ext string
	fn  func([]byte) ([]byte, error)
}{
	{".gz", func(p []byte) ([]byte, error) {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		w.Name = "" // no name, ModTime zero
		if _, err := w.Write(p); err != nil {
			return nil, err
		}
		err := w.Close()
		return b.Bytes(), err
	}},
	{".zst", func(p []byte) ([]byte, error) {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
		if err != nil {
			return nil, err
		}
		defer e.Close()
		return e.EncodeAll(p, nil), nil
	}},
	{".lz4", func(p []byte) ([]byte, error) {
		var b bytes.Buffer
		w := lz4.NewWriter(&b)
		if err := w.Apply(lz4.ConcurrencyOption(1), lz4.ChecksumOption(true)); err != nil {
			return nil, err
		}
		if _, err := w.Write(p); err != nil {
			return nil, err
		}
		err := w.Close()
		return b.Bytes(), err
	}},
	{".xz", func(p []byte) ([]byte, error) {
		var b bytes.Buffer
		w, err := xz.NewWriter(&b)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(p); err != nil {
			return nil, err
		}
		err = w.Close()
		return b.Bytes(), err
	}},
	{".bz2", bzip2Cmd},
}

// errNoBzip2 reports that no bzip2 program is installed: the standard
// library only decompresses bzip2, so the .bz2 sample needs the tool.
var errNoBzip2 = fmt.Errorf("bzip2 not installed: .bz2 variant skipped")

func bzip2Cmd(p []byte) ([]byte, error) {
	path, err := exec.LookPath("bzip2")
	if err != nil {
		return nil, errNoBzip2
	}
	cmd := exec.Command(path, "-9", "-c")
	cmd.Stdin = bytes.NewReader(p)
	return cmd.Output()
}

// writeFile writes data under dir, creating parents, and logs the result.
func (g *gen) writeFile(name string, data []byte, packets int) error {
	p := filepath.Join(g.out, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	g.written = append(g.written, written{name: name, size: len(data), packets: packets})
	return nil
}

// writeCapture writes c as name.pcap.
func (g *gen) writeCapture(c *Capture) error {
	recs := c.packets()
	return g.writeFile(c.Name+".pcap", pcapBytes(recs), len(recs))
}
