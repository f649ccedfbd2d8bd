package main

// flowBook plays single-point flows one after another and records a
// manifest line for each. Used by rules/ and unexpected-ports.

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"
)

type flowBook struct {
	rng   *rand.Rand
	t     time.Time
	caps  map[string]*Capture
	order []*Capture
	lines []mfLine
}

func newFlowBook(name string) *flowBook {
	return &flowBook{rng: rngFor(name), t: epoch, caps: map[string]*Capture{}}
}

func (b *flowBook) capture(file, point string) *Capture {
	if c, ok := b.caps[file]; ok {
		return c
	}
	c := newCapture(strings.TrimSuffix(file, ".pcap"), point)
	b.caps[file] = c
	b.order = append(b.order, c)
	return c
}

// poolSide reports whether a sits on the Edge side of the segment (an
// Edge, a VIP or the HLB) rather than the router side.
func poolSide(a netip.Addr) bool {
	for _, n := range nodes {
		if a == n.access || a == n.webconf || a == n.av || a == n.intern {
			return true
		}
	}
	return a == vipAccess || a == vipWebconf || a == vipAV || a == vipInternal || a == hlbExt || a == hlbInt
}

// macOf gives the MAC a frame from or to a carries on the segment where
// the capture sits: an Edge's own NIC, the HLB for VIPs (and for Edge
// traffic to the Internet, since the HLB is the gateway on the external
// side), the router for everything else.
func macOf(a netip.Addr, internal bool) mac {
	for _, n := range nodes {
		if a == n.intern {
			return n.intMAC
		}
	}
	if internal {
		if a == vipInternal || a == hlbInt {
			return macHLBInt
		}
		return macRouterInt
	}
	if poolSide(a) {
		return macHLBExt
	}
	return macRouterExt
}

// flow plays one flow on the capture file and records its line.
func (b *flowBook) flow(l mfLine, point string, play func(c *conv)) {
	c := b.capture(l.file, point)
	internal := isInternal(l.client.Addr()) || isInternal(l.server.Addr())
	lg := mkLeg(c, l.client, l.server, macOf(l.client.Addr(), internal), macOf(l.server.Addr(), internal))
	rtt := 24 * time.Millisecond
	if internal {
		rtt = 700 * time.Microsecond
	}
	cv := newConv(b.rng, b.t, rtt, lg)
	play(cv)
	b.t = b.t.Add(120 * time.Millisecond)
	b.lines = append(b.lines, l)
}

// players maps an app name in the manifest to the exchange it plays.
func (b *flowBook) player(app string, l mfLine) func(c *conv) {
	peer := ap(client2, 50040)
	switch app {
	case "http-crl":
		return sessCRL
	case "http":
		return func(c *conv) { sessHTTP(c, l.server.Addr().String()) }
	case "dns-tcp":
		return func(c *conv) { sessDNSTCP(c, "sip.partner.example", partner.As4()) }
	case "dns-udp":
		return func(c *conv) { sessDNSUDP(c, "sip.partner.example", partner.As4()) }
	case "rtp-tcp":
		return func(c *conv) { rtpTCP(c, 5) }
	case "rtp-udp":
		return func(c *conv) { rtpUDP(c, 5) }
	case "stun-udp":
		return func(c *conv) { iceDirect(c, l.client, l.server, 114, 3) }
	case "msturn-udp":
		return func(c *conv) {
			turnAllocate(c, newTurnSession(c.rng, ap(nodes[0].av, relayPort(c.rng)), l.client))
		}
	case "msturn-tcp":
		return func(c *conv) {
			turnTCP(c, newTurnSession(c.rng, ap(nodes[0].av, relayPort(c.rng)), l.client), peer, 3)
		}
	case "junk-udp":
		return func(c *conv) { sessJunkUDP(c, 4) }
	case "xmpp":
		if poolSide(l.client.Addr()) {
			return func(c *conv) { sessXMPP(c, "contoso.com", "partner.example", certXMPPPeer) }
		}
		return func(c *conv) { sessXMPP(c, "partner.example", "contoso.com", certExternal) }
	case "ssh":
		return sessSSH
	case "tls", "tls-sip", "tls-psom", "tls-https", "tls-web":
		sni := map[string]string{"tls": "", "tls-sip": "sip.contoso.com", "tls-psom": "webcon.contoso.com",
			"tls-https": "edgepool.contoso.local", "tls-web": "www.example.org"}[app]
		var alpn []string
		if app == "tls-https" || app == "tls-web" {
			alpn = []string{"h2", "http/1.1"}
		}
		srv := serverCertFor(l.server.Addr())
		if app == "tls-web" {
			srv = certWeb
		}
		return func(c *conv) { sessTLS(c, tlsOpts{sni: sni, alpn: alpn, server: srv, exchanges: 1}) }
	case "mtls", "mtls-nocert":
		return func(c *conv) {
			o := tlsOpts{server: serverCertFor(l.server.Addr()), client: serverCertFor(l.client.Addr()), mtls: true, exchanges: 1}
			if app == "mtls-nocert" {
				o.client = nil
			}
			sessTLS(c, o)
		}
	}
	panic("unknown app " + app)
}

// serverCertFor picks the certificate a host presents.
func serverCertFor(a netip.Addr) *certKey {
	switch {
	case a == partner:
		return certPartner
	case a == xmppPeer:
		return certXMPPPeer
	case a.As4()[0] == 172 && a.As4()[2] == 1:
		return certFE
	case a.As4()[0] == 172 && poolSide(a):
		return certInternal
	case poolSide(a):
		return certExternal
	}
	return certWeb
}

// isInternal reports an address of the internal networks (172.16.0.0/16).
func isInternal(a netip.Addr) bool { return a.Is4() && a.As4()[0] == 172 && a.As4()[1] == 16 }

// parseAP parses "ip:port"; port "*" picks an ephemeral port.
func parseAP(s string, rng *rand.Rand) netip.AddrPort {
	i := strings.LastIndexByte(s, ':')
	a := netip.MustParseAddr(s[:i])
	if s[i+1:] == "*" {
		return ap(a, ephemeral(rng))
	}
	return netip.MustParseAddrPort(s)
}
