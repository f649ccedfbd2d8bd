package classify

import (
	"path/filepath"
	"testing"
)

// flowByServerPort returns the first flow of a capture whose server port is p.
func flowByServerPort(t *testing.T, name string, p uint16) *testFlow {
	t.Helper()
	dir := capturesDir(t)
	for _, f := range buildFlows(readCapture(t, filepath.Join(dir, name))) {
		if f.server.Port() == p {
			return f
		}
	}
	t.Fatalf("%s: no flow to port %d", name, p)
	return nil
}

// TestCaptureFacts checks the typed facts (not only the label) on real bytes.
func TestCaptureFacts(t *testing.T) {
	t.Run("arkime MS-TURN Allocate", func(t *testing.T) {
		dir := capturesDir(t)
		var m STUNMessage
		found := false
		for _, p := range readCapture(t, filepath.Join(dir, "arkime__stun.pcap")) {
			if p.frame == 2 {
				found = ParseSTUN(p.payload, &m)
			}
		}
		if !found || m.Variant != VariantMSTURN || !m.HasMSVersion || !m.HasUsername || m.Method != MethodAllocate || m.Class != ClassRequest {
			t.Errorf("frame 2: %+v", m)
		}
	})
	t.Run("zeek XMPP STARTTLS then TLS", func(t *testing.T) {
		f := flowByServerPort(t, "zeek__xmpp-starttls.pcap", 5222)
		r := &f.res
		if r.App != XMPP || r.Detail != "c2s/starttls" || !r.XMPP.S2C.TLSOffer || !r.XMPP.C2S.StartTLS || !r.XMPP.S2C.Proceed {
			t.Errorf("%s %s %+v", r.App, r.Detail, r.XMPP)
		}
		if r.XMPP.C2S.TLSAt < 0 || !r.TLS.ClientHello || !r.TLS.ServerHello {
			t.Errorf("TLS after STARTTLS not parsed: at %d, %+v", r.XMPP.C2S.TLSAt, r.TLS)
		}
	})
	t.Run("zeek mutual TLS", func(t *testing.T) {
		f := flowByServerPort(t, "zeek__client-certificate.pcap", 443)
		r := &f.res
		if r.App != TLS || r.Detail != "mtls" || !r.TLS.Mutual || !r.TLS.CertRequest || r.TLS.CertCN == "" {
			t.Errorf("%s %s cn=%q %+v", r.App, r.Detail, r.TLS.CertCN, r.TLS)
		}
		// The same bytes on 50001 would be CLS, on 8057 PSOM.
		for port, want := range map[uint16]App{50001: CLS, 8057: PSOM, 23456: XMPP, 5061: SIP} {
			in := f.in
			in.ServerPort = port
			var r2 Result
			Classify(&in, &r2)
			if r2.App != want {
				t.Errorf("port %d: %s", port, r2.App)
			}
		}
	})
	t.Run("curl TLS 1.2 with SNI and certificate", func(t *testing.T) {
		f := flowByServerPort(t, "ndpi__443-curl.pcap", 443)
		r := &f.res
		if r.TLS.Version != VersionTLS12 || len(r.TLS.SNI()) == 0 || r.TLS.CertCN == "" && len(r.TLS.CertSANs) == 0 || r.TLS.Mutual {
			t.Errorf("sni=%q cn=%q %+v", r.TLS.SNI(), r.TLS.CertCN, r.TLS)
		}
	})
	t.Run("arkime TLS 1.3", func(t *testing.T) {
		f := flowByServerPort(t, "arkime__tls13.pcap", 443)
		if !f.res.TLS.TLS13() || f.res.Detail != "tls1.3" {
			t.Errorf("version %#x detail %s", f.res.TLS.Version, f.res.Detail)
		}
	})
	t.Run("SIP over TCP with large bodies: Call-ID and CSeq", func(t *testing.T) {
		f := flowByServerPort(t, "sv__sip-body-large.pcap", 5060)
		if !f.res.SIP.Request || !f.res.SIP.HasCallID || f.res.SIP.CSeq == 0 {
			t.Errorf("%+v", f.res.SIP)
		}
		n := 0
		b := f.in.C2S
		var s SIPInfo
		for {
			_, rest, ok := NextSIPMessage(b, &s)
			if !ok {
				break
			}
			n++
			b = rest
		}
		if f.res.SIP.HeaderLen+f.res.SIP.ContentLength <= len(f.in.C2S) && n == 0 {
			t.Error("no complete SIP message walked")
		}
		t.Logf("%d complete SIP messages in the first %d client bytes (first Content-Length %d)", n, len(f.in.C2S), f.res.SIP.ContentLength)
	})
	t.Run("DNS over TCP qname", func(t *testing.T) {
		f := flowByServerPort(t, "tcpdump__dns_tcp.pcap", 53)
		if f.res.App != DNS || len(f.res.QName()) == 0 {
			t.Errorf("%s %q", f.res.App, f.res.QName())
		}
	})
	t.Run("RTCP compound in one datagram", func(t *testing.T) {
		f := flowByServerPort(t, "ndpi__rtcp_multiple_pkts_in_the_same_datagram.pcap", 31601)
		if f.res.App != RTP || !f.res.RTP.RTCP {
			t.Errorf("%s %+v", f.res.App, f.res.RTP)
		}
	})
}
