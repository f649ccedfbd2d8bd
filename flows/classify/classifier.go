package classify

// verdict is a matcher's answer on a partial stream.
type verdict int8

const (
	vNo   verdict = 0
	vYes  verdict = 1
	vMore verdict = -1
)

// Classify decides the application protocol of a flow from its payload.
// Ports only refine a payload match (TLS on 5061 is SIP); without payload
// evidence the answer is Unknown. It overwrites r, does not allocate except
// to decode the server certificate once when a TLS flow is decided.
func Classify(in *Input, r *Result) {
	*r = Result{}
	switch in.Transport {
	case 6:
		classifyTCP(in, r)
	case 17:
		classifyUDP(in, r)
	default:
		decide(r, Unknown, "", "not TCP or UDP")
	}
}

func decide(r *Result, a App, detail, why string) {
	r.App, r.Detail, r.Why, r.Decided = a, detail, why, true
}

func classifyTCP(in *Input, r *Result) {
	c, s := in.C2S, in.S2C
	final := (in.C2SClosed && in.S2CClosed) || len(c) >= MaxStreamBytes || len(s) >= MaxStreamBytes
	if len(c) == 0 && len(s) == 0 {
		if in.C2SClosed && in.S2CClosed {
			decide(r, Unknown, "no-payload", "no payload in either direction")
		}
		return
	}
	first, other, reversed, firstClosed := c, s, false, in.C2SClosed
	if len(c) == 0 {
		// The server spoke first, or the capture started mid-flow.
		first, other, reversed, firstClosed = s, c, true, in.S2CClosed
	}
	more := false
	try := func(v verdict) bool {
		if v == vMore {
			more = true
		}
		return v == vYes
	}
	pv := matchPseudoTLS(first)
	if pv == vMore && !final && !firstClosed {
		return // the 11-byte prefix matches: a 50-byte pseudo-TLS hello is arriving
	}
	switch {
	case pv == vYes:
		tcpPseudoTLS(first, other, r)
	case try(matchTCPSTUN(first)):
		tcpSTUN(first, r)
	case try(matchTLS(first)):
		tcpTLS(in, r, final || firstClosed)
	case try(matchSIP(first)):
		ParseSIP(first, &r.SIP)
		decide(r, SIP, "sip/tcp", "SIP start line in clear text over TCP")
	case try(matchHTTP(first)):
		tcpHTTP(first, r, final)
	case try(matchXMPP(first)):
		tcpXMPP(in, c, s, r, final)
	case try(matchTLSRecords(first, firstClosed || final)):
		tlsMidstream(in.ServerPort, r)
	case try(xmppStanza(first)):
		decide(r, XMPP, "midstream", "XMPP stanza with a jabber namespace or </stream:stream>: connection picked up mid-stream")
	case try(matchTCPRTP(first, firstClosed || final)):
		tcpRTP(first, r)
	case try(matchDNSTCP(first)):
		ParseDNSTCP(first, &r.DNS, r.qname[:])
		r.qnameLen = min(r.DNS.NameLen, len(r.qname))
		decide(r, DNS, "dns/tcp", "length-prefixed DNS message with a valid header and question")
	default:
		switch {
		case more && !final && !firstClosed:
			return
		case len(c) == 0 && !in.C2SClosed && !final:
			return // only the server has spoken; wait for the client
		}
		decide(r, Unknown, "", "payload matches no known protocol signature")
		return
	}
	if reversed && r.App != Unknown {
		r.Reversed = true
	}
}

// matchPseudoTLS recognises the 50-byte MS-TURN hello at the stream start.
func matchPseudoTLS(b []byte) verdict {
	if len(b) >= 50 && IsPseudoTLSClientHello(b[:50]) {
		return vYes
	}
	if len(b) < 50 {
		n := min(len(b), len(pseudoTLSClientPrefix))
		if string(b[:n]) == string(pseudoTLSClientPrefix[:n]) {
			return vMore
		}
	}
	return vNo
}

