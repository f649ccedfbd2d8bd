package classify

import "crypto/x509"

// TLS versions as they appear on the wire.
const (
	VersionSSL30 uint16 = 0x0300
	VersionTLS10 uint16 = 0x0301
	VersionTLS11 uint16 = 0x0302
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// maxTLSRecord is the largest record body a peer may send (2^14 + 2048).
const maxTLSRecord = 16384 + 2048

// TLSInfo is what the clear-text part of a TLS handshake tells. The SNI and
// ALPN are kept in fixed buffers so that parsing does not allocate.
type TLSInfo struct {
	Seen          bool   // at least one TLS record header parsed
	RecordVersion uint16 // version of the first record

	ClientHello   bool
	ClientVersion uint16 // legacy_version of the ClientHello
	CipherSuites  int    // number of suites offered
	FirstSuite    uint16
	Extensions    int  // number of ClientHello extensions
	PseudoTLS     bool // the MS-TURN shape: one suite 0x0018, no extensions
	sniLen        uint8
	sni           [255]byte
	alpnLen       uint8
	alpn          [128]byte // raw ALPN protocol_name_list (length-prefixed names)

	ServerHello   bool
	Version       uint16 // negotiated: ServerHello version or supported_versions
	Cipher        uint16
	ServerDone    bool // ServerHelloDone seen (TLS ≤ 1.2)
	CertRequest   bool // server sent CertificateRequest
	ClientCert    bool // client sent a Certificate with a non-empty list
	Mutual        bool // CertRequest and a non-empty client Certificate
	ServerCCS     bool // server ChangeCipherSpec / encrypted records reached
	ClientCCS     bool
	ServerCertLen int // bytes of the server's first certificate (0 when none seen)

	// Filled once per flow by ParseTLS with withCert (allocates).
	CertCN   string
	CertSANs []string
}

// SNI returns the server_name bytes (aliasing the TLSInfo); empty when absent.
func (t *TLSInfo) SNI() []byte { return t.sni[:t.sniLen] }

// ALPN calls f for each offered ALPN protocol name (aliasing the TLSInfo).
func (t *TLSInfo) ALPN(f func(proto []byte)) {
	l := t.alpn[:t.alpnLen]
	for len(l) > 0 {
		n := int(l[0])
		if 1+n > len(l) {
			return
		}
		f(l[1 : 1+n])
		l = l[1+n:]
	}
}

// TLS13 reports whether TLS 1.3 (or one of its drafts, 0x7Fxx) was negotiated.
func (t *TLSInfo) TLS13() bool {
	return t.Version == VersionTLS13 || t.Version>>8 == 0x7F
}

// VersionName is the short name of the negotiated (or offered) version.
func (t *TLSInfo) VersionName() string {
	v := t.Version
	if v == 0 {
		v = t.ClientVersion
	}
	switch v {
	case VersionSSL30:
		return "ssl3"
	case VersionTLS10:
		return "tls1.0"
	case VersionTLS11:
		return "tls1.1"
	case VersionTLS12:
		return "tls1.2"
	case VersionTLS13:
		return "tls1.3"
	}
	if v>>8 == 0x7F {
		return "tls1.3" // draft versions seen in early TLS 1.3 captures
	}
	return "tls"
}

// tlsRecordHeader reports whether b starts with a plausible record header.
func tlsRecordHeader(b []byte) bool {
	return len(b) >= 5 && b[0] >= 20 && b[0] <= 23 && b[1] == 3 && b[2] <= 4 &&
		int(be16(b[3:5])) <= maxTLSRecord
}

// IsTLSClientHelloStart reports whether b starts with a handshake record whose
// first message is a ClientHello (needs 6 bytes).
func IsTLSClientHelloStart(b []byte) bool {
	return len(b) >= 6 && b[0] == 22 && tlsRecordHeader(b) && b[5] == 1 && be16(b[3:5]) >= 4
}

// TLSStart returns the offset where TLS begins in a stream that may start in
// clear text (XMPP STARTTLS): 0 for TLS at once, else the first handshake
// record header right after a '>' or white space; -1 if none in b.
func TLSStart(b []byte) int {
	for i := 0; i+6 <= len(b); i++ {
		if b[i] != 22 {
			continue
		}
		if i > 0 {
			p := b[i-1]
			if p != '>' && p != '\n' && p != '\r' && p != ' ' {
				continue
			}
		}
		if tlsRecordHeader(b[i:]) && (b[i+5] == 1 || b[i+5] == 2) {
			return i
		}
	}
	return -1
}

// ParseTLS parses the in-order starts of both directions of a TLS
// connection (either may be empty) into t, which it overwrites. Handshake
// messages may span records and segments; parsing stops at the first
// ChangeCipherSpec, application data, or truncation. Nothing is copied
// except a hello split across records (into a stack buffer). With withCert
// the server's first certificate is decoded with crypto/x509 (allocates: do
// it once per flow). It returns true when a TLS record was seen.
func ParseTLS(c2s, s2c []byte, t *TLSInfo, withCert bool) bool {
	*t = TLSInfo{}
	if tlsRecordHeader(c2s) {
		t.Seen, t.RecordVersion = true, be16(c2s[1:3])
	} else if tlsRecordHeader(s2c) {
		t.Seen, t.RecordVersion = true, be16(s2c[1:3])
	} else {
		return false
	}
	if len(c2s) > 0 {
		var hs hsStream
		t.ClientCCS = hs.collect(c2s)
		hs.walk(true, t, false)
	}
	if len(s2c) > 0 {
		var hs hsStream
		t.ServerCCS = hs.collect(s2c)
		hs.walk(false, t, withCert)
	}
	t.Mutual = t.CertRequest && t.ClientCert
	return true
}

// maxFrags bounds the handshake records looked at per direction.
const maxFrags = 32

// hsStream is the handshake byte stream of one direction as a list of
// record bodies aliasing the input.
type hsStream struct {
	frags [maxFrags][]byte
	n     int
	total int
}

// collect gathers handshake record bodies until a non-handshake record; it
// reports whether the direction switched to encryption (CCS or app data).
func (h *hsStream) collect(b []byte) (ccs bool) {
	for tlsRecordHeader(b) && h.n < maxFrags {
		n := int(be16(b[3:5]))
		body := b[5:]
		if len(body) > n {
			body = body[:n]
		}
		if b[0] != 22 {
			return b[0] == 20 || b[0] == 23
		}
		h.frags[h.n] = body
		h.n++
		h.total += len(body)
		if 5+n > len(b) {
			break
		}
		b = b[5+n:]
	}
	return false
}

// read copies the bytes at logical offset off into dst; false if short.
func (h *hsStream) read(off int, dst []byte) bool {
	if off+len(dst) > h.total {
		return false
	}
	w := 0
	for i := 0; i < h.n && w < len(dst); i++ {
		f := h.frags[i]
		if off >= len(f) {
			off -= len(f)
			continue
		}
		c := copy(dst[w:], f[off:])
		w += c
		off = 0
	}
	return w == len(dst)
}

// slice returns bytes [off, off+n) aliasing the input when they sit in one
// record, else nil.
func (h *hsStream) slice(off, n int) []byte {
	for i := 0; i < h.n; i++ {
		f := h.frags[i]
		if off >= len(f) {
			off -= len(f)
			continue
		}
		if off+n <= len(f) {
			return f[off : off+n]
		}
		return nil
	}
	return nil
}

// walk decodes the complete handshake messages of the stream.
func (h *hsStream) walk(client bool, t *TLSInfo, withCert bool) {
	var hdr [4]byte
	var tmp [4096]byte
	for off := 0; h.read(off, hdr[:]); {
		typ, n := hdr[0], be24(hdr[1:4])
		body := off + 4
		if body+n > h.total {
			return
		}
		off = body + n
		switch {
		case (typ == 1 && client) || (typ == 2 && !client):
			b := h.slice(body, n)
			if b == nil {
				if n > len(tmp) || !h.read(body, tmp[:n]) {
					return
				}
				b = tmp[:n]
			}
			if typ == 1 {
				parseClientHello(b, t)
			} else {
				parseServerHello(b, t)
				if t.TLS13() {
					return // the rest of the server flight is encrypted
				}
			}
		case typ == 11:
			var cl [6]byte
			if n < 3 || !h.read(body, cl[:min(n, 6)]) {
				continue
			}
			if client {
				t.ClientCert = be24(cl[0:3]) > 0
				continue
			}
			if n < 6 {
				continue
			}
			cn := be24(cl[3:6])
			if 6+cn > n {
				continue
			}
			t.ServerCertLen = cn
			if withCert {
				der := h.slice(body+6, cn)
				if der == nil {
					der = make([]byte, cn)
					h.read(body+6, der)
				}
				parseCert(der, t)
			}
		case typ == 13 && !client:
			t.CertRequest = true
		case typ == 14 && !client:
			t.ServerDone = true
		}
	}
}

func parseClientHello(b []byte, t *TLSInfo) {
	if len(b) < 35 {
		return
	}
	t.ClientHello = true
	t.ClientVersion = be16(b[0:2])
	p := 34
	p += 1 + int(b[p]) // session id
	if p+2 > len(b) {
		return
	}
	cs := int(be16(b[p : p+2]))
	p += 2
	if p+cs > len(b) || cs%2 != 0 {
		return
	}
	t.CipherSuites = cs / 2
	if cs >= 2 {
		t.FirstSuite = be16(b[p : p+2])
	}
	p += cs
	if p >= len(b) {
		return
	}
	p += 1 + int(b[p]) // compression methods
	if p == len(b) {
		t.PseudoTLS = t.CipherSuites == 1 && t.FirstSuite == 0x0018
		return
	}
	if p+2 > len(b) {
		return
	}
	ext := b[p+2:]
	if l := int(be16(b[p : p+2])); l <= len(ext) {
		ext = ext[:l]
	}
	for len(ext) >= 4 {
		et, el := be16(ext[0:2]), int(be16(ext[2:4]))
		if 4+el > len(ext) {
			return
		}
		v := ext[4 : 4+el]
		ext = ext[4+el:]
		t.Extensions++
		switch et {
		case 0: // server_name: list(2) type(1) len(2) name
			if len(v) >= 5 && v[2] == 0 {
				nl := int(be16(v[3:5]))
				if 5+nl <= len(v) && nl <= len(t.sni) {
					t.sniLen = uint8(copy(t.sni[:], v[5:5+nl]))
				}
			}
		case 16: // ALPN: list(2) then len-prefixed names
			if len(v) >= 2 {
				l := v[2:]
				if len(l) > len(t.alpn) {
					l = l[:len(t.alpn)]
				}
				t.alpnLen = uint8(copy(t.alpn[:], l))
			}
		}
	}
}

func parseServerHello(b []byte, t *TLSInfo) {
	if len(b) < 38 {
		return
	}
	t.ServerHello = true
	t.Version = be16(b[0:2])
	p := 34
	p += 1 + int(b[p])
	if p+3 > len(b) {
		return
	}
	t.Cipher = be16(b[p : p+2])
	p += 3
	if p+2 > len(b) {
		return
	}
	ext := b[p+2:]
	for len(ext) >= 4 {
		et, el := be16(ext[0:2]), int(be16(ext[2:4]))
		if 4+el > len(ext) {
			return
		}
		if et == 43 && el == 2 { // supported_versions: the real version in TLS 1.3
			t.Version = be16(ext[4:6])
		}
		ext = ext[4+el:]
	}
}

// parseCert decodes the server's first certificate for its CN and DNS SANs.
func parseCert(der []byte, t *TLSInfo) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return
	}
	t.CertCN = c.Subject.CommonName
	t.CertSANs = c.DNSNames
}
