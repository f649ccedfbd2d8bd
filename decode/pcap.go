package decode

import (
	"encoding/binary"
	"fmt"
	"io"
)

// pcap magic numbers as they appear in the first four bytes of the file.
const (
	pcapMagicMicro = 0xa1b2c3d4
	pcapMagicNano  = 0xa1b23c4d
	pcapHeaderLen  = 24
	pcapRecordLen  = 16
)

func isPcapMagic(b []byte) bool {
	le, be := binary.LittleEndian.Uint32(b), binary.BigEndian.Uint32(b)
	return le == pcapMagicMicro || le == pcapMagicNano || be == pcapMagicMicro || be == pcapMagicNano
}

// pcapReader reads classic libpcap records. Its own reader rather than
// pcapgo.Reader because the pipeline needs each record's byte offset and
// a precise account of where a damaged file stops.
type pcapReader struct {
	f       *File
	order   byteOrder
	fracMul int64 // ns per unit of the fractional timestamp field
	link    uint16
}

func newPcapReader(f *File) (*pcapReader, error) {
	h, err := f.s.peek(pcapHeaderLen)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%s: pcap file header: %w", f.Path, err)
	}
	r := &pcapReader{f: f, fracMul: 1000}
	magic := binary.LittleEndian.Uint32(h)
	if magic != pcapMagicMicro && magic != pcapMagicNano {
		r.order = byteOrder{big: true}
		magic = binary.BigEndian.Uint32(h)
	}
	if magic == pcapMagicNano {
		r.fracMul = 1
	}
	// The link-type field's upper bits carry FCS information; the type is
	// the low 16 bits.
	r.link = uint16(r.order.Uint32(h[20:24]))
	units := uint64(1e6)
	if r.fracMul == 1 {
		units = 1e9
	}
	f.ifaces = append(f.ifaces, Interface{LinkType: r.link, SnapLen: r.order.Uint32(h[16:20]), TSUnits: units})
	if err := f.s.skip(pcapHeaderLen); err != nil {
		return nil, fmt.Errorf("%s: pcap file header: %w", f.Path, err)
	}
	return r, nil
}

func (r *pcapReader) next(p *Packet) error {
	s := &r.f.s
	start := s.off
	h, err := s.peek(pcapRecordLen)
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return r.f.damage(start, fmt.Errorf("record header: %w", err))
	}
	capLen := r.order.Uint32(h[8:12])
	if int64(capLen) > int64(s.maxCap) {
		return r.f.damage(start, fmt.Errorf("%w: captured length %d > %d", ErrRecordTooLarge, capLen, s.maxCap))
	}
	n := pcapRecordLen + int(capLen)
	rec, err := s.peek(n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return r.f.damage(start, fmt.Errorf("record of %d bytes: %w", capLen, err))
	}
	// Read the header again from rec: the second peek may have moved the
	// buffer, leaving h pointing at stale bytes.
	h = rec[:pcapRecordLen]
	sec := int64(r.order.Uint32(h[0:4]))
	frac := int64(r.order.Uint32(h[4:8]))
	p.Point = r.f.BasePoint
	p.Offset = start
	p.Time = sec*1e9 + frac*r.fracMul
	p.WireLen = int(r.order.Uint32(h[12:16]))
	p.LinkType = r.link
	p.Data = rec[pcapRecordLen:n:n]
	// Discard cannot fail here: the bytes are already buffered.
	s.skip(n)
	return nil
}
