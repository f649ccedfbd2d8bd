package main

// rules/: for each of the 33 port rules one allowed flow and one or more
// near misses (wrong direction, wrong port, wrong role, wrong protocol),
// written to external.pcap (outside the HLB), internal.pcap (the internal
// segment) and ocs2007.pcap (the OCS 2007 federation rules, which need
// topology-ocs2007.yaml), with rules/manifest.tsv naming every verdict.

import "net/netip"

const (
	topoDefault = "topology.yaml"
	topoOCS     = "topology-ocs2007.yaml"
	topoNoXMPP  = "topology-noxmpp.yaml"
	unexpected  = "unexpected-port:GEN-01"
)

func mismatch(rule string) string { return "protocol-mismatch:" + rule }

func genRules(g *gen) error {
	b := newFlowBook("rules")
	rng := b.rng
	ep := func(a netip.Addr) netip.AddrPort { return ap(a, ephemeral(rng)) }
	rp := func(a netip.Addr) netip.AddrPort { return ap(a, relayPort(rng)) }
	e1, e2 := nodes[0], nodes[1]
	const ext, in, ocs = "rules/external.pcap", "rules/internal.pcap", "rules/ocs2007.pcap"

	type row struct {
		rule, kase, file, tr string
		cl, sv               netip.AddrPort
		app, expRule, expF   string
		note                 string
	}
	rows := []row{
		{"EXT-N-01", "allowed", ext, "tcp", ep(e1.access), ap(crlServer, 80), "http-crl", "EXT-N-01", "", "Access Edge downloads a CRL"},
		{"EXT-N-01", "wrong-role", ext, "tcp", ep(e1.av), ap(crlServer, 80), "http-crl", "", unexpected, "CRL fetch from the A/V address instead of Access"},
		{"EXT-N-01", "wrong-direction", ext, "tcp", ep(crlServer), ap(e1.access, 80), "http", "", unexpected, "Internet host opens HTTP to the Access Edge"},
		{"EXT-N-02", "allowed", ext, "tcp", ep(e1.access), ap(dnsServer, 53), "dns-tcp", "EXT-N-02", "", "DNS over TCP from the Access Edge"},
		{"EXT-N-02", "wrong-port", ext, "tcp", ep(e1.access), ap(dnsServer, 5353), "dns-tcp", "", unexpected, "DNS to a non-standard port"},
		{"EXT-N-02", "wrong-role", ext, "tcp", ep(e1.webconf), ap(dnsServer, 53), "dns-tcp", "", unexpected, "DNS from the Web Conferencing address"},
		{"EXT-N-03", "allowed", ext, "udp", ep(e2.access), ap(dnsServer, 53), "dns-udp", "EXT-N-03", "", "DNS over UDP from edge2's Access address"},
		{"EXT-N-03", "wrong-direction", ext, "udp", ep(client1), ap(e1.access, 53), "dns-udp", "", unexpected, "Internet host queries the Edge as a DNS server"},
		{"EXT-N-03", "wrong-protocol", ext, "udp", ep(e1.access), ap(dnsServer, 53), "junk-udp", "", mismatch("EXT-N-03"), "non-DNS datagrams on UDP 53"},
		{"EXT-N-04", "allowed", ext, "tcp", rp(e1.av), ap(partnerAV, 50610), "rtp-tcp", "EXT-N-04", "", "federation media over TCP from a relay port"},
		{"EXT-N-04", "wrong-port", ext, "tcp", ep(e1.av), ap(partnerAV, 50610), "rtp-tcp", "", unexpected, "A/V source port outside 50000-59999"},
		{"EXT-N-04", "wrong-role", ext, "tcp", rp(e1.access), ap(partnerAV, 50610), "rtp-tcp", "", unexpected, "relay-range media from the Access address"},
		{"EXT-N-05", "allowed", ocs, "udp", rp(e1.av), ap(partnerAV, 50700), "rtp-udp", "EXT-N-05", "", "OCS 2007 federation media over UDP, outbound"},
		{"EXT-N-05", "wrong-role", ocs, "udp", rp(e1.webconf), ap(partnerAV, 50700), "rtp-udp", "", unexpected, "UDP media from the Web Conferencing address"},
		{"EXT-N-05", "option-off", ext, "udp", rp(e1.av), ap(partnerAV, 50702), "rtp-udp", "", unexpected, "outbound UDP relay media without federation_ocs2007"},
		{"EXT-N-06", "allowed", ocs, "tcp", ap(partnerAV, 50710), rp(e1.av), "rtp-tcp", "EXT-N-06", "", "OCS 2007 partner opens TCP media to the relay range"},
		{"EXT-N-06", "wrong-port", ocs, "tcp", ap(partnerAV, 50711), ap(e1.av, 49000), "rtp-tcp", "", unexpected, "inbound TCP below the relay range"},
		{"EXT-N-06", "option-off", ext, "tcp", ap(partnerAV, 50712), rp(e1.av), "rtp-tcp", "", unexpected, "inbound TCP to the relay range without federation_ocs2007"},
		{"EXT-N-07", "allowed", ocs, "udp", ap(partnerAV, 50720), rp(e1.av), "rtp-udp", "EXT-N-07", "", "OCS 2007 partner sends UDP media to the relay range"},
		{"EXT-N-07", "wrong-role", ocs, "udp", ap(partnerAV, 50721), rp(e1.access), "rtp-udp", "", unexpected, "inbound relay-range UDP to the Access address"},
		{"EXT-N-07", "option-off", ext, "udp", ap(partnerAV, 50722), rp(e1.av), "rtp-udp", "", unexpected, "inbound UDP to the relay range without federation_ocs2007"},
		{"EXT-N-08", "allowed", ext, "udp", rp(e1.av), ap(partnerAV, 3478), "stun-udp", "EXT-N-08", "", "relay runs ICE checks and media with the partner Edge's 3478"},
		{"EXT-N-08", "wrong-protocol", ext, "udp", rp(e1.av), ap(partnerAV, 3478), "junk-udp", "", mismatch("EXT-N-08"), "non-STUN/RTP datagrams to 3478"},
		{"EXT-N-08", "wrong-role", ext, "udp", ep(e1.access), ap(partnerAV, 3478), "stun-udp", "", unexpected, "STUN from the Access address"},
		{"EXT-N-09", "allowed", ext, "udp", rp(partnerAV), ap(e1.av, 3478), "stun-udp", "EXT-N-09|EXT-V-07", "", "partner relay checks our A/V real address on 3478 (indistinguishable from an inside leg of EXT-V-07)"},
		{"EXT-N-09", "wrong-port", ext, "udp", rp(partnerAV), ap(e1.av, 3479), "stun-udp", "", unexpected, "STUN to 3479"},
		{"EXT-N-10", "allowed", ext, "tcp", rp(partnerAV), ap(e1.av, 443), "msturn-tcp", "EXT-N-10|EXT-V-08", "", "MS-TURN over TCP 443 to the A/V real address (also the shape of an inside leg of EXT-V-08)"},
		{"EXT-N-10", "wrong-protocol", ext, "tcp", ep(client1), ap(e1.av, 443), "tls-web", "", mismatch("EXT-N-10"), "real TLS to the A/V address"},
		{"EXT-N-10", "wrong-port", ext, "tcp", rp(partnerAV), ap(e1.av, 4443), "msturn-tcp", "", unexpected, "MS-TURN over TCP to 4443 on the A/V address"},
		{"EXT-N-11", "allowed", ext, "tcp", rp(e1.av), ap(partnerAV, 443), "msturn-tcp", "EXT-N-11|EXT-N-04", "", "relay opens MS-TURN over TCP to the partner's 443 (source port in the relay range, so EXT-N-04 also fits)"},
		{"EXT-N-11", "wrong-role", ext, "tcp", rp(e1.webconf), ap(partnerAV, 443), "msturn-tcp", "", unexpected, "MS-TURN from the Web Conferencing address"},

		{"INT-N-01", "allowed", in, "tcp", ep(fe1), ap(e1.intern, 23456), "mtls", "INT-N-01", "", "XMPP gateway to the Edge's XMPP proxy"},
		{"INT-N-01", "wrong-role", in, "tcp", ep(fe1), ap(vipInternal, 23456), "mtls", "", unexpected, "23456 sent to the internal VIP"},
		{"INT-N-01", "wrong-protocol", in, "tcp", ep(fe1), ap(e1.intern, 23456), "tls", "", mismatch("INT-N-01"), "23456 without a CertificateRequest (not mutual TLS)"},
		{"INT-N-02", "allowed", in, "tcp", ep(fe1), ap(e1.intern, 4443), "tls-https", "INT-N-02", "", "CMS replication over HTTPS"},
		{"INT-N-02", "wrong-direction", in, "tcp", ep(e1.intern), ap(fe1, 4443), "tls-https", "", unexpected, "Edge opens 4443 to the Front End"},
		{"INT-N-03", "allowed", in, "tcp", ep(fe1), ap(e1.intern, 8057), "mtls", "INT-N-03", "", "PSOM from the Front End"},
		{"INT-N-03", "wrong-role", in, "tcp", ep(fe1), ap(vipInternal, 8057), "mtls", "", unexpected, "8057 sent to the internal VIP"},
		{"INT-N-03", "wrong-protocol", in, "tcp", ep(fe2), ap(e1.intern, 8057), "tls", "", mismatch("INT-N-03"), "8057 without mutual TLS"},
		{"INT-N-04", "allowed", in, "udp", ep(fe1), ap(e1.intern, 3478), "msturn-udp", "INT-N-04|INT-V-04", "", "Front End allocates on the Edge's internal 3478 (also the shape of an inside leg of INT-V-04)"},
		{"INT-N-04", "wrong-protocol", in, "udp", ep(fe1), ap(e1.intern, 3478), "junk-udp", "", mismatch("INT-N-04"), "non-STUN on internal 3478"},
		{"INT-N-04", "wrong-direction", in, "udp", ep(e1.intern), ap(fe1, 3478), "msturn-udp", "", unexpected, "Edge sends TURN to the Front End"},
		{"INT-N-05", "allowed", in, "tcp", ep(fe1), ap(e1.intern, 443), "msturn-tcp", "INT-N-05|INT-V-05", "", "MS-TURN over TCP to the internal interface (also the shape of an inside leg of INT-V-05)"},
		{"INT-N-05", "wrong-protocol", in, "tcp", ep(fe1), ap(e1.intern, 443), "tls", "", mismatch("INT-N-05"), "real TLS on internal 443"},
		{"INT-N-06", "allowed", in, "tcp", ep(fe1), ap(e1.intern, 50001), "mtls", "INT-N-06", "", "CLS controller to agent"},
		{"INT-N-06", "wrong-role", in, "tcp", ep(fe1), ap(vipInternal, 50001), "mtls", "", unexpected, "CLS sent to the internal VIP"},
		{"INT-N-07", "allowed", in, "tcp", ep(fe2), ap(e2.intern, 50002), "mtls", "INT-N-07", "", "CLS log collection from edge2"},
		{"INT-N-07", "wrong-protocol", in, "tcp", ep(fe1), ap(e1.intern, 50002), "mtls-nocert", "", mismatch("INT-N-07"), "client answers the CertificateRequest with an empty list"},
		{"INT-N-08", "allowed", in, "tcp", ep(fe2), ap(e1.intern, 50003), "mtls", "INT-N-08", "", "CLS on 50003"},
		{"INT-N-08", "wrong-port", in, "tcp", ep(fe2), ap(e1.intern, 50004), "mtls", "", unexpected, "CLS-like MTLS on 50004"},

		{"EXT-V-01", "allowed", ext, "tcp", ep(xmppPeer), ap(vipAccess, 5269), "xmpp", "EXT-V-01", "", "inbound XMPP federation"},
		{"EXT-V-01", "wrong-role", ext, "tcp", ep(xmppPeer), ap(vipWebconf, 5269), "xmpp", "", unexpected, "XMPP to the Web Conferencing VIP"},
		{"EXT-V-02", "allowed", ext, "tcp", ep(vipAccess), ap(xmppPeer, 5269), "xmpp", "EXT-V-02", "", "outbound XMPP federation from the Access VIP"},
		{"EXT-V-02", "wrong-role", ext, "tcp", ep(vipWebconf), ap(xmppPeer, 5269), "xmpp", "", unexpected, "outbound XMPP from the Web Conferencing VIP"},
		{"EXT-V-03", "allowed", ext, "tcp", ep(client1), ap(vipAccess, 443), "tls-sip", "EXT-V-03", "", "remote user SIP over TLS"},
		{"EXT-V-03", "wrong-protocol", ext, "tcp", ep(client2), ap(vipAccess, 443), "msturn-tcp", "", mismatch("EXT-V-03"), "MS-TURN pseudo-TLS on the Access VIP (DNS mix-up)"},
		{"EXT-V-03", "wrong-direction", ext, "tcp", ep(vipAccess), ap(client1, 443), "tls-sip", "", unexpected, "the Access VIP opens 443 to the Internet"},
		{"EXT-V-04", "allowed", ext, "tcp", ep(partner), ap(vipAccess, 5061), "mtls", "EXT-V-04", "", "federation SIP inbound"},
		{"EXT-V-04", "wrong-port", ext, "tcp", ep(partner), ap(vipAccess, 5062), "mtls", "", unexpected, "5062 on the external Access VIP"},
		{"EXT-V-04", "wrong-protocol", ext, "tcp", ep(partner), ap(vipAccess, 5061), "tls", "", mismatch("EXT-V-04"), "5061 without a CertificateRequest"},
		{"EXT-V-05", "allowed", ext, "tcp", ep(vipAccess), ap(partner, 5061), "mtls", "EXT-V-05", "", "federation SIP outbound to the partner"},
		{"EXT-V-05", "wrong-role", ext, "tcp", ep(vipAccess), ap(client3, 5061), "mtls", "", unexpected, "outbound 5061 to a host that is not a federation partner"},
		{"EXT-V-06", "allowed", ext, "tcp", ep(client3), ap(vipWebconf, 443), "tls-psom", "EXT-V-06", "", "web conferencing PSOM over TLS"},
		{"EXT-V-06", "wrong-protocol", ext, "tcp", ep(client3), ap(vipWebconf, 443), "http", "", mismatch("EXT-V-06"), "cleartext HTTP on 443"},
		{"EXT-V-06", "wrong-port", ext, "tcp", ep(client3), ap(vipWebconf, 8443), "tls-psom", "", unexpected, "PSOM to 8443"},
		{"EXT-V-07", "allowed", ext, "udp", ep(client1), ap(vipAV, 3478), "msturn-udp", "EXT-V-07", "", "MS-TURN Allocate over UDP"},
		{"EXT-V-07", "wrong-protocol", ext, "udp", ep(client2), ap(vipAV, 3478), "junk-udp", "", mismatch("EXT-V-07"), "non-STUN datagrams to the A/V VIP's 3478"},
		{"EXT-V-07", "wrong-role", ext, "udp", ep(client1), ap(vipAccess, 3478), "msturn-udp", "", unexpected, "TURN to the Access VIP"},
		{"EXT-V-08", "allowed", ext, "tcp", ep(client4), ap(vipAV, 443), "msturn-tcp", "EXT-V-08", "", "MS-TURN over TCP 443 (pseudo-TLS)"},
		{"EXT-V-08", "wrong-protocol", ext, "tcp", ep(client4), ap(vipAV, 443), "tls-web", "", mismatch("EXT-V-08"), "real TLS on the A/V VIP"},
		{"EXT-V-08", "wrong-direction", ext, "tcp", ep(vipAV), ap(client4, 443), "msturn-tcp", "", unexpected, "the A/V VIP opens TCP 443 outward"},

		{"INT-V-01", "allowed", in, "tcp", ep(fe1), ap(vipInternal, 5061), "mtls", "INT-V-01", "", "pool SIP out to the Edge"},
		{"INT-V-01", "wrong-role", in, "tcp", ep(intClient), ap(vipInternal, 5061), "mtls", "", unexpected, "internal PC (not a pool server) to the internal VIP 5061"},
		{"INT-V-02", "allowed", in, "tcp", ep(vipInternal), ap(fe1, 5061), "mtls", "INT-V-02", "", "Edge SIP in to the pool, from the internal VIP"},
		{"INT-V-02", "allowed", in, "tcp", ep(e1.intern), ap(fe1, 5061), "mtls", "INT-V-02", "", "Edge SIP in to the pool, from edge1's internal address (the rule's 'edge-internal')"},
		{"INT-V-02", "wrong-role", in, "tcp", ep(vipInternal), ap(intClient, 5061), "mtls", "", unexpected, "internal VIP opens 5061 to a host that is no pool server"},
		{"INT-V-03", "allowed", in, "tcp", ep(fe2), ap(vipInternal, 5062), "mtls", "INT-V-03", "", "A/V authentication"},
		{"INT-V-03", "wrong-direction", in, "tcp", ep(vipInternal), ap(fe2, 5062), "mtls", "", unexpected, "5062 opened from the Edge side"},
		{"INT-V-04", "allowed", in, "udp", ep(intClient), ap(vipInternal, 3478), "msturn-udp", "INT-V-04", "", "internal client allocates through the internal VIP"},
		{"INT-V-04", "wrong-protocol", in, "udp", ep(intClient), ap(vipInternal, 3478), "junk-udp", "", mismatch("INT-V-04"), "non-STUN to internal VIP 3478"},
		{"INT-V-05", "allowed", in, "tcp", ep(intClient), ap(vipInternal, 443), "msturn-tcp", "INT-V-05", "", "MS-TURN over TCP through the internal VIP"},
		{"INT-V-05", "wrong-protocol", in, "tcp", ep(intClient), ap(vipInternal, 443), "tls-web", "", mismatch("INT-V-05"), "real TLS to internal VIP 443"},
		{"INT-V-06", "allowed", in, "tcp", ep(vipInternal), ap(intClient, 443), "msturn-tcp", "INT-V-06", "", "internal VIP opens the TCP media fallback"},
		{"INT-V-06", "wrong-port", in, "tcp", ep(vipInternal), ap(intClient, 8443), "msturn-tcp", "", unexpected, "fallback media to 8443"},
	}
	for _, r := range rows {
		topo := topoDefault
		point := "outside"
		if r.file == ocs {
			topo = topoOCS
		}
		if r.file == in {
			point = "internal"
		}
		l := mfLine{file: r.file, topology: topo, transport: r.tr, client: r.cl, server: r.sv, app: r.app,
			kase: r.kase, forRule: r.rule, expectRule: r.expRule, expectFinding: r.expF, note: r.note}
		b.flow(l, point, b.player(r.app, l))
	}
	for _, c := range b.order {
		if err := g.writeCapture(c); err != nil {
			return err
		}
	}
	return g.writeFile("rules/manifest.tsv", manifestBytes(b.lines), 0)
}
