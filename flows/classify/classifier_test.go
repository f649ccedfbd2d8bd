package classify

import (
	"net/netip"
	"testing"
)

func tcpIn(sport uint16, c2s, s2c []byte, closed bool) *Input {
	return &Input{Transport: 6, ClientPort: 51000, ServerPort: sport, C2S: c2s, S2C: s2c, C2SClosed: closed, S2CClosed: closed}
}

func udpIn(sport uint16, ds ...Datagram) *Input {
	return &Input{Transport: 17, ClientPort: 51000, ServerPort: sport, Datagrams: ds}
}

func TestClassify(t *testing.T) {
	alloc := natToolAllocate()
	tx := [16]byte{0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	rfcBind := stunMsg(0x0001, natToolTxID, attr(0x0024, []byte{1, 2, 3, 4}, true))
	iceBind := stunMsg(0x0001, natToolTxID, attr(0x8054, []byte("1"), true), attr(0x8070, []byte{0, 0, 0, 3}, true))
	classic := stunMsg(0x0001, tx, attr(0x0003, []byte{0, 0, 0, 0}, false))
	mtlsC, mtlsS := mtlsFlight(t, "", true, true)
	tlsC, tlsS := mtlsFlight(t, "", false, false)
	sipC, sipS := mtlsFlight(t, "sip.contoso.com", false, false)
	webC, webS := mtlsFlight(t, "webcon.contoso.com", false, false)
	s2sHdr := []byte(`<?xml version="1.0"?><stream:stream xmlns="jabber:server" xmlns:stream="http://etherx.jabber.org/streams" xmlns:db="jabber:server:dialback" to="fabrikam.com" version="1.0">`)
	s2sResp := []byte(`<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' id='x'><stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>`)
	rtp := func(seq uint16) Datagram {
		return Datagram{ToServer: true, Data: rtpPacket(0, seq, uint32(seq)*160, 0xABCD, 160)}
	}
	tests := []struct {
		name    string
		in      *Input
		app     App
		detail  string
		decided bool
	}{
		{"MS-TURN pseudo-TLS then framed Allocate on 443 (neither Wireshark nor nDPI)", tcpIn(443, append(pseudoHello(), msFrame(2, alloc)...), pseudoReply(), false), STUN, "ms-turn/pseudo-tls", true},
		{"pseudo-TLS hello alone", tcpIn(443, pseudoHello(), nil, false), STUN, "ms-turn/pseudo-tls", true},
		{"pseudo-TLS hello, first 20 bytes: wait", tcpIn(443, pseudoHello()[:20], nil, false), Unknown, "", false},
		{"MS 02 00 framing without hello", tcpIn(443, msFrame(2, alloc), nil, false), STUN, "ms-turn/tcp-framed", true},
		{"RFC 4571 STUN on 443", tcpIn(443, rfc4571(rfcBind), nil, false), STUN, "rfc5389/rfc4571", true},
		{"bare MS-TURN over TCP", tcpIn(3478, alloc, nil, false), STUN, "ms-turn", true},
		{"bare STUN over TCP, half a message: wait", tcpIn(3478, rfcBind[:24], nil, false), Unknown, "", false},
		{"TLS SNI sip.* on 443", tcpIn(443, sipC, sipS, false), SIP, "sip/tls", true},
		{"TLS SNI webcon.* on 443", tcpIn(443, webC, webS, false), PSOM, "psom/tls", true},
		{"TLS on 5061", tcpIn(5061, tlsC, tlsS, false), SIP, "sip/tls", true},
		{"mutual TLS on 5061", tcpIn(5061, mtlsC, mtlsS, false), SIP, "sip/mtls", true},
		{"mutual TLS on 8057", tcpIn(8057, mtlsC, mtlsS, false), PSOM, "psom/mtls", true},
		{"TLS without client cert on 8057 stays tls", tcpIn(8057, tlsC, tlsS, false), TLS, "tls1.2", true},
		{"mutual TLS on 50002", tcpIn(50002, mtlsC, mtlsS, false), CLS, "cls/mtls", true},
		{"mutual TLS on 23456", tcpIn(23456, mtlsC, mtlsS, false), XMPP, "xmpp/mtls", true},
		{"mutual TLS on 443", tcpIn(443, mtlsC, mtlsS, false), TLS, "mtls", true},
		{"ClientHello only: TLS, not decided", tcpIn(443, tlsC[:80], nil, false), TLS, "tls1.2", false},
		{"CertificateRequest seen, client cert pending", tcpIn(50001, mtlsC[:len(tlsRecord(22, 0, clientHello("", "h2", "http/1.1")))], mtlsS, false), TLS, "tls1.2", false},
		{"TLS on port 80", tcpIn(80, tlsC, tlsS, false), TLS, "tls1.2", true},
		{"HTTP on the SIP port", tcpIn(5060, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), nil, false), HTTP, "http", true},
		{"CRL fetch", tcpIn(80, []byte("GET /pki/a.crl HTTP/1.1\r\nHost: crl.x\r\n\r\n"), nil, false), HTTP, "http/crl", true},
		{"SIP over TCP", tcpIn(5060, []byte("REGISTER sip:contoso.com SIP/2.0\r\nCSeq: 1 REGISTER\r\n\r\n"), nil, false), SIP, "sip/tcp", true},
		{"XMPP S2S with dialback on 443 (payload over port)", tcpIn(443, s2sHdr, s2sResp, false), XMPP, "s2s", true},
		{"XMPP header only: xmpp, waiting", tcpIn(5269, s2sHdr, nil, false), XMPP, "s2s", false},
		{"DNS over TCP", tcpIn(53, append([]byte{0, 33}, dnsQuery("sip.contoso.com")...), nil, false), DNS, "dns/tcp", true},
		{"SYN scan: no payload, closed", tcpIn(5061, nil, nil, true), Unknown, "no-payload", true},
		{"no payload yet", tcpIn(5061, nil, nil, false), Unknown, "", false},
		{"SSH banner on 443", tcpIn(443, []byte("SSH-2.0-OpenSSH_9.6\r\n"), nil, false), Unknown, "", true},
		{"server speaks first, client silent: wait", tcpIn(21, nil, []byte("220 ftp ready\r\n"), false), Unknown, "", false},
		{"UDP MS-TURN Allocate", udpIn(3478, Datagram{true, alloc}), STUN, "ms-turn", true},
		{"UDP classic STUN", udpIn(3478, Datagram{true, classic}), STUN, "classic", true},
		{"UDP ICE check", udpIn(50000, Datagram{true, iceBind}), STUN, "rfc5389/ice", true},
		{"UDP RFC 5389 then ICE attrs later", udpIn(50000, Datagram{true, rfcBind}, Datagram{false, iceBind}), STUN, "rfc5389/ice", true},
		{"UDP FF10 with STUN inside", udpIn(3478, Datagram{true, append([]byte{0xFF, 0x10, 0, byte(8 + len(rfcBind)), 1, 2, 3, 4, 5, 6, 7, 8}, rfcBind...)}), STUN, "ms-turn/mux", true},
		{"UDP RTP x3 on 3478 (after Set Active Destination)", udpIn(3478, rtp(1), rtp(2), rtp(3)), RTP, "rtp", true},
		{"UDP RTP on 50001 is rtp, not cls", udpIn(50001, rtp(10), rtp(11), rtp(12)), RTP, "rtp", true},
		{"UDP RTP x2: wait", udpIn(40000, rtp(1), rtp(2)), Unknown, "", false},
		{"UDP STUN then SRTP on one 5-tuple", udpIn(50000, Datagram{true, iceBind}, rtp(1), rtp(2), rtp(3)), STUN, "rfc5389/ice", true},
		{"UDP RTCP PSFB-first", udpIn(50001, Datagram{true, rtcpPSFBThenRR()}), RTP, "rtcp", true},
		{"UDP SIP", udpIn(5060, Datagram{true, []byte("OPTIONS sip:a@b SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n")}), SIP, "sip/udp", true},
		{"UDP DNS", udpIn(53, Datagram{true, dnsQuery("webcon.contoso.com")}), DNS, "dns", true},
		{"UDP mDNS is not dns", udpIn(5353, Datagram{true, dnsQuery("printer.local")}), Unknown, "mdns", true},
		{"UDP ChannelData alone is not evidence", udpIn(3478, Datagram{true, []byte{0x40, 0, 0, 4, 1, 2, 3, 4}}), Unknown, "", false},
		{"UDP garbage x4", udpIn(3478, Datagram{true, []byte("hello")}, Datagram{true, []byte("x")}, Datagram{false, []byte("y")}, Datagram{true, []byte("z")}), Unknown, "", true},
		{"ICMP", &Input{Transport: 1}, Unknown, "", true},
	}
	var r Result
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			Classify(tc.in, &r)
			if r.App != tc.app || r.Detail != tc.detail || r.Decided != tc.decided {
				t.Errorf("got %s %q decided=%v (%s), want %s %q decided=%v", r.App, r.Detail, r.Decided, r.Why, tc.app, tc.detail, tc.decided)
			}
			if r.App != Unknown && r.Why == "" {
				t.Error("no Why")
			}
		})
	}
}

