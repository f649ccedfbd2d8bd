package classify

import (
	"encoding/binary"
	"net/netip"
)

// Spec-built byte vectors for what no public capture has (protocols.md §1-§4).

// natToolTxID is a transaction id whose first word is the RFC 5389 cookie, as
// the SfB Network Assessment Tool sends it.
var natToolTxID = [16]byte{0x21, 0x12, 0xA4, 0x42, 0xd2, 0x79, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xef, 0x58}

// stunMsg assembles a STUN message: type, 16-byte header tail, raw attribute bytes.
func stunMsg(typ uint16, tx [16]byte, attrs ...[]byte) []byte {
	var body []byte
	for _, a := range attrs {
		body = append(body, a...)
	}
	b := make([]byte, 4, 20+len(body))
	binary.BigEndian.PutUint16(b[0:], typ)
	binary.BigEndian.PutUint16(b[2:], uint16(len(body)))
	b = append(b, tx[:]...)
	return append(b, body...)
}

// attr encodes one attribute; pad adds RFC 5389 padding.
func attr(t uint16, v []byte, pad bool) []byte {
	b := make([]byte, 4, 4+len(v)+3)
	binary.BigEndian.PutUint16(b[0:], t)
	binary.BigEndian.PutUint16(b[2:], uint16(len(v)))
	b = append(b, v...)
	for pad && len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

var msCookieAttr = []byte{0x00, 0x0F, 0x00, 0x04, 0x72, 0xC6, 0x4B, 0xC6}

// natToolAllocate is the 104-byte MS-TURN Allocate of protocols.md §1.2.
func natToolAllocate() []byte {
	token := make([]byte, 48)
	for i := range token {
		token[i] = byte(0xA0 + i)
	}
	return stunMsg(0x0003, natToolTxID,
		msCookieAttr,
		[]byte{0x80, 0x08, 0x00, 0x04, 0, 0, 0, 4},
		attr(0x0006, token, false),
		[]byte{0x00, 0x10, 0x00, 0x04, 0, 0, 0x01, 0x5E},
		[]byte{0x80, 0x06, 0x00, 0x04, 0, 0, 0, 1})
}

// addrAttr encodes a plain or XORed address attribute value.
func addrAttr(ap netip.AddrPort, key []byte, pkey []byte) []byte {
	a := ap.Addr()
	v := []byte{0, 1, 0, 0}
	if a.Is6() && !a.Is4In6() {
		v[1] = 2
	}
	port := ap.Port()
	if pkey != nil {
		port ^= binary.BigEndian.Uint16(pkey)
	}
	binary.BigEndian.PutUint16(v[2:], port)
	raw := a.AsSlice()
	for i := range raw {
		if key != nil {
			raw[i] ^= key[i]
		}
	}
	return append(v, raw...)
}

// pseudoHello is the 50-byte MS-TURN pseudo-TLS ClientHello ([MS-TURN] 2.1.1).
func pseudoHello() []byte {
	b := []byte{0x16, 0x03, 0x01, 0x00, 0x2D, 0x01, 0x00, 0x00, 0x29, 0x03, 0x01}
	for i := 0; i < 32; i++ {
		b = append(b, byte(i*7))
	}
	return append(b, 0x00, 0x00, 0x02, 0x00, 0x18, 0x01, 0x00)
}

// pseudoReply is the 83-byte pseudo-TLS ServerHello + ServerHelloDone.
func pseudoReply() []byte {
	b := []byte{0x16, 0x03, 0x01, 0x00, 0x4E, 0x02, 0x00, 0x00, 0x46, 0x03, 0x01}
	for i := 0; i < 32; i++ {
		b = append(b, byte(i*3))
	}
	b = append(b, 0x20)
	for i := 0; i < 32; i++ {
		b = append(b, byte(i*5))
	}
	return append(b, 0x00, 0x18, 0x00, 0x0E, 0x00, 0x00, 0x00)
}

// msFrame wraps a message in the MS-TURN 4-byte TCP framing.
func msFrame(kind byte, msg []byte) []byte {
	return append([]byte{kind, 0, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// rfc4571 wraps a message in a 2-byte length.
func rfc4571(msg []byte) []byte {
	return append([]byte{byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// tlsRecord wraps handshake messages in one record.
func tlsRecord(typ byte, ver uint16, body []byte) []byte {
	return append([]byte{typ, byte(ver >> 8), byte(ver), byte(len(body) >> 8), byte(len(body))}, body...)
}

func hsMsg(typ byte, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// clientHello builds a TLS 1.2-style ClientHello with the given SNI and ALPN.
func clientHello(sni string, alpn ...string) []byte {
	b := []byte{0x03, 0x03}
	b = append(b, make([]byte, 32)...)
	b = append(b, 0)                                              // session id
	b = append(b, 0x00, 0x06, 0xC0, 0x2F, 0xC0, 0x30, 0x00, 0x9C) // 3 suites
	b = append(b, 0x01, 0x00)
	var ext []byte
	if sni != "" {
		n := len(sni)
		v := []byte{byte((n + 3) >> 8), byte(n + 3), 0, byte(n >> 8), byte(n)}
		ext = append(ext, attr(0, append(v, sni...), false)...)
	}
	if len(alpn) > 0 {
		var l []byte
		for _, a := range alpn {
			l = append(l, byte(len(a)))
			l = append(l, a...)
		}
		ext = append(ext, attr(16, append([]byte{byte(len(l) >> 8), byte(len(l))}, l...), false)...)
	}
	ext = append(ext, attr(23, nil, false)...) // extended master secret
	b = append(b, byte(len(ext)>>8), byte(len(ext)))
	return hsMsg(1, append(b, ext...))
}

// serverHello builds a ServerHello; ver13 adds supported_versions = TLS 1.3.
func serverHello(cipher uint16, ver13 bool) []byte {
	b := []byte{0x03, 0x03}
	b = append(b, make([]byte, 32)...)
	b = append(b, 0, byte(cipher>>8), byte(cipher), 0)
	var ext []byte
	if ver13 {
		ext = attr(43, []byte{0x03, 0x04}, false)
	}
	b = append(b, byte(len(ext)>>8), byte(len(ext)))
	return hsMsg(2, append(b, ext...))
}

// certificateMsg builds a TLS ≤1.2 Certificate message with the given DERs.
func certificateMsg(ders ...[]byte) []byte {
	var list []byte
	for _, d := range ders {
		n := len(d)
		list = append(list, byte(n>>16), byte(n>>8), byte(n))
		list = append(list, d...)
	}
	n := len(list)
	return hsMsg(11, append([]byte{byte(n >> 16), byte(n >> 8), byte(n)}, list...))
}

// rtpPacket builds an RTP v2 packet.
func rtpPacket(pt uint8, seq uint16, ts, ssrc uint32, payload int) []byte {
	b := make([]byte, 12+payload)
	b[0], b[1] = 0x80, pt
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return b
}

// rtcpPSFBThenRR is a Lync-style compound packet starting with PSFB (206).
func rtcpPSFBThenRR() []byte {
	psfb := []byte{0x81, 206, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2}
	rr := []byte{0x80, 201, 0x00, 0x01, 0, 0, 0, 1}
	return append(psfb, rr...)
}

// dnsQuery builds a DNS query for name with type A.
func dnsQuery(name string) []byte {
	b := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range splitDots(name) {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0, 0, 1, 0, 1)
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
