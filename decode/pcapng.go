package decode

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
)

// pcapng block types and the byte-order magic.
const (
	ngSHB        = 0x0a0d0d0a
	ngIDB        = 0x00000001
	ngOPB        = 0x00000002 // obsolete Packet Block, still written by old tools
	ngSPB        = 0x00000003
	ngEPB        = 0x00000006
	ngByteOrder  = 0x1a2b3c4d
	ngMinBlock   = 12
	ngOptEnd     = 0
	ngOptName    = 2
	ngOptDesc    = 3
	ngOptTSResol = 9
	ngOptTSOff   = 14
)

// Bounds on what interface blocks may make us keep: a hostile file could
// otherwise declare millions of interfaces with 64 KiB names.
const (
	maxInterfaces = 1024 // = policy/audit pointsPerInput: interface i of input n is point n*1024+i
	maxIfaceText  = 256
)

func isPcapngMagic(b []byte) bool {
	if len(b) < 12 || binary.LittleEndian.Uint32(b) != ngSHB {
		return false
	}
	bom := binary.LittleEndian.Uint32(b[8:12])
	return bom == ngByteOrder || bom == bits.ReverseBytes32(ngByteOrder)
}

// ngIface is the per-section state of one interface: how to turn its
// timestamps into nanoseconds.
type ngIface struct {
	global  int    // index into File.ifaces
	link    uint16 // LINKTYPE_*
	snap    uint32
	units   uint64 // timestamp units per second
	mul     uint64 // ns per unit when units divides 1e9, else 0
	offsetN int64  // if_tsoffset in ns
}

// ngReader reads pcapng blocks. Its own reader rather than pcapgo.NgReader
// because the pipeline needs each block's byte offset, a DamageError for a
// bad block rather than a generic error, and the interfaces of every section
// kept distinct so each gets its own capture point.
type ngReader struct {
	f       *File
	order   byteOrder
	ordered bool // a section header has set order
	section int  // index of the current section
	shbs    int  // section headers seen
	ifaces  []ngIface
}

func (r *ngReader) next(p *Packet) error {
	s := &r.f.s
	for {
		start := s.off
		h, err := s.peek(ngMinBlock)
		if err != nil {
			if err == io.EOF {
				return io.EOF
			}
			return r.f.damage(start, fmt.Errorf("block header: %w", err))
		}
		typ := binary.LittleEndian.Uint32(h) // SHB's type reads the same both ways
		if typ == ngSHB {
			bom := binary.LittleEndian.Uint32(h[8:12])
			switch bom {
			case ngByteOrder:
				r.order = byteOrder{}
			case bits.ReverseBytes32(ngByteOrder):
				r.order = byteOrder{big: true}
			default:
				return r.f.damage(start, fmt.Errorf("%w: section header byte-order magic %#x", ErrBadBlock, bom))
			}
			r.ordered = true
		} else if !r.ordered {
			return r.f.damage(start, fmt.Errorf("%w: block %#x before any section header", ErrBadBlock, typ))
		} else {
			typ = r.order.Uint32(h)
		}
		blen := int(r.order.Uint32(h[4:8]))
		if blen < ngMinBlock || blen%4 != 0 {
			return r.f.damage(start, fmt.Errorf("%w: block %#x length %d", ErrBadBlock, typ, blen))
		}
		if blen > s.size {
			if typ == ngEPB || typ == ngSPB || typ == ngOPB || typ == ngSHB || typ == ngIDB {
				return r.f.damage(start, fmt.Errorf("%w: block %#x of %d bytes", ErrRecordTooLarge, typ, blen))
			}
			// A large block we do not interpret: stream past it, then
			// check its trailer like any other.
			if err := s.skip(blen - 4); err != nil {
				return r.f.damage(start, fmt.Errorf("block %#x of %d bytes: %w", typ, blen, err))
			}
			t, err := s.peek(4)
			if err != nil || int(r.order.Uint32(t)) != blen {
				return r.f.damage(start, fmt.Errorf("%w: block %#x trailer does not match length %d", ErrBadBlock, typ, blen))
			}
			s.skip(4)
			continue
		}
		b, err := s.peek(blen)
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return r.f.damage(start, fmt.Errorf("block %#x of %d bytes: %w", typ, blen, err))
		}
		if int(r.order.Uint32(b[blen-4:])) != blen {
			return r.f.damage(start, fmt.Errorf("%w: block %#x trailer does not match length %d", ErrBadBlock, typ, blen))
		}
		body := b[8 : blen-4]
		var ok bool
		switch typ {
		case ngSHB:
			err = r.sectionHeader(body)
		case ngIDB:
			err = r.interfaceDescription(body)
		case ngEPB:
			ok, err = r.enhancedPacket(body, p, false)
		case ngOPB:
			ok, err = r.enhancedPacket(body, p, true)
		case ngSPB:
			ok, err = r.simplePacket(body, p)
		}
		if err != nil {
			return r.f.damage(start, err)
		}
		s.skip(blen)
		if ok {
			p.Offset = start
			return nil
		}
	}
}

func (r *ngReader) sectionHeader(body []byte) error {
	if len(body) < 16 {
		return fmt.Errorf("%w: section header of %d bytes", ErrBadBlock, len(body)+12)
	}
	if major := r.order.Uint16(body[4:6]); major != 1 {
		return fmt.Errorf("%w: unsupported pcapng version %d", ErrBadBlock, major)
	}
	r.section = r.shbs
	r.shbs++
	// Interface ids are per section: a new section starts a new list.
	r.ifaces = r.ifaces[:0]
	return nil
}

