package main

// Application sessions over a conv. Each function plays one complete,
// realistic exchange (connection set-up, payload, teardown) so scenarios
// only decide who talks to whom, where, and when.

import (
	"math/rand/v2"
	"net/netip"
	"time"
)

// sessTLS is TCP + a TLS 1.2 session + orderly close by the client.
func sessTLS(c *conv, o tlsOpts) {
	c.handshake()
	runTLS(c, o)
	if o.noServerHello {
		return
	}
	h := &tlsHandshake{rng: c.rng}
	c.send(0, h.closeNotify())
	c.close(0)
}

// sessDNSUDP is one query and its answer.
func sessDNSUDP(c *conv, name string, a [4]byte) {
	q := dnsQuery(uint16(c.rng.Uint32()), name, 1)
	c.udp(0, q)
	c.udp(1, dnsAnswer(q, a))
}

// sessDNSTCP is a query over TCP (as after a truncated UDP answer).
func sessDNSTCP(c *conv, name string, a [4]byte) {
	c.handshake()
	q := dnsQuery(uint16(c.rng.Uint32()), name, 33)
	c.xfer(0, dnsTCP(q))
	c.xfer(1, dnsTCP(dnsAnswer(q, a)))
	c.close(0)
}

// sessCRL is the Access Edge fetching a CRL over HTTP.
func sessCRL(c *conv) {
	c.handshake()
	c.xfer(0, httpCRLGet("crl.contoso-ca.example", "/pki/Contoso%20Issuing%20CA%2001.crl"))
	c.send(1, httpCRLResponse())
	c.ack(0)
	c.close(0)
}

// sessXMPP is an S2S stream: cleartext header, STARTTLS, then TLS.
func sessXMPP(c *conv, from, to string, server *certKey) {
	c.handshake()
	c.xfer(0, xmppStreamOpen(from, to))
	c.xfer(1, xmppStreamReply(to, from, hexString(randBytes(c.rng, 8))))
	c.xfer(0, xmppStartTLS)
	c.xfer(1, xmppProceed)
	runTLS(c, tlsOpts{sni: to, server: server, exchanges: 2, reqLen: 300, respLen: 200})
	c.close(0)
}

