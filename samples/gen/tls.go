package main

// TLS 1.2 handshakes built message by message, as Windows SChannel sends
// them: the ClientHello, ServerHello, Certificate, ServerKeyExchange,
// CertificateRequest (mutual-TLS ports), ServerHelloDone, client
// Certificate, ClientKeyExchange and CertificateVerify are real, parseable
// structures (the key exchange uses X25519 keys and Ed25519 signatures that
// verify); Finished and application data are encrypted records, so their
// bodies are keyed pseudo-random bytes of the right length.

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/binary"
	"math/rand/v2"
	"time"
)

const (
	recHandshake = 22
	recCCS       = 20
	recAppData   = 23
	recAlert     = 21
)

func u16(v int) []byte { return []byte{byte(v >> 8), byte(v)} }
func u24(v int) []byte { return []byte{byte(v >> 16), byte(v >> 8), byte(v)} }

func vec8(b []byte) []byte  { return append([]byte{byte(len(b))}, b...) }
func vec16(b []byte) []byte { return append(u16(len(b)), b...) }
func vec24(b []byte) []byte { return append(u24(len(b)), b...) }

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// tlsRecord wraps body in one record of type typ.
func tlsRecord(typ byte, version uint16, body []byte) []byte {
	r := []byte{typ, byte(version >> 8), byte(version)}
	r = append(r, u16(len(body))...)
	return append(r, body...)
}

func hsMsg(typ byte, body []byte) []byte {
	return append(append([]byte{typ}, u24(len(body))...), body...)
}

func ext(typ int, body []byte) []byte { return append(append(u16(typ), u16(len(body))...), body...) }

// schannelSuites is the cipher suite order of a Windows Server 2012 R2 /
// Windows 10 client, the platform Lync 2013 and SfB 2015 run on.
var schannelSuites = []uint16{
	0xc02c, 0xc02b, 0xc030, 0xc02f, 0x009f, 0x009e, 0xc024, 0xc023, 0xc028, 0xc027,
	0xc00a, 0xc009, 0xc014, 0xc013, 0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f, 0x000a,
}

// clientHello is a TLS 1.2 ClientHello; sni and alpn are omitted when empty.
func clientHello(rng *rand.Rand, sni string, alpn []string) (msg, random []byte) {
	random = randBytes(rng, 32)
	b := []byte{0x03, 0x03}
	b = append(b, random...)
	b = append(b, vec8(nil)...) // no session to resume
	var cs []byte
	for _, s := range schannelSuites {
		cs = binary.BigEndian.AppendUint16(cs, s)
	}
	b = append(b, vec16(cs)...)
	b = append(b, 1, 0) // null compression
	var exts []byte
	if sni != "" {
		name := append([]byte{0}, vec16([]byte(sni))...)
		exts = append(exts, ext(0x0000, vec16(name))...)
	}
	exts = append(exts, ext(0x0005, []byte{1, 0, 0, 0, 0})...)                    // status_request (OCSP)
	exts = append(exts, ext(0x000a, vec16([]byte{0, 0x1d, 0, 0x17, 0, 0x18}))...) // x25519, secp256r1, secp384r1
	exts = append(exts, ext(0x000b, vec8([]byte{0}))...)                          // uncompressed points
	exts = append(exts, ext(0x000d, vec16([]byte{
		0x08, 0x07, 0x08, 0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x02, 0x01,
		0x04, 0x03, 0x05, 0x03, 0x02, 0x03, 0x02, 0x02, 0x06, 0x01, 0x06, 0x03}))...)
	exts = append(exts, ext(0x0023, nil)...) // session_ticket
	if len(alpn) > 0 {
		var l []byte
		for _, p := range alpn {
			l = append(l, vec8([]byte(p))...)
		}
		exts = append(exts, ext(0x0010, vec16(l))...)
	}
	exts = append(exts, ext(0x0017, nil)...)       // extended_master_secret
	exts = append(exts, ext(0xff01, []byte{0})...) // renegotiation_info
	b = append(b, vec16(exts)...)
	return hsMsg(1, b), random
}

// tlsHandshake holds what one side needs to continue a handshake.
type tlsHandshake struct {
	rng                    *rand.Rand
	cRandom, sRandom       []byte
	transcript             []byte
	serverCert, clientCert *certKey
	mtls                   bool
}