func tcpPseudoTLS(c, s []byte, r *Result) {
	r.STUN.PseudoTLS = true
	r.STUN.Variant = VariantMSTURN
	r.STUN.PseudoReply = len(s) >= 83 && IsPseudoTLSServerHello(s[:83])
	decodeFrames(c[50:], r)
	if r.STUN.PseudoReply {
		decodeFrames(s[83:], r)
	}
	why := "50-byte pseudo-TLS ClientHello (one suite 0x0018, no extensions): MS-TURN over TCP, [MS-TURN] 2.1.1"
	if r.STUN.PseudoReply {
		why = "50-byte pseudo-TLS ClientHello and 83-byte ServerHello+ServerHelloDone reply: MS-TURN over TCP, [MS-TURN] 2.1.1"
	}
	decide(r, STUN, "ms-turn/pseudo-tls", why)
}

// decodeFrames parses the framed STUN messages of one direction into r.STUN.
func decodeFrames(b []byte, r *Result) {
	var m STUNMessage
	for i := 0; i < 64; i++ {
		msg, f, rest, ok := NextSTUNFrame(b)
		if !ok {
			return
		}
		b = rest
		switch f {
		case FramingChannel:
			r.STUN.ChannelData = true
			continue
		case FramingMSMux:
			r.STUN.MSMux = true
			continue
		}
		if !ParseSTUN(msg, &m) {
			continue
		}
		if r.STUN.Messages == 0 {
			r.STUN.First = m
			r.STUN.Framing = f
			if r.STUN.Variant == VariantNone {
				r.STUN.Variant = m.Variant
			}
		}
		r.STUN.ICE = r.STUN.ICE || m.ICE
		r.STUN.Messages++
	}
}

// matchTCPSTUN recognises a framed or bare STUN message at the stream start.
func matchTCPSTUN(b []byte) verdict {
	msg, f, _, ok := NextSTUNFrame(b)
	if ok {
		var m STUNMessage
		if (f == FramingBare || f == FramingRFC4571 || f == FramingMSControl) && ParseSTUN(msg, &m) {
			return vYes
		}
		return vNo
	}
	// Could a STUN header still complete? Look for the cookie or MS framing.
	switch {
	case len(b) < 8:
		if len(b) > 0 && b[0] <= 3 {
			return vMore
		}
	case (b[0] == 2 || b[0] == 3) && b[1] == 0 && b[4]&0xC0 == 0 && len(b) < 4+int(be16(b[2:4])):
		return vMore
	case b[0]&0xC0 == 0 && be32(b[4:8]) == stunCookie && len(b) < 20+int(be16(b[2:4])):
		return vMore
	case len(b) >= 10 && b[2]&0xC0 == 0 && be32(b[6:10]) == stunCookie && len(b) < 2+int(be16(b[0:2])):
		return vMore
	}
	return vNo
}

func tcpSTUN(c []byte, r *Result) {
	decodeFrames(c, r)
	m := &r.STUN.First
	switch r.STUN.Framing {
	case FramingMSControl:
		decide(r, STUN, "ms-turn/tcp-framed", "MS-TURN 4-byte \"02 00 len\" frame holding a STUN message ([MS-TURN] 2.1.4)")
		return
	case FramingRFC4571:
		switch {
		case m.Variant == VariantMSTURN:
			decide(r, STUN, "ms-turn/rfc4571", "RFC 4571 length-prefixed STUN whose first attribute is 0x000F = 72C64BC6 (MS-TURN magic cookie)")
		case m.ICE:
			decide(r, STUN, "rfc5389/ice/rfc4571", "RFC 4571 length-prefixed STUN with MS-ICE2 attributes")
		case m.Variant == VariantRFC5389:
			decide(r, STUN, "rfc5389/rfc4571", "RFC 4571 length-prefixed STUN with magic cookie 2112A442")
		default:
			decide(r, STUN, "classic/rfc4571", "RFC 4571 length-prefixed classic STUN")
		}
		return
	}
	stunDecide(r, m)
}