func TestClassifyDetails(t *testing.T) {
	var r Result
	// UDP: a STUN response sent toward the "server" means the roles are reversed.
	resp := stunMsg(0x0101, natToolTxID, attr(0x0020, addrAttr(netip.MustParseAddrPort("192.0.2.1:1"), natToolTxID[:], natToolTxID[:2]), true))
	Classify(udpIn(3478, Datagram{true, resp}), &r)
	if !r.Reversed || r.STUN.First.XORMapped != netip.MustParseAddrPort("192.0.2.1:1") {
		t.Errorf("reversed=%v xor=%v", r.Reversed, r.STUN.First.XORMapped)
	}
	// Pseudo-TLS flow: the framed Allocate's facts reach STUNInfo.
	Classify(tcpIn(443, append(pseudoHello(), msFrame(2, natToolAllocate())...), pseudoReply(), false), &r)
	if !r.STUN.PseudoTLS || !r.STUN.PseudoReply || r.STUN.Messages != 1 || r.STUN.Framing != FramingMSControl || r.STUN.First.MSVersion != 4 {
		t.Errorf("%+v", r.STUN)
	}
	// Mutual TLS flow carries the certificate facts.
	c, s := mtlsFlight(t, "", true, true)
	Classify(tcpIn(50001, c, s, false), &r)
	if r.TLS.CertCN != "sip.contoso.com" || !r.TLS.Mutual {
		t.Errorf("tls %+v", r.TLS)
	}
	// DNS qname.
	Classify(udpIn(53, Datagram{true, dnsQuery("sip.contoso.com")}), &r)
	if string(r.QName()) != "sip.contoso.com" {
		t.Errorf("qname %q", r.QName())
	}
}
