package decode

import (
	"errors"
	"time"
)

// Defaults for IP fragment reassembly. Linux keeps fragments 30 s
// (ipfrag_time) and caps the memory at a few MiB per namespace; an audit of
// an Edge sees few fragments, mostly large UDP (SIP over UDP, DNS), so these
// leave room for real traffic while a flood stays bounded.
const (
	DefaultFragMaxDatagrams = 1024
	DefaultFragMaxBytes     = 8 << 20
	DefaultFragTimeout      = 30 * time.Second
	DefaultFragMaxFragments = 256
)

// maxDatagram is the largest IP payload a fragment may extend to (the
// 16-bit length fields of IPv4 and IPv6).
const maxDatagram = 65535

// freeListCap bounds the recycled datagram buffers kept for reuse, the only
// reassembly memory not counted in FragMaxBytes.
const freeListCap = 16

var (
	errFragTooBig   = errors.New("IP fragment extends past 65535 bytes")
	errFragBadLen   = errors.New("IP fragment with more-fragments set and a length not a multiple of 8")
	errFragConflict = errors.New("IP fragments disagree on the datagram length")
)

// FragStats counts what IP fragment reassembly did, so the caller can report
// every bound that was hit.
type FragStats struct {
	Pending      int    // datagrams waiting for fragments now
	PendingBytes int    // buffer bytes held by them
	Reassembled  uint64 // datagrams completed
	Timeouts     uint64 // datagrams dropped incomplete after FragTimeout (packet time)
	Evictions    uint64 // datagrams dropped to stay within FragMaxDatagrams or FragMaxBytes
	Overlaps     uint64 // datagrams dropped because fragments overlapped or conflicted (RFC 5722)
	Duplicates   uint64 // fragments ignored because their bytes were already held
	TooMany      uint64 // datagrams dropped for exceeding FragMaxFragments
	Invalid      uint64 // fragments rejected as malformed (length or offset out of range)
	Truncated    uint64 // fragments not fully captured (snap length), never reassembled
}

// fragKey identifies a datagram under reassembly: RFC 791 keys IPv4 on
// source, destination, protocol and id; RFC 8200 keys IPv6 on source,
// destination and id.
type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    uint8
	v6       bool
}

type span struct{ start, end int }

// fragDatagram is one datagram being reassembled. Datagrams sit in a list
// by age so timeouts and evictions take the oldest first in O(1).
type fragDatagram struct {
	key        fragKey
	first      int64 // packet time of the first fragment seen
	buf        []byte
	spans      []span // received byte ranges, sorted and merged
	nfrags     int
	total      int   // datagram length once the last fragment is seen, else -1
	proto      uint8 // transport protocol (IPv6: from the offset-0 fragment)
	prev, next *fragDatagram
}

// defragmenter reassembles IPv4 and IPv6 datagrams with bounded memory.
// Time is packet time, never the wall clock, so a capture replays the same
// way however fast it is read.
type defragmenter struct {
	maxDatagrams int
	maxBytes     int
	timeout      int64
	maxFrags     int

	m          map[fragKey]*fragDatagram
	head, tail *fragDatagram
	free       []*fragDatagram
	held       *fragDatagram // completed datagram the caller's Packet still points into
	bytes      int
	stats      FragStats
}

func newDefragmenter(o DecoderOptions) *defragmenter {
	return &defragmenter{
		maxDatagrams: o.FragMaxDatagrams,
		maxBytes:     o.FragMaxBytes,
		timeout:      int64(o.FragTimeout),
		maxFrags:     o.FragMaxFragments,
	}
}

// release recycles the datagram returned by the previous add: the Packet
// that pointed into it is being refilled.
func (d *defragmenter) release() {
	if d.held != nil {
		d.recycle(d.held)
		d.held = nil
	}
}

// expire drops datagrams whose first fragment is older than the timeout.
func (d *defragmenter) expire(now int64) {
	for d.head != nil && now-d.head.first > d.timeout {
		d.stats.Timeouts++
		d.drop(d.head)
	}
}

