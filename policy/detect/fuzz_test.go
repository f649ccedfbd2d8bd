package detect

import (
	"net/netip"
	"testing"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/flows/classify"
	"github.com/edgeaudit/edgeaudit/policy"
)

// FuzzEvents drives the detector with arbitrary event sequences over a
// small pool of addresses, ids and points (so that pairings happen) and
// tiny bounds: it must not panic, must keep its bounds, and every finding
// must be complete.
func FuzzEvents(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte("\x00\x10\x20\x31\x42\x53\x64\x75\x86\x97\xa8\xb9\xca\xdb\xec\xfd\x0e\x1f"))
	f.Add([]byte{1, 0, 0, 2, 1, 0, 3, 2, 0, 1, 4, 9, 2, 3, 0, 0, 5, 5, 5, 5})
	pool := []netip.AddrPort{vipAV, avReal, vipAccess, access1, client, netip.AddrPortFrom(hlbExt, client.Port()),
		ap("172.16.0.11:5061"), ap("203.0.113.53:53"), ap("198.51.100.100:5061"), ap("192.168.1.5:4000")}
	macs := [][6]byte{macHLB, macEdge1, macRouter}
	top := topo(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var n int
		d := New(Config{Topology: top, MaxTransactions: 4, MaxSYNs: 4, MaxPending: 2, MaxSources: 2, SNATUsers: 2,
			Emit: func(fi *policy.Finding) { check(t, fi); n++ }})
		at := t0
		for len(b) >= 4 {
			op, x, y, z := b[0], b[1], b[2], b[3]
			b = b[4:]
			at += int64(z%8) * int64(500*ms)
			p := int32(op>>4&1) * 1024
			src, dst := pool[int(x)%len(pool)], pool[int(y)%len(pool)]
			switch op % 5 {
			case 0, 1:
				var e STUNEvent
				if op%5 == 0 {
					e = req(p, uint64(z), at, src, dst, txid(z%4), uint64(x%3))
				} else {
					e = ans(p, uint64(z), at, src, dst, txid(z%4), pool[int(z)%len(pool)])
					if z&1 == 1 {
						e.Class = classify.ClassError
					}
				}
				e.Proto = []uint8{decode.ProtoUDP, decode.ProtoTCP}[x&1]
				d.ObserveSTUN(&e)
			case 2:
				flags := []uint8{decode.TCPSyn, decode.TCPSyn | decode.TCPAck, decode.TCPRst, decode.TCPRst | decode.TCPAck}[z%4]
				e := TCPEvent{Point: p, Frame: uint64(z), Time: at, Src: src, Dst: dst, Flags: flags, Seq: uint32(y % 3), Ack: uint32(x%3) + 1,
					HasMAC: true, SrcMAC: macs[int(x)%3], DstMAC: macs[int(y)%3]}
				d.ObserveTCP(&e)
			case 3:
				e := FlowEvent{Point: p, Proto: []uint8{decode.ProtoUDP, decode.ProtoTCP}[x&1], Client: src, Server: dst, FirstFrame: uint64(z) + 1,
					First: at - int64(y)*int64(ms)*100, Last: at, Packets: [2]uint64{uint64(x % 4), uint64(y % 4)},
					PayloadBytes: [2]uint64{uint64(x%4) * 100, uint64(y%3) * 50}, App: classify.App(z % 10),
					MAC:         [2]flows.MACPair{{Seen: x&2 != 0, Src: macs[int(x)%3], Dst: macs[int(y)%3]}, {Seen: y&2 != 0, Src: macs[int(y)%3], Dst: macs[int(z)%3]}},
					TCP:         flows.TCPInfo{SYN: z&1 != 0, ISN: uint32(y % 3), SYNs: int(z % 4), SYNTime: at - 5e9, SYNACK: z&2 != 0},
					ClientHello: z&4 != 0, ServerHello: z&8 != 0, FirstData: [2]uint64{uint64(x), uint64(y)}, FirstDataTime: [2]int64{at, at}}
				d.ObserveFlow(&e)
			case 4:
				e := ICMPEvent{Point: p, Frame: uint64(z), Time: at, Src: src.Addr(), Dst: dst.Addr(), Type: 3, Code: z % 16,
					Inner: decode.InnerTuple{Valid: true, Proto: decode.ProtoTCP, Src: dst.Addr(), Dst: src.Addr(), SrcPort: dst.Port(), DstPort: src.Port()}}
				d.ObserveICMP(&e)
			}
			if st := d.Stats(); st.Transactions > 4 || st.SYNs > 4 || len(d.pendingSIP) > 2 || len(d.pendingGW) > 2 || len(d.sources) > 2 {
				t.Fatalf("bounds exceeded: %+v", st)
			}
			if len(d.txLegs.items) > d.txLegs.max || len(d.synLegs.items) > d.synLegs.max || len(d.strayAcks.items) > d.strayAcks.max {
				t.Fatalf("slabs past their bounds: %d/%d, %d/%d, %d/%d", len(d.txLegs.items), d.txLegs.max,
					len(d.synLegs.items), d.synLegs.max, len(d.strayAcks.items), d.strayAcks.max)
			}
		}
		d.Finish(func(fi *policy.Finding) { check(t, fi); n++ })
		// Every leg went back to its slab: none leaked.
		if inUse(&d.txLegs) != 0 || inUse(&d.synLegs) != 0 || inUse(&d.strayAcks) != 0 {
			t.Fatalf("legs still held after Finish: %d, %d, %d", inUse(&d.txLegs), inUse(&d.synLegs), inUse(&d.strayAcks))
		}
		if uint64(n) != d.Stats().Findings {
			t.Fatalf("%d findings handed out, %d counted", n, d.Stats().Findings)
		}
		_ = d.Unchecked()
		_ = d.Offsets()
	})
}

func inUse[T any](s *slab[T]) int { return len(s.items) - len(s.free) }

func check(t *testing.T, f *policy.Finding) {
	t.Helper()
	if f.Kind == "" || f.Message == "" || f.Count < 1 || (f.Kind != policy.KindInput && (f.Requirement == "" || f.Fix == "" || f.Consequence == "" || len(f.Evidence) == 0 || f.Filter == "" || f.Subject == "")) {
		t.Fatalf("incomplete finding %+v", f)
	}
	for _, e := range f.Evidence {
		if e.Point == "" || e.Detail == "" {
			t.Fatalf("incomplete evidence %+v in %+v", e, f)
		}
	}
}
