package main

// edge-mixed: compliant traffic outside the HLB, written in every
// container and compression the decoder must read, plus a truncated copy
// and a two-interface pcapng.

import (
	"errors"
	"sort"
	"time"
)

func genEdgeMixed(g *gen) error {
	out := newCapture("edge-mixed", "outside")
	in := newCapture("edge-mixed-inside", "inside")
	nw := &netw{rng: rngFor("edge-mixed"), out: out, in: in, snatAccess: true, hlbLatency: 300 * time.Microsecond}
	poolTraffic(nw, epoch, 10)

	recs := out.packets()
	pc := pcapBytes(recs)
	if err := g.writeFile("edge-mixed.pcap", pc, len(recs)); err != nil {
		return err
	}
	one := make([]ngRec, len(recs))
	for i, r := range recs {
		one[i] = ngRec{0, r}
	}
	if err := g.writeFile("edge-mixed.pcapng", pcapngBytes([]ngIface{{"outside", 1, 6}}, one), len(recs)); err != nil {
		return err
	}
	for _, c := range compressors {
		z, err := c.fn(pc)
		if errors.Is(err, errNoBzip2) {
			g.notes = append(g.notes, err.Error())
			continue
		}
		if err != nil {
			return err
		}
		if err := g.writeFile("edge-mixed.pcap"+c.ext, z, len(recs)); err != nil {
			return err
		}
	}
	if err := genVariants(g, recs); err != nil {
		return err
	}
	// Truncated: cut in the middle of the data of the record at 60% of
	// the file, so the last record header promises more than remains.
	cut, whole := truncPoint(pc, 0.6)
	if err := g.writeFile("edge-mixed-truncated.pcap", pc[:cut], whole); err != nil {
		return err
	}

	// Two interfaces: outside (Ethernet, µs) and inside (Linux cooked v2,
	// ns), interleaved by time as one capture host would record them.
	var two []ngRec
	for _, r := range recs {
		two = append(two, ngRec{0, r})
	}
	for _, r := range in.packets() {
		outgoing := r.data[6] == macHLBExt[0] && r.data[11] == macHLBExt[5] // HLB -> Edge
		r.data = toSLL2(r.data, 3, outgoing)
		two = append(two, ngRec{1, r})
	}
	sort.SliceStable(two, func(i, j int) bool { return two[i].t.Before(two[j].t) })
	ifs := []ngIface{{"outside", 1, 6}, {"inside", 276, 9}}
	return g.writeFile("edge-mixed-2if.pcapng", pcapngBytes(ifs, two), len(two))
}

// truncPoint returns a byte offset inside the data of the record that
// straddles frac of a pcap, and the number of complete records before it.
func truncPoint(pc []byte, frac float64) (int, int) {
	target := int(float64(len(pc)) * frac)
	off, n := 24, 0
	for off+16 <= len(pc) {
		incl := int(uint32(pc[off+8]) | uint32(pc[off+9])<<8 | uint32(pc[off+10])<<16 | uint32(pc[off+11])<<24)
		if off+16+incl > target {
			return off + 16 + incl/2, n
		}
		off += 16 + incl
		n++
	}
	return len(pc) - 1, n
}