// stunDecide labels a flow by its first STUN message.
func stunDecide(r *Result, m *STUNMessage) {
	switch {
	case m.Variant == VariantMSTURN:
		decide(r, STUN, "ms-turn", "first attribute 0x000F = 72C64BC6 (MS-TURN magic cookie)")
	case m.ICE:
		decide(r, STUN, "rfc5389/ice", "STUN with magic cookie 2112A442 and MS-ICE2 attributes (0x8054/0x8070)")
	case m.Variant == VariantRFC5389:
		decide(r, STUN, "rfc5389", "STUN header with magic cookie 2112A442 and a length that fits the payload")
	default:
		decide(r, STUN, "classic", "classic RFC 3489 STUN type with an exact attribute walk")
	}
}

// matchTLS recognises a TLS handshake record carrying a ClientHello (or, for
// a reversed stream, a ServerHello).
func matchTLS(b []byte) verdict {
	if len(b) >= 6 {
		if b[0] == 22 && tlsRecordHeader(b) && (b[5] == 1 || b[5] == 2) && be16(b[3:5]) >= 4 {
			return vYes
		}
		return vNo
	}
	if b[0] == 22 && (len(b) < 2 || b[1] == 3) && (len(b) < 3 || b[2] <= 4) {
		return vMore
	}
	return vNo
}

func tcpTLS(in *Input, r *Result, final bool) {
	t := &r.TLS
	ParseTLS(in.C2S, in.S2C, t, false)
	done := final || (t.ServerHello && t.TLS13()) ||
		(t.ServerDone && (!t.CertRequest || t.ClientCert || t.ClientCCS || in.C2SClosed)) ||
		t.ServerCCS || in.S2CClosed
	if done && t.ServerCertLen > 0 {
		ParseTLS(in.C2S, in.S2C, t, true)
	}
	tlsLabel(in.ServerPort, t, r)
	r.Decided = done
}

// tlsLabel refines TLS by SNI, mutual authentication and the server port.
func tlsLabel(port uint16, t *TLSInfo, r *Result) {
	sni := t.SNI()
	switch {
	case t.PseudoTLS:
		// The hello has the pseudo-TLS shape but not the exact 50 bytes.
		r.App, r.Detail, r.Why = STUN, "ms-turn/pseudo-tls", "ClientHello with the pseudo-TLS shape (one suite 0x0018, no extensions)"
	case hasPrefixFold(sni, "sip."):
		r.App, r.Detail, r.Why = SIP, "sip/tls", "TLS ClientHello with SNI sip.*"
	case hasPrefixFold(sni, "webcon."):
		r.App, r.Detail, r.Why = PSOM, "psom/tls", "TLS ClientHello with SNI webcon.*"
	case port == 5061 || port == 5062:
		if t.Mutual {
			r.App, r.Detail, r.Why = SIP, "sip/mtls", "mutual TLS (CertificateRequest and client Certificate) on SIP port 5061/5062"
		} else {
			r.App, r.Detail, r.Why = SIP, "sip/tls", "TLS handshake on SIP port 5061/5062"
		}
	case port == 8057 && t.Mutual:
		r.App, r.Detail, r.Why = PSOM, "psom/mtls", "mutual TLS on 8057 (Web Conferencing Edge internal PSOM)"
	case port >= 50001 && port <= 50003 && t.Mutual:
		r.App, r.Detail, r.Why = CLS, "cls/mtls", "mutual TLS on 50001-50003 (Centralized Logging Service)"
	case port == 23456 && t.Mutual:
		r.App, r.Detail, r.Why = XMPP, "xmpp/mtls", "mutual TLS on 23456 (XMPP gateway to Edge proxy)"
	case t.Mutual:
		r.App, r.Detail, r.Why = TLS, "mtls", "TLS with CertificateRequest and a non-empty client Certificate"
	default:
		r.App, r.Detail, r.Why = TLS, t.VersionName(), "TLS handshake record with a ClientHello"
	}
}

