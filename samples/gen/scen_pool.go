package main

// poolTraffic is the everyday traffic of a healthy pool, played through
// whatever capture points and HLB behaviour nw describes. edge-mixed,
// compliant and snat-av all use it, so they differ only in the HLB
// behaviour under test.

import (
	"time"
)

// poolTraffic plays one round of pool traffic starting at t0 and returns
// when it ends. media scales the RTP packet counts.
func poolTraffic(nw *netw, t0 time.Time, media int) time.Time {
	rng := nw.rng
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	end := t0
	done := func(c *conv) {
		if c.t.After(end) {
			end = c.t
		}
	}
	inet := 30 * time.Millisecond

	// Remote users: SIP over TLS to the Access VIP, one per node.
	for i, cl := range []struct {
		ip   string
		node int
	}{{"203.0.113.10", 0}, {"203.0.113.25", 1}} {
		c := newConv(rng, at(10+i*700), inet, nw.inbound(ap(ip(cl.ip), ephemeral(rng)), ap(vipAccess, 443), cl.node, svcAccess)...)
		sessTLS(c, tlsOpts{sni: "sip.contoso.com", server: certExternal, exchanges: 4})
		done(c)
	}
	// Web conferencing: PSOM over TLS to the Web Conferencing VIP.
	c := newConv(rng, at(400), inet, nw.inbound(ap(client3, ephemeral(rng)), ap(vipWebconf, 443), 0, svcWebconf)...)
	sessTLS(c, tlsOpts{sni: "webcon.contoso.com", server: certExternal, exchanges: 3})
	done(c)

	// A/V over UDP: allocation through the A/V VIP, then the session
	// continues with the node's real address (HLB-08); the relay talks to
	// the partner's A/V Edge on its 3478. The client hangs up and answers
	// the Edge's late packet with ICMP port unreachable.
	cport := ephemeral(rng)
	cl := ap(client1, cport)
	reflex := cl
	if nw.snatAV {
		reflex = ap(hlbExt, cport)
	}
	relay := ap(nodes[0].av, relayPort(rng))
	ts := newTurnSession(rng, relay, reflex)
	va := newConv(rng, at(900), inet, nw.inbound(cl, ap(vipAV, 3478), 0, svcAV)...)
	turnAllocate(va, ts)
	done(va)
	peer := ap(partnerAV, 3478)
	dc := newConv(rng, va.t.Add(5*time.Millisecond), inet, nw.direct(cl, ap(nodes[0].av, 3478), 0)...)
	rc := newConv(rng, dc.t, 25*time.Millisecond, nw.outbound(0, relay, peer, netipZero)...)
	turnMedia(dc, rc, ts, peer, media)
	dc.wait(40 * time.Millisecond)
	dc.udp(1, newRTP(rng, 114).next()) // late packet after hang-up
	dc.icmpUnreach(0)
	done(dc)
	done(rc)

	// A/V over TCP 443 via the A/V VIP to edge2 (pseudo-TLS + framing).
	cp4 := ap(client4, ephemeral(rng))
	r4 := cp4
	if nw.snatAV {
		r4 = ap(hlbExt, cp4.Port())
	}
	ts4 := newTurnSession(rng, ap(nodes[1].av, relayPort(rng)), r4)
	c = newConv(rng, at(1500), inet, nw.inbound(cp4, ap(vipAV, 443), 1, svcAV)...)
	turnTCP(c, ts4, ap(client2, 50040), media/3+3)
	done(c)

	// Federation: partner -> Access VIP 5061 (MTLS), and edge1 -> partner
	// 5061, leaving from its real address inside and the VIP outside.
	c = newConv(rng, at(300), inet, nw.inbound(ap(partner, ephemeral(rng)), ap(vipAccess, 5061), 0, svcAccess)...)
	sessTLS(c, tlsOpts{sni: "sip.contoso.com", server: certExternal, client: certPartner, mtls: true, exchanges: 3})
	done(c)
	c = newConv(rng, at(1100), inet, nw.outbound(0, ap(nodes[0].access, ephemeral(rng)), ap(partner, 5061), vipAccess)...)
	sessTLS(c, tlsOpts{sni: "sip.partner.example", server: certPartner, client: certExternal, mtls: true, exchanges: 2})
	done(c)

	// XMPP federation in and out on 5269 (the Access VIP).
	c = newConv(rng, at(1300), inet, nw.inbound(ap(xmppPeer, ephemeral(rng)), ap(vipAccess, 5269), 0, svcAccess)...)
	sessXMPP(c, "partner.example", "contoso.com", certExternal)
	done(c)
	c = newConv(rng, at(1700), inet, nw.outbound(0, ap(nodes[0].access, ephemeral(rng)), ap(xmppPeer, 5269), vipAccess)...)
	sessXMPP(c, "contoso.com", "partner.example", certXMPPPeer)
	done(c)

	// The Access Edge's own DNS (UDP and TCP) and CRL download.
	for i, name := range []string{"_sipfederationtls._tcp.partner.example", "sip.partner.example", "crl.contoso-ca.example"} {
		c = newConv(rng, at(100+i*37), 8*time.Millisecond, nw.outbound(0, ap(nodes[0].access, ephemeral(rng)), ap(dnsServer, 53), netipZero)...)
		sessDNSUDP(c, name, partner.As4())
		done(c)
	}
	c = newConv(rng, at(250), 8*time.Millisecond, nw.outbound(0, ap(nodes[0].access, ephemeral(rng)), ap(dnsServer, 53), netipZero)...)
	sessDNSTCP(c, "_sipfederationtls._tcp.partner.example", partner.As4())
	done(c)
	c = newConv(rng, at(600), 12*time.Millisecond, nw.outbound(1, ap(nodes[1].access, ephemeral(rng)), ap(crlServer, 80), netipZero)...)
	sessCRL(c)
	done(c)

	// Internal side, seen on edge1 only.
	int1 := 600 * time.Microsecond
	if l := nw.internalTo(ap(fe1, ephemeral(rng)), macRouterInt, 5061, 0, true); l != nil {
		// FE -> internal VIP 5061 (forwarded to edge1's internal address).
		l[0].h[0].dst = ap(nodes[0].intern, 5061)
		l[0].h[1] = l[0].h[0].reverse()
		c = newConv(rng, at(200), int1, l...)
		sessTLS(c, tlsOpts{sni: "edgepool.contoso.local", server: certInternal, client: certFE, mtls: true, exchanges: 3})
		done(c)
		type ic struct {
			port  uint16
			sni   string
			alpn  []string
			mtls  bool
			start int
		}
		for _, x := range []ic{{4443, "edgepool.contoso.local", []string{"http/1.1"}, false, 800},
			{8057, "", nil, true, 1000}, {23456, "", nil, true, 1200}, {50001, "", nil, true, 1600}} {
			var cc *certKey
			if x.mtls {
				cc = certFE
			}
			c = newConv(rng, at(x.start), int1, nw.internalTo(ap(fe1, ephemeral(rng)), macRouterInt, x.port, 0, false)...)
			sessTLS(c, tlsOpts{sni: x.sni, alpn: x.alpn, server: certInternal, client: cc, mtls: x.mtls, exchanges: 2})
			done(c)
		}
		// edge1 -> FE 5061 from its internal address.
		c = newConv(rng, at(1400), int1, nw.internalFrom(0, ephemeral(rng), ap(fe1, 5061), macRouterInt)...)
		sessTLS(c, tlsOpts{sni: "fepool.contoso.local", server: certFE, client: certInternal, mtls: true, exchanges: 2})
		done(c)
		// FE -> internal VIP 5062 (A/V authentication), forwarded to edge1.
		l = nw.internalTo(ap(fe2, ephemeral(rng)), macRouterInt, 5062, 0, true)
		c = newConv(rng, at(1800), int1, l...)
		sessTLS(c, tlsOpts{sni: "edgepool.contoso.local", server: certInternal, client: certFE, mtls: true, exchanges: 1})
		done(c)
		// FE (conferencing server) -> edge1 internal 3478: MS-TURN over UDP.
		fp := ap(fe1, ephemeral(rng))
		its := newTurnSession(rng, ap(nodes[0].av, relayPort(rng)), fp)
		c = newConv(rng, at(2000), int1, nw.internalTo(fp, macRouterInt, 3478, 0, false)...)
		turnAllocate(c, its)
		done(c)
	}
	return end
}
