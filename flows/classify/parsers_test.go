package classify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

// testCert makes a self-signed certificate like the Edge's external one.
func testCert(t testing.TB, cn string, sans ...string) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: sans,
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// mtlsFlight returns the two directions of a TLS 1.2 handshake with a
// CertificateRequest and a client Certificate (empty when clientCert is false).
func mtlsFlight(t testing.TB, sni string, certReq, clientCert bool) (c2s, s2c []byte) {
	der := testCert(t, "sip.contoso.com", "sip.contoso.com", "webcon.contoso.com")
	var sf []byte
	sf = append(sf, serverHello(0xC02F, false)...)
	sf = append(sf, certificateMsg(der)...)
	if certReq {
		sf = append(sf, hsMsg(13, []byte{1, 1, 0, 2, 4, 1, 0, 0})...)
	}
	sf = append(sf, hsMsg(14, nil)...)
	// Split the server flight across two records to exercise reassembly.
	s2c = append(tlsRecord(22, VersionTLS12, sf[:100]), tlsRecord(22, VersionTLS12, sf[100:])...)
	c2s = tlsRecord(22, VersionTLS10, clientHello(sni, "h2", "http/1.1"))
	var cf []byte
	if certReq {
		if clientCert {
			cf = append(cf, certificateMsg(testCert(t, "fe01.contoso.local"))...)
		} else {
			cf = append(cf, certificateMsg()...)
		}
	}
	cf = append(cf, hsMsg(16, []byte{0, 1, 2})...)
	c2s = append(c2s, tlsRecord(22, VersionTLS12, cf)...)
	c2s = append(c2s, tlsRecord(20, VersionTLS12, []byte{1})...)
	return c2s, s2c
}

func TestParseTLS(t *testing.T) {
	c2s, s2c := mtlsFlight(t, "sip.contoso.com", true, true)
	var ti TLSInfo
	if !ParseTLS(c2s, s2c, &ti, true) {
		t.Fatal("not TLS")
	}
	if !ti.ClientHello || ti.ClientVersion != VersionTLS12 || string(ti.SNI()) != "sip.contoso.com" || ti.CipherSuites != 3 || ti.Extensions != 3 {
		t.Errorf("client hello: %+v", ti)
	}
	var alpn []string
	ti.ALPN(func(p []byte) { alpn = append(alpn, string(p)) })
	if len(alpn) != 2 || alpn[0] != "h2" {
		t.Errorf("alpn %v", alpn)
	}
	if !ti.ServerHello || ti.Version != VersionTLS12 || ti.Cipher != 0xC02F || !ti.CertRequest || !ti.ServerDone || !ti.ClientCert || !ti.Mutual || !ti.ClientCCS {
		t.Errorf("server side: %+v", ti)
	}
	if ti.CertCN != "sip.contoso.com" || len(ti.CertSANs) != 2 || ti.CertSANs[1] != "webcon.contoso.com" {
		t.Errorf("cert %q %v", ti.CertCN, ti.CertSANs)
	}
	// Empty client Certificate: not mutual.
	c2s, s2c = mtlsFlight(t, "", true, false)
	ParseTLS(c2s, s2c, &ti, false)
	if ti.Mutual || ti.ClientCert || !ti.CertRequest {
		t.Errorf("empty client cert: %+v", ti)
	}
	// TLS 1.3 via supported_versions.
	ParseTLS(tlsRecord(22, VersionTLS10, clientHello("x.example")), tlsRecord(22, VersionTLS12, serverHello(0x1301, true)), &ti, false)
	if ti.Version != VersionTLS13 || ti.VersionName() != "tls1.3" {
		t.Errorf("tls1.3: %#x", ti.Version)
	}
	if ParseTLS([]byte("GET /"), nil, &ti, false) {
		t.Error("HTTP accepted as TLS")
	}
}

func TestTLSStart(t *testing.T) {
	tlsb := tlsRecord(22, VersionTLS10, clientHello("xmpp.example"))
	b := append([]byte("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"), tlsb...)
	if got := TLSStart(b); got != len(b)-len(tlsb) {
		t.Errorf("TLSStart %d", got)
	}
	if TLSStart(tlsb) != 0 || TLSStart([]byte("<a>b</a>")) != -1 {
		t.Error("TLSStart edge cases")
	}
}