func matchSIP(b []byte) verdict {
	var s SIPInfo
	return verdict(sipStartLine(b, &s))
}

func matchHTTP(b []byte) verdict {
	var h HTTPInfo
	return verdict(httpStart(b, &h))
}

func tcpHTTP(b []byte, r *Result, final bool) {
	ParseHTTP(b, &r.HTTP)
	h := &r.HTTP
	switch {
	case h.CRL:
		r.App, r.Detail, r.Why = HTTP, "http/crl", "HTTP request for a .crl file (certificate revocation list fetch)"
	case h.OCSP:
		r.App, r.Detail, r.Why = HTTP, "http/ocsp", "HTTP OCSP request (/ocsp path or application/ocsp-request)"
	case h.Request:
		r.App, r.Detail, r.Why = HTTP, "http", "HTTP/1.x request line"
	default:
		r.App, r.Detail, r.Why = HTTP, "http", "HTTP/1.x status line"
	}
	// Wait for the header block so Host and the content type are known.
	r.Decided = final || index(b, "\r\n\r\n") >= 0 || index(b, "\n\n") >= 0 || len(b) >= 4096
}

func matchXMPP(b []byte) verdict { return verdict(xmppStart(b)) }

func tcpXMPP(in *Input, c, s []byte, r *Result, final bool) {
	x := &r.XMPP
	ParseXMPP(c, &x.C2S)
	ParseXMPP(s, &x.S2C)
	server := x.C2S.Server || x.S2C.Server
	tlsC, tlsS := x.C2S.TLSAt, x.S2C.TLSAt
	if tlsC >= 0 {
		var sb []byte
		if tlsS >= 0 {
			sb = s[tlsS:]
		}
		ParseTLS(c[tlsC:], sb, &r.TLS, false)
	}
	starttls := x.C2S.StartTLS || x.S2C.Proceed
	switch {
	case server && starttls:
		r.App, r.Detail = XMPP, "s2s/starttls"
	case server:
		r.App, r.Detail = XMPP, "s2s"
	case starttls:
		r.App, r.Detail = XMPP, "c2s/starttls"
	default:
		r.App, r.Detail = XMPP, "c2s"
	}
	r.Why = "XMPP stream header <stream:stream> with the etherx streams namespace"
	r.Decided = final || in.C2SClosed || in.S2CClosed || len(c) >= 4096 || len(s) >= 4096 ||
		xmppSettled(x, c, s, &r.TLS)
}

// xmppSettled reports whether the clear-text part has said what the
// detectors need: the server's features, and the STARTTLS outcome.
func xmppSettled(x *XMPPInfo, c, s []byte, t *TLSInfo) bool {
	if !x.S2C.Header || index(s[:min(len(s), xmppScan)], "</stream:features>") < 0 && !x.S2C.TLSOffer {
		return false
	}
	if !x.S2C.TLSOffer {
		return true
	}
	if x.C2S.StartTLS {
		return x.C2S.TLSAt >= 0 && t.ServerHello
	}
	// Offered but not (yet) taken: settled once the client sends another element.
	after := c[min(x.C2S.HeaderEnd, len(c)):]
	return index(after, "<") >= 0 && index(after, "<starttls") < 0
}

// xmppStanza recognises a connection picked up mid-stream: a stanza or the
// stream close tag, with a jabber/XMPP namespace in view.
func xmppStanza(b []byte) verdict {
	if hasPrefixFold(b, "</stream:stream>") {
		return vYes
	}
	if !(hasPrefixFold(b, "<iq ") || hasPrefixFold(b, "<presence") || hasPrefixFold(b, "<message ")) {
		return vNo
	}
	if index(b, "jabber") >= 0 || index(b, "urn:xmpp") >= 0 || index(b, "urn:ietf:params:xml:ns:xmpp") >= 0 {
		return vYes
	}
	if len(b) < 1024 {
		return vMore
	}
	return vNo
}

