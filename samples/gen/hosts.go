package main

// The hosts of the sample world. Every address here appears in
// samples/topology.yaml (or is deliberately absent from it, like the
// Internet clients), and every host has one fixed MAC per segment so a
// reader can tell from layer 2 alone whether a frame came from the HLB, an
// Edge node or a router — that is what the HLB-10 and DSR checks look at.

import "net/netip"

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

// Pool addresses (the CONTRACT topology of samples/topology.yaml).
var (
	vipAccess   = ip("198.51.100.100")
	vipWebconf  = ip("198.51.100.101")
	vipAV       = ip("198.51.100.102")
	vipInternal = ip("172.16.0.100")

	hlbExt = ip("198.51.100.250") // HLB self / SNAT address, external side
	hlbInt = ip("172.16.0.250")   // HLB self / SNAT address, internal side
)

// node is one Edge server: its three public real addresses and its
// internal interface.
type node struct {
	name                        string
	access, webconf, av, intern netip.Addr
	extMAC, intMAC              mac
}

var nodes = [2]node{
	{"edge1", ip("198.51.100.11"), ip("198.51.100.12"), ip("198.51.100.13"), ip("172.16.0.11"),
		mac{0x00, 0x15, 0x5d, 0x01, 0x0b, 0x01}, mac{0x00, 0x15, 0x5d, 0x01, 0x0b, 0x02}},
	{"edge2", ip("198.51.100.21"), ip("198.51.100.22"), ip("198.51.100.23"), ip("172.16.0.21"),
		mac{0x00, 0x15, 0x5d, 0x01, 0x15, 0x01}, mac{0x00, 0x15, 0x5d, 0x01, 0x15, 0x02}},
}

// Internal servers and clients.
var (
	fe1       = ip("172.16.1.10") // Front End (XMPP gateway, CMS holder)
	fe2       = ip("172.16.1.11")
	intClient = ip("172.16.2.50") // internal user PC: not in the topology, role "any"
)

// Internet hosts.
var (
	client1   = ip("203.0.113.10") // remote Lync users
	client2   = ip("203.0.113.25")
	client3   = ip("192.0.2.77")
	client4   = ip("203.0.113.140")
	partner   = ip("192.0.2.50")    // federation partner Access Edge (topology federation.partners)
	partnerAV = ip("192.0.2.60")    // the partner's A/V Edge: role "any"
	xmppPeer  = ip("203.0.113.200") // XMPP federation partner server: role "any"
	dnsServer = ip("203.0.113.53")
	crlServer = ip("203.0.113.80")
	webServer = ip("203.0.113.90") // an unrelated Internet web server
)

type mac [6]byte

// MACs. 02:00:5e:00:00:fa/fb are the HLB's external and internal ports
// (listed in topology.yaml hlb.macs); the routers are the next hops
// toward the Internet and the internal networks.
var (
	macHLBExt    = mac{0x02, 0x00, 0x5e, 0x00, 0x00, 0xfa}
	macHLBInt    = mac{0x02, 0x00, 0x5e, 0x00, 0x00, 0xfb}
	macRouterExt = mac{0x00, 0x1b, 0x54, 0xaa, 0x00, 0x01} // Internet edge router / firewall
	macRouterInt = mac{0x00, 0x1b, 0x54, 0xaa, 0x00, 0x02} // internal core router
	macFE1       = mac{0x00, 0x50, 0x56, 0x10, 0x01, 0x0a}
	macFE2       = mac{0x00, 0x50, 0x56, 0x10, 0x01, 0x0b}
)

// ttlOf gives each source a plausible initial TTL minus the hops it
// crossed before the capture, so per-host TTLs are stable across files.
func ttlOf(a netip.Addr) uint8 {
	b := a.As4()
	switch {
	case b[0] == 198 && b[1] == 51: // pool: Windows Edge / HLB, one hop at most
		return 128
	case b[0] == 172:
		return 127
	default: // Internet hosts, many hops away
		return uint8(128 - 11 - int(b[3])%7)
	}
}