func (r *ngReader) interfaceDescription(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("%w: interface description of %d bytes", ErrBadBlock, len(body)+12)
	}
	if len(r.f.ifaces) >= maxInterfaces {
		return fmt.Errorf("%w: more than %d interfaces", ErrBadBlock, maxInterfaces)
	}
	it := Interface{
		Index:    len(r.f.ifaces),
		Section:  r.section,
		LinkType: r.order.Uint16(body[0:2]),
		SnapLen:  r.order.Uint32(body[4:8]),
		TSUnits:  1e6,
	}
	var offset int64
	opts := body[8:]
	for len(opts) >= 4 {
		code, n := r.order.Uint16(opts[0:2]), int(r.order.Uint16(opts[2:4]))
		opts = opts[4:]
		if code == ngOptEnd || n > len(opts) {
			break
		}
		v := opts[:n]
		switch code {
		case ngOptName:
			it.Name = string(v[:min(n, maxIfaceText)])
		case ngOptDesc:
			it.Description = string(v[:min(n, maxIfaceText)])
		case ngOptTSResol:
			if n >= 1 {
				it.TSUnits = tsUnits(v[0])
			}
		case ngOptTSOff:
			if n >= 8 {
				offset = int64(r.order.Uint64(v))
			}
		}
		opts = opts[min(len(opts), (n+3)&^3):]
	}
	ni := ngIface{global: it.Index, link: it.LinkType, snap: it.SnapLen, units: it.TSUnits, offsetN: offset * 1e9}
	if 1e9%it.TSUnits == 0 {
		ni.mul = 1e9 / it.TSUnits
	}
	r.f.ifaces = append(r.f.ifaces, it)
	r.ifaces = append(r.ifaces, ni)
	return nil
}

// tsUnits decodes if_tsresol: 10^-n seconds, or 2^-n with the top bit set.
// An unrepresentable resolution falls back to the microsecond default.
func tsUnits(v byte) uint64 {
	n := uint64(v & 0x7f)
	if v&0x80 != 0 {
		if n > 63 {
			return 1e6
		}
		return 1 << n
	}
	if n > 19 {
		return 1e6
	}
	u := uint64(1)
	for range n {
		u *= 10
	}
	return u
}

// nanos converts a timestamp in the interface's units to Unix ns.
func (it *ngIface) nanos(ts uint64) int64 {
	if it.mul != 0 {
		return int64(ts*it.mul) + it.offsetN
	}
	sec, frac := ts/it.units, ts%it.units
	hi, lo := bits.Mul64(frac, 1e9)
	ns, _ := bits.Div64(hi, lo, it.units) // hi < units because frac < units
	return int64(sec*1e9+ns) + it.offsetN
}

func (r *ngReader) iface(id uint32) (*ngIface, error) {
	if int64(id) >= int64(len(r.ifaces)) {
		return nil, fmt.Errorf("%w: packet on interface %d, section declares %d", ErrBadBlock, id, len(r.ifaces))
	}
	return &r.ifaces[id], nil
}

// enhancedPacket decodes an EPB, or an obsolete Packet Block (16-bit
// interface id followed by a drops count, otherwise the same layout).
func (r *ngReader) enhancedPacket(body []byte, p *Packet, obsolete bool) (bool, error) {
	if len(body) < 20 {
		return false, fmt.Errorf("%w: packet block of %d bytes", ErrBadBlock, len(body)+12)
	}
	id := r.order.Uint32(body[0:4])
	if obsolete {
		id = uint32(r.order.Uint16(body[0:2]))
	}
	it, err := r.iface(id)
	if err != nil {
		return false, err
	}
	capLen := r.order.Uint32(body[12:16])
	if int64(capLen) > int64(r.f.s.maxCap) {
		return false, fmt.Errorf("%w: captured length %d > %d", ErrRecordTooLarge, capLen, r.f.s.maxCap)
	}
	if int64(capLen) > int64(len(body)-20) {
		return false, fmt.Errorf("%w: captured length %d exceeds its block", ErrBadBlock, capLen)
	}
	ts := uint64(r.order.Uint32(body[4:8]))<<32 | uint64(r.order.Uint32(body[8:12]))
	end := 20 + int(capLen)
	p.Point = r.f.BasePoint + it.global
	p.Time = it.nanos(ts)
	p.WireLen = int(r.order.Uint32(body[16:20]))
	p.LinkType = it.link
	p.Data = body[20:end:end]
	return true, nil
}

// simplePacket decodes an SPB: interface 0, no timestamp, captured length
// implied by the block and the snap length.
func (r *ngReader) simplePacket(body []byte, p *Packet) (bool, error) {
	if len(body) < 4 {
		return false, fmt.Errorf("%w: simple packet block of %d bytes", ErrBadBlock, len(body)+12)
	}
	it, err := r.iface(0)
	if err != nil {
		return false, err
	}
	wire := r.order.Uint32(body[0:4])
	capLen := min(uint64(wire), uint64(len(body)-4))
	if it.snap > 0 {
		capLen = min(capLen, uint64(it.snap))
	}
	if capLen > uint64(r.f.s.maxCap) {
		return false, fmt.Errorf("%w: captured length %d > %d", ErrRecordTooLarge, capLen, r.f.s.maxCap)
	}
	end := 4 + int(capLen)
	p.Point = r.f.BasePoint + it.global
	p.Time = 0
	p.WireLen = int(wire)
	p.LinkType = it.link
	p.Data = body[4:end:end]
	return true, nil
}
