package classify

import (
	"testing"
)

func BenchmarkParseSTUN(b *testing.B) {
	msgs := [][]byte{
		natToolAllocate(),
		stunMsg(0x0001, natToolTxID, attr(0x0006, []byte("user:frag"), true), attr(0x0024, []byte{1, 2, 3, 4}, true),
			attr(0x802A, make([]byte, 8), true), attr(0x8054, []byte("1"), true), attr(0x8070, []byte{0, 0, 0, 3}, true),
			attr(0x0008, make([]byte, 20), true), attr(0x8028, make([]byte, 4), true)),
	}
	for _, name := range []string{"ms-turn-allocate", "ice-binding"} {
		msg := msgs[0]
		if name == "ice-binding" {
			msg = msgs[1]
		}
		b.Run(name, func(b *testing.B) {
			var m STUNMessage
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if !ParseSTUN(msg, &m) {
					b.Fatal("not STUN")
				}
			}
		})
	}
}

func BenchmarkNextSTUNFrame(b *testing.B) {
	var stream []byte
	for range 4 {
		stream = append(stream, msFrame(2, natToolAllocate())...)
	}
	b.ReportAllocs()
	for b.Loop() {
		s := stream
		for {
			_, _, rest, ok := NextSTUNFrame(s)
			if !ok {
				break
			}
			s = rest
		}
	}
}

// BenchmarkClassify measures one Classify call on typical first bytes; the
// flow table calls it a few times per flow until Decided.
func BenchmarkClassify(b *testing.B) {
	tlsC, tlsS := mtlsFlight(b, "sip.contoso.com", false, false)
	mC, mS := mtlsFlight(b, "", true, true)
	cases := []struct {
		name string
		in   *Input
	}{
		{"udp-ms-turn", udpIn(3478, Datagram{true, natToolAllocate()})},
		{"udp-rtp", udpIn(50000, Datagram{true, rtpPacket(0, 1, 160, 9, 160)}, Datagram{true, rtpPacket(0, 2, 320, 9, 160)}, Datagram{true, rtpPacket(0, 3, 480, 9, 160)})},
		{"udp-sip", udpIn(5060, Datagram{true, []byte("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n")})},
		{"tcp-pseudo-tls", tcpIn(443, append(pseudoHello(), msFrame(2, natToolAllocate())...), pseudoReply(), false)},
		{"tcp-tls-clienthello-only", tcpIn(443, tlsC[:len(tlsRecord(22, 0, clientHello("sip.contoso.com", "h2", "http/1.1")))], nil, false)},
		{"tcp-tls-handshake-decided(x509)", tcpIn(443, tlsC, tlsS, false)},
		{"tcp-mtls-decided(x509)", tcpIn(50001, mC, mS, false)},
		{"tcp-http", tcpIn(80, []byte("GET /a.crl HTTP/1.1\r\nHost: crl.contoso.com\r\n\r\n"), nil, false)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var r Result
			b.ReportAllocs()
			for b.Loop() {
				Classify(c.in, &r)
			}
		})
	}
}
