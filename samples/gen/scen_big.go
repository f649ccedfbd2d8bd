package main

// big: a large mixed capture for TUI and performance tests, written
// streaming so memory stays flat: pool traffic rounds are generated one
// at a time and flushed in time order. Not committed.

import (
	"bufio"
	"os"
	"path/filepath"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func genBig(g *gen) error {
	p := filepath.Join(g.out, "big.pcap")
	if err := os.MkdirAll(g.out, 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(snaplen, layers.LinkTypeEthernet); err != nil {
		return err
	}
	nw := &netw{rng: rngFor("big"), snatAccess: true}
	t := epoch
	n, size := 0, 24
	for round := 0; n < g.n; round++ {
		// Every fourth round the HLB also SNATs A/V (the HLB-02 fault), so
		// the big capture has findings from its first seconds on.
		nw.snatAV = round%4 == 1
		out := newCapture("big", "outside")
		nw.out = out
		end := poolTraffic(nw, t, 40)
		for _, r := range out.packets() {
			if n == g.n {
				break
			}
			ci := gopacket.CaptureInfo{Timestamp: r.t, CaptureLength: len(r.data), Length: len(r.data)}
			if err := w.WritePacket(ci, r.data); err != nil {
				return err
			}
			n++
			size += 16 + len(r.data)
		}
		t = end.Add(10 * time.Millisecond)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	g.written = append(g.written, written{name: "big.pcap", size: size, packets: n})
	return nil
}