func TestParseSIP(t *testing.T) {
	msg := "SERVICE sip:contoso.com;transport=tls SIP/2.0\r\n" +
		"From: <sip:alice@contoso.com>;tag=1\r\n" +
		"To: \"Bob\" <sip:bob@fabrikam.com>\r\n" +
		"Call-ID: abc123@host\r\n" +
		"CSeq: 42 SERVICE\r\n" +
		"Content-Length: 4\r\n\r\nbody"
	var s SIPInfo
	if !ParseSIP([]byte(msg), &s) {
		t.Fatal("not SIP")
	}
	if !s.Request || s.Method != SIPService || s.CSeq != 42 || s.CSeqMethod != SIPService || !s.HasCallID ||
		string(s.FromDomain()) != "contoso.com" || string(s.ToDomain()) != "fabrikam.com" || s.Len != len(msg) {
		t.Errorf("%+v from=%s to=%s", s, s.FromDomain(), s.ToDomain())
	}
	stream := []byte(msg + "\r\n" + "SIP/2.0 200 OK\r\ni: abc123@host\r\nCSeq: 42 SERVICE\r\nl: 0\r\n\r\n" + "BENOTIFY sip:a@b SIP/2.0\r\n\r\n")
	var kinds []SIPMethod
	var codes []int
	for {
		m, rest, ok := NextSIPMessage(stream, &s)
		if !ok {
			break
		}
		_ = m
		kinds = append(kinds, s.Method)
		codes = append(codes, s.Status)
		stream = rest
	}
	if len(kinds) != 3 || kinds[0] != SIPService || codes[1] != 200 || kinds[2] != SIPBenotify || SIPBenotify.ExpectsAnswer() {
		t.Errorf("stream walk: %v %v", kinds, codes)
	}
	for _, m := range []string{"NEGOTIATE", "BENOTIFY", "SUBSCRIBE", "PUBLISH", "INFO", "PRACK", "UPDATE", "REFER", "MESSAGE", "OPTIONS", "CANCEL", "BYE", "ACK", "INVITE", "NOTIFY", "REGISTER"} {
		if !ParseSIPDatagram([]byte(m+" sip:x@y SIP/2.0\r\nCSeq: 1 "+m+"\r\n\r\n"), &s) || s.Method.String() != m {
			t.Errorf("method %s", m)
		}
	}
	for _, bad := range []string{"GET / HTTP/1.1\r\n", "FOO sip:x SIP/2.0\r\n", "SIP/2.0 2x0 OK\r\n", "INVITE sip:x HTTP/1.1\r\n"} {
		if ParseSIP([]byte(bad), &s) {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseXMPP(t *testing.T) {
	c := []byte(`<?xml version="1.0"?><stream:stream xmlns="jabber:server" xmlns:stream="http://etherx.jabber.org/streams" xmlns:db="jabber:server:dialback" to="fabrikam.com" from="contoso.com" version="1.0">`)
	var x XMPPStream
	if !ParseXMPP(c, &x) || !x.Server || x.Client || !x.Dialback || string(x.To()) != "fabrikam.com" || string(x.From()) != "contoso.com" {
		t.Errorf("s2s header: %+v", x)
	}
	s := []byte("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='1'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
	tlsb := tlsRecord(22, VersionTLS12, serverHello(0xC02F, false))
	s = append(s, tlsb...)
	if !ParseXMPP(s, &x) || !x.Client || !x.TLSOffer || !x.Proceed || x.TLSAt != len(s)-len(tlsb) {
		t.Errorf("features/proceed: %+v", x)
	}
	if ParseXMPP([]byte("<stream:stream xmlns='jabber:client'>"), &x) || ParseXMPP([]byte("<html>"), &x) {
		t.Error("accepted a header without the streams namespace")
	}
	if xmppStart([]byte("<?xml version='1.0'?><stream:str")) != -1 {
		t.Error("partial header should ask for more")
	}
}

func TestRTPAndRTCP(t *testing.T) {
	var h RTPHeader
	if !ParseRTP(rtpPacket(111, 7, 160, 0xCAFE, 20), &h) || h.PayloadType != 111 || h.Seq != 7 || h.SSRC != 0xCAFE || h.HeaderLen != 12 {
		t.Errorf("rtp %+v", h)
	}
	ext := rtpPacket(122, 1, 2, 3, 20)
	ext[0] |= 0x10 | 0x01 // extension + one CSRC
	copy(ext[16:], []byte{0xBE, 0xDE, 0x00, 0x01})
	if !ParseRTP(ext, &h) || h.HeaderLen != 12+4+4+4 {
		t.Errorf("ext header len %d", h.HeaderLen)
	}
	if ParseRTP([]byte{0x80, 200, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1}, &h) {
		t.Error("RTCP accepted as RTP")
	}
	var tr RTPTracker
	for i, seq := range []uint16{100, 101, 103} {
		tr.Add(&RTPHeader{SSRC: 5, PayloadType: 0, Seq: seq})
		if tr.Confirmed() != (i == 2) {
			t.Errorf("step %d confirmed=%v", i, tr.Confirmed())
		}
	}
	tr = RTPTracker{}
	for _, ssrc := range []uint32{1, 2, 3} {
		tr.Add(&RTPHeader{SSRC: ssrc, Seq: 1})
	}
	if tr.Confirmed() {
		t.Error("changing SSRC confirmed")
	}
	var r RTCPInfo
	if !ParseRTCP(rtcpPSFBThenRR(), &r) || r.FirstType != 206 || r.Packets != 2 {
		t.Errorf("PSFB-first compound: %+v", r)
	}
	bad := rtcpPSFBThenRR()
	bad[3] = 5
	if IsRTCP(bad) || IsRTCP([]byte{0x80, 192, 0, 0}) {
		t.Error("bad RTCP accepted")
	}
	for b, want := range map[byte]int{0: DemuxSTUN, 3: DemuxSTUN, 17: DemuxZRTP, 22: DemuxDTLS, 0x40: DemuxChannel, 0x80: DemuxRTP, 0xBF: DemuxRTP, 0xC0: DemuxUnknown} {
		if Demux([]byte{b, 0}) != want {
			t.Errorf("demux %#x", b)
		}
	}
	if Demux([]byte{0xFF, 0x10}) != DemuxMSMux {
		t.Error("demux FF10")
	}
}

func TestParseDNS(t *testing.T) {
	var d DNSInfo
	name := make([]byte, 255)
	q := dnsQuery("sip.contoso.com")
	if !ParseDNS(q, &d, name) || string(name[:d.NameLen]) != "sip.contoso.com" || d.QType != 1 || d.Response {
		t.Errorf("%+v %q", d, name[:d.NameLen])
	}
	if !ParseDNSTCP(append([]byte{0, byte(len(q))}, q...), &d, name) {
		t.Error("dns over tcp")
	}
	small := make([]byte, 4)
	if !ParseDNS(q, &d, small) || string(small) != "sip." {
		t.Errorf("truncated name %q", small)
	}
	bad := append([]byte{}, q...)
	bad[12] = 70 // label too long
	if ParseDNS(bad, &d, name) || ParseDNS(q[:15], &d, name) {
		t.Error("bad DNS accepted")
	}
}

func TestParseHTTP(t *testing.T) {
	var h HTTPInfo
	if !ParseHTTP([]byte("GET /pki/contoso.crl HTTP/1.1\r\nHost: crl.contoso.com\r\n\r\n"), &h) || !h.CRL || string(h.Host()) != "crl.contoso.com" || h.MethodName() != "GET" {
		t.Errorf("crl %+v", h)
	}
	if !ParseHTTP([]byte("POST / HTTP/1.1\r\nContent-Type: application/ocsp-request\r\n\r\n"), &h) || !h.OCSP {
		t.Error("ocsp content type")
	}
	if !ParseHTTP([]byte("GET /ocsp/MFEw HTTP/1.1\r\n\r\n"), &h) || !h.OCSP {
		t.Error("ocsp path")
	}
	if !ParseHTTP([]byte("HTTP/1.1 404 Not Found\r\n\r\n"), &h) || h.Status != 404 || h.Request {
		t.Error("status line")
	}
	if ParseHTTP([]byte("OPTIONS sip:a@b SIP/2.0\r\n"), &h) {
		t.Error("SIP accepted as HTTP")
	}
}

func TestAppNames(t *testing.T) {
	for a := Unknown; a <= TLS; a++ {
		if b, ok := ParseApp(a.String()); !ok || b != a {
			t.Errorf("%d", a)
		}
	}
	if _, ok := ParseApp("ftp"); ok || App(200).String() != "unknown" {
		t.Error("unknown names")
	}
}