func matchDNSTCP(b []byte) verdict {
	var d DNSInfo
	var name [0]byte
	if ParseDNSTCP(b, &d, name[:]) {
		return vYes
	}
	if len(b) < 19 && (len(b) < 2 || (be16(b) >= 17 && be16(b) <= 4096)) {
		return vMore
	}
	return vNo
}

// matchTLSRecords recognises a TLS connection picked up mid-stream: records
// of type 20-23 that tile the bytes seen (two headers in a row, or one record
// that exactly fills what arrived).
func matchTLSRecords(b []byte, closed bool) verdict {
	if len(b) < 5 {
		if len(b) > 0 && b[0] >= 20 && b[0] <= 23 && (len(b) < 2 || b[1] == 3) {
			return vMore
		}
		return vNo
	}
	if !tlsRecordHeader(b) || b[2] == 0 || be16(b[3:5]) == 0 {
		return vNo
	}
	n := 5 + int(be16(b[3:5]))
	switch {
	case len(b) == n:
		if closed {
			return vYes
		}
		return vMore // one more record header would confirm
	case len(b) < n:
		if closed {
			return vNo
		}
		return vMore
	case len(b) < n+5:
		if b[n] >= 20 && b[n] <= 23 && (len(b) < n+2 || b[n+1] == 3) {
			return vMore
		}
		return vNo
	case tlsRecordHeader(b[n:]) && b[n+1 : n+3][0] == b[1] && b[n+2] == b[2]:
		return vYes
	}
	return vNo
}

// tlsMidstream labels a TLS connection whose handshake was not captured.
func tlsMidstream(port uint16, r *Result) {
	const why = "TLS records (type 20-23, same version) tile the stream: connection picked up after the handshake"
	switch {
	case port == 5061 || port == 5062:
		decide(r, SIP, "sip/tls", why+", on SIP port 5061/5062")
	default:
		decide(r, TLS, "tls/midstream", why)
	}
}

// matchTCPRTP recognises RTP/RTCP over TCP with the RFC 4571 2-byte length
// framing (federation media on TCP 50000-59999, RFC 4571/6544): two whole
// frames in a row that each hold an RTP packet of one SSRC or an RTCP
// packet, or a single one that exactly fills a closed stream.
func matchTCPRTP(b []byte, closed bool) verdict {
	var h RTPHeader
	frames, ssrc := 0, uint32(0)
	for off := 0; off < len(b) && frames < 2; {
		if len(b)-off < 2 {
			return vMore
		}
		n := int(be16(b[off:]))
		if n < 8 {
			return vNo
		}
		if len(b)-off-2 < n {
			if frames == 0 && len(b)-off-2 >= 12 && !ParseRTP(b[off+2:], &h) && !IsRTCP(b[off+2:min(len(b), off+2+n)]) {
				return vNo
			}
			return vMore
		}
		pkt := b[off+2 : off+2+n]
		switch {
		case ParseRTP(pkt, &h):
			if frames > 0 && ssrc != 0 && h.SSRC != ssrc {
				return vNo
			}
			ssrc = h.SSRC
		case IsRTCP(pkt):
		default:
			return vNo
		}
		frames++
		off += 2 + n
	}
	if frames >= 2 || (frames == 1 && closed) {
		return vYes
	}
	return vMore
}

func tcpRTP(b []byte, r *Result) {
	var h RTPHeader
	if len(b) > 2 && ParseRTP(b[2:], &h) {
		r.RTP.RTP, r.RTP.PT, r.RTP.SSRC = true, h.PayloadType, h.SSRC
	} else {
		r.RTP.RTCP = true
	}
	decide(r, RTP, "rtp/tcp", "RTP over TCP with RFC 4571 length framing, two frames of one stream")
}
