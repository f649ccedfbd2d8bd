package flows

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzStream drives the TCP start-of-stream reassembler (stream.go) with a
// sequence of segments decoded from the input and checks its invariants:
// the in-order bytes never exceed the limit, the budget never goes
// negative and is returned whole on release, pending segments stay within
// their bounds, and bytes delivered in order are the bytes sent at those
// sequence numbers (segments of one sender agree: data is a function of
// the sequence number).
func FuzzStream(f *testing.F) {
	seg := func(off uint16, n byte, flags byte) []byte {
		return []byte{byte(off >> 8), byte(off), n, flags}
	}
	cat := func(ss ...[]byte) []byte { return bytes.Join(ss, nil) }
	f.Add(uint32(100), true, uint16(64), uint16(1000), cat(seg(1, 10, 0), seg(11, 10, 0)))
	f.Add(uint32(100), true, uint16(64), uint16(1000), cat(seg(11, 10, 0), seg(1, 10, 0)))
	f.Add(uint32(0xfffffff0), true, uint16(64), uint16(1000), cat(seg(1, 40, 0), seg(30, 40, 0)))
	f.Add(uint32(7), false, uint16(16), uint16(8), cat(seg(5, 30, 0), seg(50, 30, 0), seg(35, 15, 0)))
	f.Add(uint32(1), true, uint16(200), uint16(200), cat(seg(170, 20, 0), seg(150, 20, 0), seg(130, 20, 0), seg(1, 200, 1)))
	f.Fuzz(func(t *testing.T, isn uint32, syn bool, limit16, budget16 uint16, ops []byte) {
		limit := int(limit16%4096) + 1
		total := int(budget16 % 8192)
		budget := total
		var s stream
		if syn {
			s.syn(isn)
		}
		// The byte at sequence number q is a function of q, so overlaps
		// and retransmissions always agree.
		byteAt := func(q uint32) byte { return byte(q*2654435761>>24) ^ byte(q) }
		var firstSeq uint32
		haveFirst := syn
		if syn {
			firstSeq = isn + 1
		}
		for steps := 0; len(ops) >= 4 && steps < 256; steps++ {
			off, n, flags := binary.BigEndian.Uint16(ops[0:2]), int(ops[2]), ops[3]
			ops = ops[4:]
			seq := isn + uint32(off)
			if flags&0x80 != 0 {
				seq = isn - uint32(off) // behind the start: wraps and retransmissions
			}
			if flags&0x40 != 0 {
				n *= 8
			}
			data := make([]byte, n)
			for i := range data {
				data[i] = byteAt(seq + uint32(i))
			}
			if !haveFirst && n > 0 {
				firstSeq, haveFirst = seq, true
			}
			added, dropped := s.add(seq, data, limit, &budget)
			if added < 0 || dropped < 0 || added > limit {
				t.Fatalf("add returned %d, %d for %d bytes", added, dropped, n)
			}
			if budget < 0 || budget > total {
				t.Fatalf("budget %d out of [0,%d]", budget, total)
			}
			if s.delivered() > limit {
				t.Fatalf("%d bytes delivered, limit %d", s.delivered(), limit)
			}
			if len(s.pending) > maxPendingSegments || s.pendBytes > limit {
				t.Fatalf("%d segments, %d bytes pending", len(s.pending), s.pendBytes)
			}
			held := len(s.buf) + s.pendBytes
			if total-budget != held {
				t.Fatalf("budget used %d, held %d", total-budget, held)
			}
			for i, b := range s.buf {
				if q := firstSeq + uint32(s.consumed+i); b != byteAt(q) {
					t.Fatalf("byte %d of the stream is %#x, sent %#x", s.consumed+i, b, byteAt(q))
				}
			}
			if flags&0x20 != 0 {
				s.consume(int(flags&0x1f)+1, &budget)
			}
		}
		s.release(&budget)
		if budget != total {
			t.Fatalf("budget %d after release, want %d", budget, total)
		}
	})
}
