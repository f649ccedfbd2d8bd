package classify

import (
	"testing"
)

// Fuzz targets: every parser must accept any input without panicking, and
// keep its documented invariants. Seeds are the spec and capture vectors.

func stunSeeds(f *testing.F) {
	tx := [16]byte{0xDE, 0xAD, 0xBE, 0xEF}
	f.Add(natToolAllocate())
	f.Add(stunMsg(0x0115, tx, msCookieAttr, attr(0x0013, []byte{0x80, 0, 0, 1}, false)))
	f.Add(stunMsg(0x0001, natToolTxID, attr(0x8054, []byte("1"), true), attr(0x8070, []byte{0, 0, 0, 3}, true)))
	f.Add(stunMsg(0x0101, tx, attr(0x0001, []byte{0, 1, 0, 1, 1, 2, 3, 4}, false)))
	f.Add(stunMsg(0x0103, tx, msCookieAttr, attr(0x8020, []byte{0, 2, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, false)))
}

func FuzzParseSTUN(f *testing.F) {
	stunSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var m STUNMessage
		if ParseSTUN(b, &m) {
			if int(m.Length)+20 != len(b) || m.Variant == VariantNone {
				t.Fatalf("accepted with length %d for %d bytes, variant %v", m.Length, len(b), m.Variant)
			}
			STUNAttrs(b, &m, func(uint16, []byte) {})
			_ = m.ExpectsAnswer()
		}
	})
}

func FuzzNextSTUNFrame(f *testing.F) {
	f.Add(append(pseudoHello()[:0], msFrame(2, natToolAllocate())...))
	f.Add(msFrame(3, rtpPacket(0, 1, 2, 3, 10)))
	f.Add(rfc4571(stunMsg(0x0001, natToolTxID)))
	f.Add([]byte{0x40, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 0, 0, 0})
	f.Add([]byte{0xFF, 0x10, 0x00, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		for i := 0; i < 100; i++ {
			msg, _, rest, ok := NextSTUNFrame(b)
			if !ok {
				return
			}
			if len(rest) >= len(b) || len(msg) > len(b) {
				t.Fatalf("no progress: %d -> %d", len(b), len(rest))
			}
			var m STUNMessage
			ParseSTUN(msg, &m)
			b = rest
		}
	})
}

func FuzzTLS(f *testing.F) {
	c, s := mtlsFlight(f, "sip.contoso.com", true, true)
	f.Add(c, s)
	f.Add(pseudoHello(), pseudoReply())
	f.Add(tlsRecord(22, VersionTLS10, clientHello("x", "h2")), tlsRecord(22, VersionTLS12, serverHello(0x1301, true)))
	f.Fuzz(func(t *testing.T, c2s, s2c []byte) {
		var ti TLSInfo
		ParseTLS(c2s, s2c, &ti, true)
		_ = ti.SNI()
		ti.ALPN(func([]byte) {})
		TLSStart(c2s)
		IsPseudoTLSClientHello(c2s)
		IsPseudoTLSServerHello(s2c)
	})
}

func FuzzSIP(f *testing.F) {
	f.Add([]byte("SERVICE sip:contoso.com SIP/2.0\r\nFrom: <sip:a@contoso.com>\r\nTo: <sip:b@fabrikam.com>\r\nCall-ID: x\r\nCSeq: 1 SERVICE\r\nContent-Length: 2\r\n\r\nab"))
	f.Add([]byte("SIP/2.0 200 OK\r\nl: 0\r\n\r\n"))
	f.Add([]byte("BENOTIFY sip:a@b SIP/2.0\r\n\r\n\r\nNEGOTIATE sip:a SIP/2.0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s SIPInfo
		ParseSIPDatagram(b, &s)
		_ = s.FromDomain()
		for i := 0; i < 100; i++ {
			msg, rest, ok := NextSIPMessage(b, &s)
			if !ok {
				return
			}
			if len(msg) == 0 || len(rest) >= len(b) {
				t.Fatal("no progress")
			}
			b = rest
		}
	})
}

