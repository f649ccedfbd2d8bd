package main

// asymmetric: edge1's default route bypasses the HLB. Requests to the
// Access and A/V VIPs reach edge1 through the HLB (destination NAT only),
// but edge1 answers from its real address straight to the Internet
// router. The client sees a SYN-ACK from 198.51.100.11 whose ack-1 is its
// SYN's ISN, resets it and retries; STUN answers come from 198.51.100.13
// with the transaction ids of requests sent to 198.51.100.102.

import (
	"net/netip"
	"time"
)

var (
	macClient   = mac{0x00, 0x21, 0xcc, 0x6a, 0x10, 0x0a} // client1's NIC
	macClientGW = mac{0x00, 0x1d, 0x7e, 0x00, 0x00, 0x01} // client1's home router
)

// asymLegs gives the client and edge1 views of a conversation whose
// requests go cl -> vip (DNAT to real at the HLB) and whose answers come
// from real directly.
func asymLegs(cc, ec *Capture, cl, vip, real netip.AddrPort) []leg {
	c := leg{cap: cc, h: [2]hop{
		{srcMAC: macClient, dstMAC: macClientGW, src: cl, dst: vip},
		{srcMAC: macClientGW, dstMAC: macClient, src: real, dst: cl},
	}, delay: [2]time.Duration{-7 * time.Millisecond, 7 * time.Millisecond}}
	e := leg{cap: ec, h: [2]hop{
		{srcMAC: macHLBExt, dstMAC: nodes[0].extMAC, src: cl, dst: real},
		{srcMAC: nodes[0].extMAC, dstMAC: macRouterExt, src: real, dst: cl}, // next hop: the router, not the HLB
	}, delay: [2]time.Duration{7 * time.Millisecond, -7 * time.Millisecond}}
	return []leg{c, e}
}

func genAsymmetric(g *gen) error {
	rng := rngFor("asymmetric")
	cc := newCapture("asymmetric/client", "client")
	ec := newCapture("asymmetric/edge1", "edge1")
	ec.Offset = 1500 * time.Millisecond
	rtt := 30 * time.Millisecond

	// TCP: SIP client to the Access VIP. Each SYN-ACK comes from the real
	// address; the client answers it with a RST (it has no such
	// connection) and retransmits its SYN with the same ISN.
	cl := ap(client1, ephemeral(rng))
	c := newConv(rng, epoch.Add(100*time.Millisecond), rtt, asymLegs(cc, ec, cl, ap(vipAccess, 443), ap(nodes[0].access, 443))...)
	rstHop := [2]hop{
		{srcMAC: macClient, dstMAC: macClientGW, src: cl, dst: ap(nodes[0].access, 443)},
		{srcMAC: macHLBExt, dstMAC: nodes[0].extMAC, src: cl, dst: ap(nodes[0].access, 443)},
	}
	for i, rto := range []time.Duration{0, time.Second, 2 * time.Second} {
		if i > 0 {
			c.wait(rto)
			c.isn[1] = rng.Uint32() // edge1 forgot the reset half-open connection
		}
		c.syn()
		c.synAck()
		saved := [2]hop{c.legs[0].h[0], c.legs[1].h[0]}
		c.legs[0].h[0], c.legs[1].h[0] = rstHop[0], rstHop[1]
		c.seg(0, tcpSeg{flags: fRST, seq: c.nxt[0]})
		c.legs[0].h[0], c.legs[1].h[0] = saved[0], saved[1]
	}

	// UDP: MS-TURN Allocate to the A/V VIP, answered (401) from the real
	// A/V address; the client ignores the stranger and retransmits the
	// same transaction. Then an RFC 5389 Binding, same story.
	cu := ap(client1, ephemeral(rng))
	u := newConv(rng, epoch.Add(600*time.Millisecond), rtt, asymLegs(cc, ec, cu, ap(vipAV, 3478), ap(nodes[0].av, 3478))...)
	ts := newTurnSession(rng, ap(nodes[0].av, relayPort(rng)), cu)
	t1 := newTxid(rng)
	for _, rto := range []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		u.wait(rto)
		u.udp(0, ts.allocate1(t1))
		u.udp(1, ts.unauthorized(t1))
	}
	b := newTxid(rng)
	for _, rto := range []time.Duration{300 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond} {
		u.wait(rto)
		u.udp(0, bindingReq(b))
		u.udp(1, bindingOK(b, cu))
	}

	// Same client, a second TCP attempt to the Web Conferencing VIP.
	cw := ap(client1, ephemeral(rng))
	w := newConv(rng, epoch.Add(2500*time.Millisecond), rtt, asymLegs(cc, ec, cw, ap(vipWebconf, 443), ap(nodes[0].webconf, 443))...)
	w.syn()
	w.synAck()
	w.legs[0].h[0] = hop{srcMAC: macClient, dstMAC: macClientGW, src: cw, dst: ap(nodes[0].webconf, 443)}
	w.legs[1].h[0] = hop{srcMAC: macHLBExt, dstMAC: nodes[0].extMAC, src: cw, dst: ap(nodes[0].webconf, 443)}
	w.seg(0, tcpSeg{flags: fRST, seq: w.nxt[0]})

	// edge1's own DNS lookups leave toward the router too (HLB-10): seen
	// only at edge1.
	d := newConv(rng, epoch.Add(50*time.Millisecond), 8*time.Millisecond,
		mkLeg(ec, ap(nodes[0].access, ephemeral(rng)), ap(dnsServer, 53), nodes[0].extMAC, macRouterExt))
	sessDNSUDP(d, "sip.partner.example", partner.As4())

	for _, x := range []*Capture{cc, ec} {
		if err := g.writeCapture(x); err != nil {
			return err
		}
	}
	return nil
}
