package main

// compliant and snat-av: the same pool traffic at three points. compliant
// SNATs only Access/Web Conferencing inside (allowed by HLB-01); snat-av
// SNATs A/V too, so inside every A/V request comes from 198.51.100.250
// and the Allocate successes name the HLB as the client's reflexive
// address. edge1's clock runs 1.5 s ahead, to exercise offset estimation.

import "time"

func threePoints(g *gen, dir string, snatAV bool) error {
	out := newCapture(dir+"/outside", "outside")
	in := newCapture(dir+"/inside", "inside")
	e1 := newCapture(dir+"/edge1", "edge1")
	e1.Offset = 1500 * time.Millisecond
	nw := &netw{rng: rngFor(dir), out: out, in: in, e1: e1, snatAccess: true, snatAV: snatAV,
		hlbLatency: 250 * time.Microsecond, edgeLatency: 300 * time.Microsecond}
	poolTraffic(nw, epoch, 15)
	for _, c := range []*Capture{out, in, e1} {
		if err := g.writeCapture(c); err != nil {
			return err
		}
	}
	return nil
}

func genCompliant(g *gen) error { return threePoints(g, "compliant", false) }

func genSnatAV(g *gen) error { return threePoints(g, "snat-av", true) }