func FuzzXMPP(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0"?><stream:stream xmlns="jabber:server" xmlns:stream="http://etherx.jabber.org/streams" to="a" from="b">`))
	f.Add([]byte("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features><proceed/>\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00"))
	f.Add([]byte("</stream:stream>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var x XMPPStream
		if ParseXMPP(b, &x) && x.TLSAt >= len(b) {
			t.Fatal("TLSAt beyond input")
		}
		xmppStanza(b)
	})
}

func FuzzRTP(f *testing.F) {
	f.Add(rtpPacket(0, 1, 2, 3, 20))
	f.Add(rtcpPSFBThenRR())
	f.Add([]byte{0x90, 0x68, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h RTPHeader
		if ParseRTP(b, &h) && h.HeaderLen > len(b) {
			t.Fatal("header longer than packet")
		}
		var r RTCPInfo
		ParseRTCP(b, &r)
		var tr RTPTracker
		tr.Add(&h)
		Demux(b)
		var c ChannelData
		ParseChannelData(b, &c)
		var x MSMux
		ParseMSMux(b, &x)
	})
}

func FuzzDNS(f *testing.F) {
	f.Add(dnsQuery("sip.contoso.com"))
	f.Add(append([]byte{0, 33}, dnsQuery("sip.contoso.com")...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d DNSInfo
		name := make([]byte, 16)
		if ParseDNS(b, &d, name) && d.NameLen > len(name) {
			t.Fatal("name overflow")
		}
		ParseDNSTCP(b, &d, name)
	})
}

func FuzzHTTP(f *testing.F) {
	f.Add([]byte("GET /a.crl HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /ocsp HTTP/1.0\r\nContent-Type: application/ocsp-request\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h HTTPInfo
		ParseHTTP(b, &h)
		_ = h.MethodName()
	})
}

// FuzzClassify drives Classify with TCP streams and UDP datagrams cut from
// the input, over growing prefixes as the flow table would.
func FuzzClassify(f *testing.F) {
	f.Add(uint16(443), append(pseudoHello(), msFrame(2, natToolAllocate())...), pseudoReply(), true)
	c, s := mtlsFlight(f, "", true, true)
	f.Add(uint16(50001), c, s, true)
	f.Add(uint16(3478), natToolAllocate(), rtpPacket(0, 1, 2, 3, 20), false)
	f.Add(uint16(5269), []byte(`<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>`), []byte{}, true)
	f.Add(uint16(5060), []byte("INVITE sip:a@b SIP/2.0\r\n\r\n"), []byte("SIP/2.0 100 Trying\r\n\r\n"), false)
	f.Fuzz(func(t *testing.T, port uint16, a, b []byte, tcp bool) {
		var r Result
		in := Input{Transport: 17, ServerPort: port, ClientPort: 50000}
		if tcp {
			in.Transport = 6
			for _, n := range []int{1, 7, 50, len(a)} {
				in.C2S = a[:min(n, len(a))]
				in.S2C = b[:min(n, len(b))]
				Classify(&in, &r)
			}
			in.C2SClosed, in.S2CClosed = true, true
			Classify(&in, &r)
			if !r.Decided {
				t.Fatal("closed TCP flow not decided")
			}
			return
		}
		for len(a) > 0 && len(in.Datagrams) < MaxDatagrams {
			n := int(a[0])%64 + 1
			n = min(n, len(a))
			in.Datagrams = append(in.Datagrams, Datagram{ToServer: n%2 == 0, Data: a[:n]})
			a = a[n:]
			Classify(&in, &r)
		}
		in.Datagrams = append(in.Datagrams, Datagram{Data: b})
		in.C2SClosed, in.S2CClosed = true, true
		Classify(&in, &r)
		if !r.Decided {
			t.Fatal("closed UDP flow not decided")
		}
	})
}