// sessHTTP is a plain HTTP GET and answer.
func sessHTTP(c *conv, host string) {
	c.handshake()
	c.xfer(0, httpGet(host, "/", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"))
	c.xfer(1, httpResponse("<html><body>It works</body></html>"))
	c.close(0)
}

// sessSSH is a server banner, client banner and some encrypted packets.
func sessSSH(c *conv) {
	c.handshake()
	c.xfer(1, sshServerBanner)
	c.xfer(0, sshClientBanner)
	for i := 0; i < 3; i++ {
		c.xfer(0, randBytes(c.rng, 64+c.rng.IntN(200)))
		c.xfer(1, randBytes(c.rng, 64+c.rng.IntN(400)))
	}
	c.reset(0)
}

// sessJunkUDP sends datagrams that are not STUN, RTP or DNS (a game or
// VPN keepalive): first byte 0x4x..0x7x, no valid length field.
func sessJunkUDP(c *conv, n int) {
	for i := 0; i < n; i++ {
		p := randBytes(c.rng, 40+c.rng.IntN(60))
		p[0] = 0x47
		c.udp(i%2, p)
		c.wait(20 * time.Millisecond)
	}
}

// turnAllocate plays the MS-TURN allocation: Allocate, 401, authenticated
// Allocate, success. Returns the two transaction ids.
func turnAllocate(c *conv, ts *turnSession) (txid, txid) {
	t1 := newTxid(c.rng)
	c.udp(0, ts.allocate1(t1))
	c.udp(1, ts.unauthorized(t1))
	t2 := newTxid(c.rng)
	c.udp(0, ts.allocate2(t2))
	c.udp(1, ts.allocateOK(t2))
	return t1, t2
}

// turnMedia runs media through an allocation: the client's Send requests
// carrying ICE checks and RTP to peer (never answered), the relay's own
// ICE checks and RTP with the peer from the relay port, Data Indications
// back to the client, Set Active Destination, then raw RTP both ways.
// cl is the client's conversation with the TURN server, rl the relay's
// conversation with the peer (relay port -> peer).
func turnMedia(cl, rl *conv, ts *turnSession, peer netip.AddrPort, n int) {
	sync := func() { rl.t = maxTime(rl.t, cl.t); cl.t = maxTime(cl.t, rl.t) }
	// ICE: a check sent through the relay, answered by the peer.
	chk := newTxid(cl.rng)
	cl.udp(0, ts.send(newTxid(cl.rng), peer, iceCheck(cl.rng, chk, true)))
	sync()
	rl.udp(0, iceCheck(rl.rng, chk, true))
	rl.udp(1, iceCheckOK(rl.rng, chk, ts.relay))
	sync()
	cl.udp(1, ts.dataInd(newTxid(cl.rng), peer, iceCheckOK(cl.rng, chk, ts.relay)))
	// The peer checks the relay candidate too.
	chk2 := newTxid(rl.rng)
	rl.udp(1, iceCheck(rl.rng, chk2, false))
	rl.udp(0, iceCheckOK(rl.rng, chk2, peer))
	sync()
	up, down := newRTP(cl.rng, 114), newRTP(cl.rng, 114)
	// Early media goes encapsulated.
	for i := 0; i < 3; i++ {
		p := up.next()
		cl.udp(0, ts.send(newTxid(cl.rng), peer, p))
		sync()
		rl.udp(0, p)
		q := down.next()
		rl.udp(1, q)
		sync()
		cl.udp(1, ts.dataInd(newTxid(cl.rng), peer, q))
		cl.wait(20 * time.Millisecond)
	}
	sa := newTxid(cl.rng)
	cl.udp(0, ts.setActive(sa, peer))
	cl.udp(1, ts.setActiveOK(sa))
	for i := 0; i < n; i++ {
		p := up.next()
		cl.udp(0, p)
		sync()
		rl.udp(0, p)
		q := down.next()
		rl.udp(1, q)
		sync()
		cl.udp(1, q)
		if i%25 == 12 {
			cl.udp(0, up.senderReport(uint32(cl.t.Unix())+2208988800))
			cl.udp(1, down.receiverReport(up))
		}
		cl.wait(20 * time.Millisecond)
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// turnTCP is MS-TURN over TCP 443: pseudo-TLS, framed allocation, then
// end-to-end data frames carrying RTP.
func turnTCP(c *conv, ts *turnSession, peer netip.AddrPort, n int) {
	c.handshake()
	c.xfer(0, pseudoTLSHello(c.rng))
	c.xfer(1, pseudoTLSReply(c.rng))
	t1 := newTxid(c.rng)
	c.xfer(0, msFrame(2, ts.allocate1(t1)))
	c.xfer(1, msFrame(2, ts.unauthorized(t1)))
	t2 := newTxid(c.rng)
	c.xfer(0, msFrame(2, ts.allocate2(t2)))
	c.xfer(1, msFrame(2, ts.allocateOK(t2)))
	sa := newTxid(c.rng)
	c.xfer(0, msFrame(2, ts.setActive(sa, peer)))
	c.xfer(1, msFrame(2, ts.setActiveOK(sa)))
	up, down := newRTP(c.rng, 121), newRTP(c.rng, 114)
	for i := 0; i < n; i++ {
		c.send(0, msFrame(3, up.next()))
		c.send(1, msFrame(3, down.next()))
		c.wait(33 * time.Millisecond)
	}
	c.ack(0)
	c.close(0)
}

// iceDirect is media between two hosts on a relay port: ICE checks with
// XOR-MAPPED 0x0020, then RTP and RTCP.
func iceDirect(c *conv, mappedC, mappedS netip.AddrPort, pt byte, n int) {
	t := newTxid(c.rng)
	c.udp(0, iceCheck(c.rng, t, true))
	c.udp(1, iceCheckOK(c.rng, t, mappedC))
	t2 := newTxid(c.rng)
	c.udp(1, iceCheck(c.rng, t2, false))
	c.udp(0, iceCheckOK(c.rng, t2, mappedS))
	a, b := newRTP(c.rng, pt), newRTP(c.rng, pt)
	for i := 0; i < n; i++ {
		c.udp(0, a.next())
		c.udp(1, b.next())
		c.wait(20 * time.Millisecond)
	}
	c.udp(0, a.senderReport(uint32(c.t.Unix())+2208988800))
	c.udp(1, b.receiverReport(a))
}

// rtpTCP is RFC 4571-framed RTP over an established TCP connection.
func rtpTCP(c *conv, n int) {
	c.handshake()
	a, b := newRTP(c.rng, 114), newRTP(c.rng, 114)
	for i := 0; i < n; i++ {
		c.send(0, rfc4571(a.next()))
		c.send(1, rfc4571(b.next()))
		c.wait(20 * time.Millisecond)
	}
	c.ack(0)
	c.close(0)
}

// rtpUDP is plain RTP both ways (no ICE), as OCS 2007 federation sends it.
func rtpUDP(c *conv, n int) {
	a, b := newRTP(c.rng, 114), newRTP(c.rng, 114)
	for i := 0; i < n; i++ {
		c.udp(0, a.next())
		c.udp(1, b.next())
		c.wait(20 * time.Millisecond)
	}
}

// ephemeral picks a dynamic source port. It stays above the A/V relay
// range (50000-59999) so that only relay flows ever use relay ports and a
// port-range rule never matches a client's source port by accident.
func ephemeral(rng *rand.Rand) uint16 { return uint16(60000 + rng.IntN(5500)) }

// relayPort picks an A/V relay port (50000-59999).
func relayPort(rng *rand.Rand) uint16 { return uint16(50000 + rng.IntN(10000)) }
