package main

// one-way-sip.pcap (outside the HLB): SIP connections that get no answer
// among healthy two-way traffic; one-direction-span.pcap: a SPAN that
// mirrors only traffic toward the pool, where every flow looks one-way
// and the tool must blame the capture, not SIP.

import "time"

func genOneWay(g *gen) error {
	rng := rngFor("one-way-sip")
	out := newCapture("one-way-sip", "outside")
	nw := &netw{rng: rng, out: out}
	inet := 30 * time.Millisecond
	t := func(ms int) time.Time { return epoch.Add(time.Duration(ms) * time.Millisecond) }

	// 1. SYNs to the Access VIP 443 that nobody answers, retransmitted
	// with Windows' doubling RTO (1 s, 2 s, 4 s).
	c := newConv(rng, t(0), inet, nw.inbound(ap(client1, ephemeral(rng)), ap(vipAccess, 443), 0, svcAccess)...)
	c.syn()
	for _, rto := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		c.retransmit(0, rto)
	}
	// 2. Federation 5061: TCP connects, the ClientHello is acknowledged
	// but no ServerHello ever comes; the partner gives up after 15 s.
	c = newConv(rng, t(200), inet, nw.inbound(ap(partner, ephemeral(rng)), ap(vipAccess, 5061), 0, svcAccess)...)
	c.handshake()
	runTLS(c, tlsOpts{server: certExternal, noServerHello: true})
	c.wait(15 * time.Second)
	c.reset(0)
	// 3. A TLS session that works, after which only the client's records
	// flow (every 5 s for 35 s) with nothing but ACKs back.
	c = newConv(rng, t(400), inet, nw.inbound(ap(client2, ephemeral(rng)), ap(vipAccess, 443), 0, svcAccess)...)
	c.handshake()
	runTLS(c, tlsOpts{sni: "sip.contoso.com", server: certExternal, exchanges: 2})
	h := &tlsHandshake{rng: rng}
	for i := 0; i < 8; i++ {
		c.wait(5 * time.Second)
		c.xfer(0, h.appData(300+rng.IntN(400)))
	}
	// 4. Cleartext SIP over TCP 5061 (no TLS, e.g. a misconfigured
	// partner gateway): OPTIONS requests get TCP ACKs but no SIP response
	// (Timer B, 32 s, then a new CSeq); the BENOTIFY in between is
	// unanswered by design ([MS-SIP]) and must not count.
	c = newConv(rng, t(900), inet, nw.inbound(ap(partner, ephemeral(rng)), ap(vipAccess, 5061), 0, svcAccess)...)
	c.handshake()
	via := partner.String() + ":5061"
	c.xfer(0, sipRequest(rng, "OPTIONS", "gw@partner.example", "contoso.com", via, 1, ""))
	c.wait(2 * time.Second)
	c.xfer(0, sipRequest(rng, "BENOTIFY", "gw@partner.example", "user@contoso.com", via, 2,
		"<categories xmlns=\"http://schemas.microsoft.com/2006/09/sip/categories\"/>"))
	c.wait(30 * time.Second)
	c.xfer(0, sipRequest(rng, "OPTIONS", "gw@partner.example", "contoso.com", via, 3, ""))
	c.wait(32 * time.Second)
	c.close(0)
	// Healthy traffic around them, so the capture is clearly two-way.
	c = newConv(rng, t(100), inet, nw.inbound(ap(client3, ephemeral(rng)), ap(vipAccess, 443), 1, svcAccess)...)
	sessTLS(c, tlsOpts{sni: "sip.contoso.com", server: certExternal, exchanges: 3})
	c = newConv(rng, t(700), inet, nw.inbound(ap(client4, ephemeral(rng)), ap(vipWebconf, 443), 1, svcWebconf)...)
	sessTLS(c, tlsOpts{sni: "webcon.contoso.com", server: certExternal, exchanges: 2})
	c = newConv(rng, t(50), 8*time.Millisecond, nw.outbound(0, ap(nodes[0].access, ephemeral(rng)), ap(dnsServer, 53), netipZero)...)
	sessDNSUDP(c, "sip.partner.example", partner.As4())
	if err := g.writeCapture(out); err != nil {
		return err
	}

	// The one-direction SPAN: healthy sessions, only client->pool seen.
	rng = rngFor("one-direction-span")
	span := newCapture("one-direction-span", "outside")
	nw = &netw{rng: rng, out: span}
	oneWay := func(l []leg) []leg {
		for i := range l {
			l[i].drop[1] = true
		}
		return l
	}
	for i, cl := range []string{"203.0.113.10", "203.0.113.25", "192.0.2.77"} {
		c = newConv(rng, t(i*300), inet, oneWay(nw.inbound(ap(ip(cl), ephemeral(rng)), ap(vipAccess, 443), i%2, svcAccess))...)
		sessTLS(c, tlsOpts{sni: "sip.contoso.com", server: certExternal, exchanges: 3})
	}
	c = newConv(rng, t(500), inet, oneWay(nw.inbound(ap(partner, ephemeral(rng)), ap(vipAccess, 5061), 0, svcAccess))...)
	sessTLS(c, tlsOpts{sni: "sip.contoso.com", server: certExternal, client: certPartner, mtls: true, exchanges: 2})
	c = newConv(rng, t(900), inet, oneWay(nw.inbound(ap(client4, ephemeral(rng)), ap(vipWebconf, 443), 1, svcWebconf))...)
	sessTLS(c, tlsOpts{sni: "webcon.contoso.com", server: certExternal, exchanges: 2})
	cp := ap(client1, ephemeral(rng))
	c = newConv(rng, t(1100), inet, oneWay(nw.inbound(cp, ap(vipAV, 3478), 0, svcAV))...)
	turnAllocate(c, newTurnSession(rng, ap(nodes[0].av, relayPort(rng)), cp))
	return g.writeCapture(span)
}
