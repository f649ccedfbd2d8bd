package main

// unexpected-ports.pcap: one capture from a SPAN session that collects
// both of edge1's segments (external and internal), holding the ports and
// protocols the policy must reject. unexpected-ports.tsv lists each flow
// with its expected verdict, in the rules/manifest.tsv format; the XMPP
// lines appear twice, once per topology (xmpp on / off).

func genUnexpected(g *gen) error {
	b := newFlowBook("unexpected-ports")
	rng := b.rng
	e1 := nodes[0]
	const f = "unexpected-ports.pcap"
	add := func(rule, kase, tr string, cl, sv, app, expRule, expF, note string, topo ...string) {
		l := mfLine{file: f, topology: topoDefault, transport: tr, client: parseAP(cl, rng), server: parseAP(sv, rng),
			app: app, kase: kase, forRule: rule, expectRule: expRule, expectFinding: expF, note: note}
		b.flow(l, "span", b.player(app, l))
		for _, t := range topo { // the same flow judged under another topology
			x := b.lines[len(b.lines)-1]
			x.topology = t
			switch t {
			case topoNoXMPP:
				x.kase, x.expectRule, x.expectFinding = "option-off", "", "unexpected-port:GEN-04"
				x.note += " (XMPP not deployed)"
			case topoOCS:
				x.kase, x.expectRule, x.expectFinding = "allowed", "EXT-N-07", ""
				x.note += " (allowed once OCS 2007 federation is on)"
			}
			b.lines = append(b.lines, x)
		}
	}
	add("-", "wrong-port", "tcp", "203.0.113.25:*", e1.access.String()+":22", "ssh", "", unexpected, "sshd answering on an Edge address")
	add("-", "wrong-port", "tcp", "192.0.2.77:*", e1.webconf.String()+":8080", "http", "", unexpected, "a web server on 8080")
	add("EXT-V-07", "wrong-port", "udp", "203.0.113.10:*", vipAV.String()+":3479", "stun-udp", "", unexpected, "STUN on the wrong port")
	add("EXT-V-08", "wrong-protocol", "tcp", "203.0.113.140:*", vipAV.String()+":443", "tls-web", "", mismatch("EXT-V-08"), "real TLS with a web certificate on the A/V VIP's 443")
	add("EXT-V-03", "wrong-protocol", "tcp", "203.0.113.10:*", vipAccess.String()+":443", "http", "", mismatch("EXT-V-03"), "cleartext HTTP on the Access VIP's 443")
	add("EXT-V-07", "wrong-protocol", "udp", "203.0.113.25:*", vipAV.String()+":3478", "junk-udp", "", mismatch("EXT-V-07"), "non-STUN datagrams on 3478")
	add("INT-N-03", "wrong-protocol", "tcp", fe1.String()+":*", e1.intern.String()+":8057", "tls", "", mismatch("INT-N-03"), "8057 without mutual TLS")
	add("EXT-V-01", "allowed", "tcp", xmppPeer.String()+":*", vipAccess.String()+":5269", "xmpp", "EXT-V-01", "", "XMPP federation", topoNoXMPP)
	add("INT-N-01", "allowed", "tcp", fe1.String()+":*", e1.intern.String()+":23456", "mtls", "INT-N-01", "", "XMPP gateway to proxy", topoNoXMPP)
	add("EXT-N-07", "option-off", "udp", "192.0.2.77:61000", e1.av.String()+":52000", "rtp-udp", "", unexpected, "inbound UDP to the relay range with no prior outbound", topoOCS)
	add("-", "wrong-role", "tcp", e1.intern.String()+":*", webServer.String()+":443", "tls-web", "", "internal-routing:HLB-09", "edge1's internal interface talks to an Internet address (default gateway on the internal NIC)")
	for _, c := range b.order {
		if err := g.writeCapture(c); err != nil {
			return err
		}
	}
	return g.writeFile("unexpected-ports.tsv", manifestBytes(b.lines), 0)
}