// serverFlight is ServerHello .. ServerHelloDone, in one record as
// SChannel sends it. With mtls a CertificateRequest naming the issuing CA
// precedes ServerHelloDone.
func (h *tlsHandshake) serverFlight() []byte {
	h.sRandom = randBytes(h.rng, 32)
	sh := []byte{0x03, 0x03}
	sh = append(sh, h.sRandom...)
	sh = append(sh, vec8(randBytes(h.rng, 32))...) // session id
	sh = append(sh, 0xc0, 0x2c, 0)                 // ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, null compression
	sh = append(sh, vec16(append(ext(0xff01, []byte{0}), ext(0x0017, nil)...))...)
	msgs := hsMsg(2, sh)

	// Leaf only: the issuing CA is in every client's store, and leaving it
	// out keeps the committed samples small.
	chain := vec24(h.serverCert.der)
	msgs = append(msgs, hsMsg(11, vec24(chain))...)

	// ServerKeyExchange: X25519 share signed with the certificate's key
	// over client_random + server_random + params (RFC 8422).
	priv, _ := ecdh.X25519().NewPrivateKey(randBytes(h.rng, 32))
	params := append([]byte{3, 0x00, 0x1d}, vec8(priv.PublicKey().Bytes())...)
	signed := append(append(append([]byte{}, h.cRandom...), h.sRandom...), params...)
	sig := ed25519.Sign(h.serverCert.key, signed)
	ske := append(params, 0x08, 0x07)
	ske = append(ske, vec16(sig)...)
	msgs = append(msgs, hsMsg(12, ske)...)

	if h.mtls {
		cr := vec8([]byte{0x01, 0x40}) // rsa_sign, ecdsa_sign
		cr = append(cr, vec16([]byte{0x08, 0x07, 0x04, 0x01, 0x05, 0x01, 0x04, 0x03, 0x02, 0x01})...)
		cr = append(cr, vec16(vec16(certCA.cert.RawSubject))...)
		msgs = append(msgs, hsMsg(13, cr)...)
	}
	msgs = append(msgs, hsMsg(14, nil)...)
	h.transcript = append(h.transcript, msgs...)
	return tlsRecord(recHandshake, 0x0303, msgs)
}

// clientFinish is the client's second flight: [Certificate],
// ClientKeyExchange, [CertificateVerify], ChangeCipherSpec, Finished.
func (h *tlsHandshake) clientFinish() []byte {
	var msgs []byte
	if h.mtls {
		list := []byte{}
		if h.clientCert != nil {
			list = vec24(h.clientCert.der)
		}
		msgs = append(msgs, hsMsg(11, vec24(list))...)
	}
	priv, _ := ecdh.X25519().NewPrivateKey(randBytes(h.rng, 32))
	msgs = append(msgs, hsMsg(16, vec8(priv.PublicKey().Bytes()))...)
	if h.mtls && h.clientCert != nil {
		h.transcript = append(h.transcript, msgs...)
		sig := ed25519.Sign(h.clientCert.key, h.transcript)
		msgs = append(msgs, hsMsg(15, append([]byte{0x08, 0x07}, vec16(sig)...))...)
	}
	out := tlsRecord(recHandshake, 0x0303, msgs)
	out = append(out, tlsRecord(recCCS, 0x0303, []byte{1})...)
	return append(out, h.encrypted(recHandshake, 16)...)
}

// serverFinish is ChangeCipherSpec + Finished.
func (h *tlsHandshake) serverFinish() []byte {
	out := tlsRecord(recCCS, 0x0303, []byte{1})
	return append(out, h.encrypted(recHandshake, 16)...)
}

// encrypted is an AES-GCM record: 8-byte explicit nonce, ciphertext of n
// plaintext bytes, 16-byte tag.
func (h *tlsHandshake) encrypted(typ byte, n int) []byte {
	return tlsRecord(typ, 0x0303, randBytes(h.rng, 8+n+16))
}

// appData is one application-data record carrying n plaintext bytes.
func (h *tlsHandshake) appData(n int) []byte { return h.encrypted(recAppData, n) }

// closeNotify is the encrypted close_notify alert.
func (h *tlsHandshake) closeNotify() []byte { return h.encrypted(recAlert, 2) }

// tlsOpts describes one TLS session.
type tlsOpts struct {
	sni           string
	alpn          []string
	server        *certKey
	client        *certKey // client certificate on MTLS ports; nil sends an empty list if mtls
	mtls          bool     // server sends CertificateRequest
	exchanges     int      // request/response pairs of application data
	reqLen        int
	respLen       int
	noServerHello bool
}

// runTLS drives a full TLS 1.2 session over an established TCP conv.
func runTLS(c *conv, o tlsOpts) {
	ch, cr := clientHello(c.rng, o.sni, o.alpn)
	h := &tlsHandshake{rng: c.rng, cRandom: cr, serverCert: o.server, clientCert: o.client, mtls: o.mtls, transcript: ch}
	c.send(0, tlsRecord(recHandshake, 0x0301, ch)) // record version 1.0 on the first hello, as SChannel does
	if o.noServerHello {
		c.ack(1)
		return
	}
	c.send(1, h.serverFlight())
	c.send(0, h.clientFinish())
	c.send(1, h.serverFinish())
	for i := 0; i < o.exchanges; i++ {
		rq := o.reqLen
		if rq == 0 {
			rq = 90 + c.rng.IntN(400)
		}
		c.send(0, h.appData(rq))
		if o.respLen >= 0 {
			rs := o.respLen
			if rs == 0 {
				rs = 60 + c.rng.IntN(500)
			}
			c.send(1, h.appData(rs))
		}
		c.ack(0)
		c.wait(time.Duration(50+c.rng.IntN(400)) * time.Millisecond)
	}
}
