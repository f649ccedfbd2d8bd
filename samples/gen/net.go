package main

// The network around the pool and how each capture point sees a
// conversation. Points: "outside" (between the Internet router and the
// HLB's external port), "inside" (between the HLB and the Edge external
// NICs), "edge1" (on edge1 itself: its external and internal NICs). The
// HLB is each Edge's default gateway, so Edge traffic to the Internet
// crosses both outside and inside segments.

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// svc names an Edge service, selecting a node's real address.
type svc int

const (
	svcAccess svc = iota
	svcWebconf
	svcAV
)

func (n node) addr(s svc) netip.Addr {
	switch s {
	case svcAccess:
		return n.access
	case svcWebconf:
		return n.webconf
	}
	return n.av
}

// netw is the set of capture points of one scenario and how the HLB
// behaves in it.
type netw struct {
	rng         *rand.Rand
	out, in, e1 *Capture
	snatAccess  bool // HLB SNATs Access / Web Conferencing legs (allowed, HLB-01)
	snatAV      bool // HLB SNATs A/V legs (the HLB-02 fault)
	hlbLatency  time.Duration
	edgeLatency time.Duration
}

func (nw *netw) legsIn(l []leg, c *Capture, x leg, d time.Duration) []leg {
	if c == nil {
		return l
	}
	x.cap = c
	x.delay = [2]time.Duration{d, -d}
	return append(l, x)
}

// inbound is a client connecting to a VIP that the HLB forwards to node
// n. Inside, the destination is the node's real address; the source is
// the HLB's SNAT address when this service is SNATed.
func (nw *netw) inbound(cl netip.AddrPort, vip netip.AddrPort, n int, s svc) []leg {
	var l []leg
	if nw.out != nil {
		l = append(l, mkLeg(nw.out, cl, vip, macRouterExt, macHLBExt))
	}
	src := cl
	if (s == svcAV && nw.snatAV) || (s != svcAV && nw.snatAccess) {
		src = ap(hlbExt, cl.Port())
	}
	in := mkLeg(nil, src, ap(nodes[n].addr(s), vip.Port()), macHLBExt, nodes[n].extMAC)
	l = nw.legsIn(l, nw.in, in, nw.hlbLatency)
	if n == 0 {
		l = nw.legsIn(l, nw.e1, in, nw.edgeLatency)
	}
	return l
}

// direct is a client talking to a node's real A/V address, routed by the
// HLB (which SNATs it too when snatAV).
func (nw *netw) direct(cl netip.AddrPort, real netip.AddrPort, n int) []leg {
	var l []leg
	if nw.out != nil {
		l = append(l, mkLeg(nw.out, cl, real, macRouterExt, macHLBExt))
	}
	src := cl
	if nw.snatAV {
		src = ap(hlbExt, cl.Port())
	}
	in := mkLeg(nil, src, real, macHLBExt, nodes[n].extMAC)
	l = nw.legsIn(l, nw.in, in, nw.hlbLatency)
	if n == 0 {
		l = nw.legsIn(l, nw.e1, in, nw.edgeLatency)
	}
	return l
}

// outbound is node n opening a connection from its real address src to
// the Internet, through the HLB as default gateway. viaVIP makes the HLB
// translate the source to vip outside (federation SIP, XMPP).
func (nw *netw) outbound(n int, src netip.AddrPort, dst netip.AddrPort, vip netip.Addr) []leg {
	var l []leg
	in := mkLeg(nil, src, dst, nodes[n].extMAC, macHLBExt)
	if n == 0 {
		l = nw.legsIn(l, nw.e1, in, -nw.edgeLatency)
	}
	l = nw.legsIn(l, nw.in, in, -nw.hlbLatency)
	if nw.out != nil {
		osrc := src
		if vip.IsValid() {
			osrc = ap(vip, src.Port())
		}
		l = append(l, mkLeg(nw.out, osrc, dst, macHLBExt, macRouterExt))
	}
	return l
}

// internalTo is an internal server talking to node n's internal
// interface (seen only on edge1, for n == 0); viaVIP sends it through the
// internal VIP, so the client side MAC is the HLB's internal port.
func (nw *netw) internalTo(cl netip.AddrPort, clMAC mac, port uint16, n int, viaVIP bool) []leg {
	if nw.e1 == nil || n != 0 {
		return nil
	}
	m := clMAC
	if viaVIP {
		m = macHLBInt
	}
	return []leg{mkLeg(nw.e1, cl, ap(nodes[n].intern, port), m, nodes[n].intMAC)}
}

// internalFrom is node n's internal interface connecting to an internal server.
func (nw *netw) internalFrom(n int, port uint16, sv netip.AddrPort, svMAC mac) []leg {
	if nw.e1 == nil || n != 0 {
		return nil
	}
	return []leg{mkLeg(nw.e1, ap(nodes[n].intern, port), sv, nodes[n].intMAC, svMAC)}
}

var netipZero netip.Addr