// add files one fragment: off and data locate it in the datagram, more is
// the more-fragments flag, proto is the protocol its header names. It
// returns the whole datagram and its protocol when this fragment completes
// it; the bytes stay valid until the next call to release.
func (d *defragmenter) add(key fragKey, off int, more bool, data []byte, proto uint8, now int64) ([]byte, uint8, error) {
	end := off + len(data)
	if end > maxDatagram {
		d.stats.Invalid++
		return nil, 0, errFragTooBig
	}
	if more && len(data)%8 != 0 || more && len(data) == 0 {
		d.stats.Invalid++
		return nil, 0, errFragBadLen
	}
	if d.m == nil {
		d.m = make(map[fragKey]*fragDatagram, min(d.maxDatagrams, 1024))
	}
	dg := d.m[key]
	if dg == nil {
		for len(d.m) >= d.maxDatagrams && d.head != nil {
			d.stats.Evictions++
			d.drop(d.head)
		}
		dg = d.alloc()
		dg.key, dg.first, dg.total, dg.proto = key, now, -1, key.proto
		d.m[key] = dg
		d.pushTail(dg)
		d.makeRoom(dg, 0) // a recycled buffer counts against the budget too
	}
	if !key.v6 {
		dg.proto = key.proto
	} else if off == 0 {
		dg.proto = proto
	}

	// Length checks: the last fragment fixes the length, nothing may pass it.
	if !more {
		if dg.total >= 0 && dg.total != end || len(dg.spans) > 0 && dg.spans[len(dg.spans)-1].end > end {
			d.stats.Overlaps++
			d.drop(dg)
			return nil, 0, errFragConflict
		}
	} else if dg.total >= 0 && end > dg.total {
		d.stats.Overlaps++
		d.drop(dg)
		return nil, 0, errFragConflict
	}

	// Overlap policy as Linux applies it: a fragment wholly inside bytes
	// already held is a duplicate and ignored; a partial overlap discards
	// the datagram (RFC 5722 for IPv6; Linux does the same for IPv4).
	i := 0
	for i < len(dg.spans) && dg.spans[i].end <= off {
		i++
	}
	// spans[i] is the first span reaching past off; only it can hold or
	// overlap the new bytes, as spans are sorted and disjoint.
	if i < len(dg.spans) {
		s := dg.spans[i]
		if s.start <= off && end <= s.end && len(data) > 0 {
			d.stats.Duplicates++
			if !more {
				// Its bytes are held, but it may be the first to say
				// where the datagram ends.
				dg.total = end
				return d.complete(dg)
			}
			return nil, 0, nil
		}
		if s.start < end || s.start <= off {
			d.stats.Overlaps++
			d.drop(dg)
			return nil, 0, nil
		}
	}
	if dg.nfrags >= d.maxFrags {
		d.stats.TooMany++
		d.drop(dg)
		return nil, 0, nil
	}

	if end > len(dg.buf) {
		if end > cap(dg.buf) {
			grow := max(end, 2*cap(dg.buf), 2048) - cap(dg.buf)
			grow = min(grow, maxDatagram-cap(dg.buf))
			if grow < end-cap(dg.buf) {
				grow = end - cap(dg.buf)
			}
			if !d.makeRoom(dg, grow) {
				d.stats.Evictions++
				d.drop(dg)
				return nil, 0, nil
			}
			nb := make([]byte, len(dg.buf), cap(dg.buf)+grow)
			copy(nb, dg.buf)
			d.bytes += grow
			dg.buf = nb
		}
		dg.buf = dg.buf[:end]
	}
	copy(dg.buf[off:end], data)
	dg.nfrags++
	if !more {
		dg.total = end
	}

	// Insert [off,end) at i, merging with touching neighbours.
	dg.spans = append(dg.spans, span{})
	copy(dg.spans[i+1:], dg.spans[i:])
	dg.spans[i] = span{off, end}
	if i+1 < len(dg.spans) && dg.spans[i+1].start == end {
		dg.spans[i].end = dg.spans[i+1].end
		dg.spans = append(dg.spans[:i+1], dg.spans[i+2:]...)
	}
	if i > 0 && dg.spans[i-1].end == off {
		dg.spans[i-1].end = dg.spans[i].end
		dg.spans = append(dg.spans[:i], dg.spans[i+1:]...)
	}

	return d.complete(dg)
}

// complete hands out dg's bytes if they now cover the whole datagram.
func (d *defragmenter) complete(dg *fragDatagram) ([]byte, uint8, error) {
	if dg.total < 0 || len(dg.spans) != 1 || dg.spans[0].start != 0 || dg.spans[0].end != dg.total {
		return nil, 0, nil
	}
	d.unlink(dg)
	d.held = dg
	d.stats.Reassembled++
	return dg.buf[:dg.total], dg.proto, nil
}

// makeRoom evicts the oldest other datagrams until n more bytes fit.
func (d *defragmenter) makeRoom(keep *fragDatagram, n int) bool {
	for d.bytes+n > d.maxBytes {
		victim := d.head
		if victim == keep {
			victim = victim.next
		}
		if victim == nil {
			return false
		}
		d.stats.Evictions++
		d.drop(victim)
	}
	return true
}

// drop forgets an incomplete datagram.
func (d *defragmenter) drop(dg *fragDatagram) {
	d.unlink(dg)
	d.recycle(dg)
}

// unlink removes dg from the map and the age list; its buffer stays
// counted until recycle.
func (d *defragmenter) unlink(dg *fragDatagram) {
	delete(d.m, dg.key)
	if dg.prev != nil {
		dg.prev.next = dg.next
	} else {
		d.head = dg.next
	}
	if dg.next != nil {
		dg.next.prev = dg.prev
	} else {
		d.tail = dg.prev
	}
	dg.prev, dg.next = nil, nil
}

func (d *defragmenter) pushTail(dg *fragDatagram) {
	dg.prev = d.tail
	if d.tail != nil {
		d.tail.next = dg
	} else {
		d.head = dg
	}
	d.tail = dg
}

func (d *defragmenter) alloc() *fragDatagram {
	if n := len(d.free); n > 0 {
		dg := d.free[n-1]
		d.free = d.free[:n-1]
		d.bytes += cap(dg.buf)
		return dg
	}
	return &fragDatagram{spans: make([]span, 0, 8)}
}

// recycle returns dg's memory to the free list (bounded) and the budget.
func (d *defragmenter) recycle(dg *fragDatagram) {
	d.bytes -= cap(dg.buf)
	dg.buf = dg.buf[:0]
	dg.spans = dg.spans[:0]
	dg.nfrags = 0
	if len(d.free) < freeListCap {
		d.free = append(d.free, dg)
	}
}

func (d *defragmenter) snapshot() FragStats {
	s := d.stats
	s.Pending = len(d.m)
	s.PendingBytes = d.bytes
	return s
}
