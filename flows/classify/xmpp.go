package classify

// XMPPStream is what one direction of an XMPP connection says in clear text.
type XMPPStream struct {
	Header    bool // <stream:stream ...> with the streams namespace
	Server    bool // default namespace jabber:server (S2S, 5269)
	Client    bool // default namespace jabber:client
	Dialback  bool // jabber:server:dialback namespace, <db:result> or <db:verify>
	TLSOffer  bool // <starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'> in features
	StartTLS  bool // <starttls/> request
	Proceed   bool // <proceed/> answer
	TLSAt     int  // offset where TLS records begin (after STARTTLS), -1 if none
	HeaderEnd int  // offset just past the stream header's '>'
	toLen     uint8
	to        [96]byte
	fromLen   uint8
	from      [96]byte
}

// To returns the stream header's to= domain (aliasing x).
func (x *XMPPStream) To() []byte { return x.to[:x.toLen] }

// From returns the stream header's from= domain (aliasing x).
func (x *XMPPStream) From() []byte { return x.from[:x.fromLen] }

// xmppScan bounds how far past the stream header ParseXMPP looks.
const xmppScan = 4096

// XMPPInfo holds both directions of an XMPP connection.
type XMPPInfo struct {
	C2S, S2C XMPPStream
}

// skipXMLDecl skips white space and an optional <?xml ...?> declaration.
// It returns -1 when b ends inside the declaration.
func skipXMLDecl(b []byte) int {
	p := 0
	for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\r' || b[p] == '\n') {
		p++
	}
	if hasPrefixFold(b[p:], "<?xml") {
		e := index(b[p:], "?>")
		if e < 0 {
			return -1
		}
		p += e + 2
		for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\r' || b[p] == '\n') {
			p++
		}
	}
	return p
}

// xmppStart returns 1 when b starts with an XMPP stream header, 0 when it
// cannot, -1 when more bytes are needed.
func xmppStart(b []byte) int {
	p := skipXMLDecl(b)
	if p < 0 {
		if len(b) > 512 {
			return 0
		}
		return -1
	}
	const tag = "<stream:stream"
	r := b[p:]
	if len(r) < len(tag)+1 {
		if n := len(r); string(r) == tag[:n] || (p > 0 && n == 0) {
			return -1
		}
		return 0
	}
	if string(r[:len(tag)]) != tag || (r[len(tag)] != ' ' && r[len(tag)] != '\n' && r[len(tag)] != '\t' && r[len(tag)] != '\r') {
		return 0
	}
	e := index(r, ">")
	if e < 0 {
		if len(r) > 2048 {
			return 0
		}
		return -1
	}
	h := r[:e]
	if index(h, "http://etherx.jabber.org/streams") < 0 {
		return 0
	}
	return 1
}

// ParseXMPP decodes one direction's stream start into x, which it
// overwrites; false when b does not start with a stream header.
func ParseXMPP(b []byte, x *XMPPStream) bool {
	*x = XMPPStream{TLSAt: -1}
	if xmppStart(b) != 1 {
		return false
	}
	p := skipXMLDecl(b)
	e := p + index(b[p:], ">")
	h := b[p:e]
	x.Header, x.HeaderEnd = true, e+1
	x.Server = hasNS(h, "jabber:server")
	x.Client = hasNS(h, "jabber:client")
	x.Dialback = hasNS(h, "jabber:server:dialback")
	x.toLen = uint8(copy(x.to[:], attrValue(h, " to=")))
	x.fromLen = uint8(copy(x.from[:], attrValue(h, " from=")))
	rest := b[e+1:]
	// STARTTLS, proceed and dialback come right after the header; past a few
	// KiB the stream is TLS or stanzas, so do not scan it.
	if len(rest) > xmppScan {
		rest = rest[:xmppScan]
	}
	if index(rest, "<db:result") >= 0 || index(rest, "<db:verify") >= 0 {
		x.Dialback = true
	}
	if i := index(rest, "<starttls"); i >= 0 {
		t := rest[i:]
		if j := index(t, ">"); j >= 0 && index(t[:j], "urn:ietf:params:xml:ns:xmpp-tls") >= 0 &&
			index(rest[:i], "<stream:features") >= 0 {
			x.TLSOffer = true
		} else {
			x.StartTLS = true
			if j >= 0 {
				x.TLSAt = tlsAfter(rest, i+j+1, e+1)
			}
		}
	}
	if i := index(rest, "<proceed"); i >= 0 {
		x.Proceed = true
		if j := index(rest[i:], ">"); j >= 0 {
			x.TLSAt = tlsAfter(rest, i+j+1, e+1)
		}
	}
	return true
}

// tlsAfter finds the TLS start at or after off in rest; base converts it to
// an offset in the whole buffer.
func tlsAfter(rest []byte, off, base int) int {
	if t := TLSStart(rest[off:]); t >= 0 {
		return base + off + t
	}
	return -1
}

// hasNS reports whether the tag declares the namespace ns in either quote style.
func hasNS(h []byte, ns string) bool {
	i := 0
	for {
		j := index(h[i:], ns)
		if j < 0 {
			return false
		}
		k := i + j
		end := k + len(ns)
		if k > 0 && (h[k-1] == '\'' || h[k-1] == '"') && end < len(h) && h[end] == h[k-1] {
			return true
		}
		i = k + 1
	}
}

// attrValue returns the quoted value after key (e.g. " to=").
func attrValue(h []byte, key string) []byte {
	i := index(h, key)
	if i < 0 || i+len(key) >= len(h) {
		return nil
	}
	v := h[i+len(key):]
	q := v[0]
	if q != '\'' && q != '"' {
		return nil
	}
	v = v[1:]
	for j, c := range v {
		if c == q {
			return v[:j]
		}
	}
	return nil
}
