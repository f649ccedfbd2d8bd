package policy

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
)

const templateText = `# edgeaudit topology: who is who in and around a Lync/Skype for Business
# Edge pool behind hardware load balancers. Check it with
#   edgeaudit policy check --topology FILE
# Addresses may be IPv4 or IPv6. Where a list is taken, entries may also be
# CIDR prefixes (172.16.1.0/24). A VIP or node interface may list one address
# per IP family: [198.51.100.100, 2001:db8:100::100].
version: 1
name: contoso edge pool

options:
  xmpp: false               # XMPP proxy (5269) and gateway (23456) deployed? (GEN-04)
  federation_ocs2007: false # federate with OCS 2007 partners (opens the relay range inbound)

# HLB virtual IPs. The three external ones plus three real addresses per
# node are the pool's public addresses: 9 for two nodes (HLB-04).
vips:
  access: 198.51.100.100    # Access Edge (and XMPP proxy)
  webconf: 198.51.100.101   # Web Conferencing Edge
  av: 198.51.100.102        # A/V Edge
  internal: 172.16.0.100    # in front of the nodes' internal interfaces

# Each Edge server: its real public address per service and its internal
# address. macs (optional) are the node's interface MACs, for the
# direct-server-return check.
nodes:
  - name: edge1
    access: 198.51.100.11
    webconf: 198.51.100.12
    av: 198.51.100.13
    internal: 172.16.0.11
    # macs: [00:15:5d:00:01:11, 00:15:5d:00:01:12]
  - name: edge2
    access: 198.51.100.21
    webconf: 198.51.100.22
    av: 198.51.100.23
    internal: 172.16.0.21

hlb:
  addresses: [198.51.100.250, 172.16.0.250]  # self IPs and SNAT pool, both sides
  macs: []                                   # HLB interface MACs (HLB-10, bypass, DSR)

internal:
  front_end: [172.16.1.0/24]   # Front End servers and pool VIPs
  director: []                 # Directors and Director pool VIPs
  sba: []                      # Survivable Branch Appliances

federation:
  partners: []   # federated partners' Access Edges; empty accepts any address for outbound 5061
`

// Template is a commented topology file for `policy init` (a two-node pool
// with documentation addresses; it passes Check apart from the HLB MAC note).
func Template() []byte { return []byte(templateText) }

// Draft writes a topology file from an inference (`policy init --from`),
// saying on each line what it was inferred from. Addresses the capture did
// not show are left as comments for the user to fill in; the node pairing
// of real addresses is by address order and must be checked.
func Draft(in *Inferred) []byte {
	var b bytes.Buffer
	t := in.Topology()
	why := func(a netip.Addr) string { return in.Addrs[a].Why }
	fmt.Fprintf(&b, "# edgeaudit topology drafted from %d flows. Every value below was inferred\n", in.Flows)
	b.WriteString("# from traffic; the comment after it says from what. Check each line, fill in\n")
	b.WriteString("# what is commented out, then run: edgeaudit policy check --topology FILE\n")
	b.WriteString("version: 1\nname: drafted from a capture\n\noptions:\n")
	if in.XMPP {
		b.WriteString("  xmpp: true                # inferred: XMPP seen on 5269 or 23456\n")
	} else {
		b.WriteString("  xmpp: false               # no XMPP seen; set true if the XMPP proxy is deployed\n")
	}
	b.WriteString("  federation_ocs2007: false # cannot be inferred; set true to federate with OCS 2007\n\nvips:\n")
	vip := func(key string, as []netip.Addr, desc string) {
		if len(as) == 0 {
			fmt.Fprintf(&b, "  # %s:                   # %s VIP not seen in the capture; fill in\n", key, desc)
			return
		}
		for i, a := range as {
			prefix := "  "
			if i > 0 {
				prefix = "  # also "
			}
			fmt.Fprintf(&b, "%s%s: %s    # inferred: %s\n", prefix, key, a, why(a))
		}
	}
	vip("access", t.VIPs.Access, "Access Edge")
	vip("webconf", t.VIPs.WebConf, "Web Conferencing Edge")
	vip("av", t.VIPs.AV, "A/V Edge")
	vip("internal", t.VIPs.Internal, "internal")
	n := t.Nodes[0]
	count := max(len(n.Access), len(n.WebConf), len(n.AV), len(n.Internal))
	b.WriteString("\n# Real addresses are paired into nodes by address order: check the pairing.\nnodes:\n")
	if count == 0 {
		b.WriteString("  # - name: edge1           # no real node addresses were seen; fill in\n  #   access:\n  #   webconf:\n  #   av:\n  #   internal:\n")
	}
	for i := range count {
		fmt.Fprintf(&b, "  - name: edge%d\n", i+1)
		field := func(key string, as []netip.Addr) {
			if i < len(as) {
				fmt.Fprintf(&b, "    %s: %s    # inferred: %s\n", key, as[i], why(as[i]))
			} else {
				fmt.Fprintf(&b, "    # %s:                 # not seen; fill in\n", key)
			}
		}
		field("access", n.Access)
		field("webconf", n.WebConf)
		field("av", n.AV)
		field("internal", n.Internal)
	}
	b.WriteString("\nhlb:\n")
	list := func(indent, key string, ps []netip.Prefix, missing string) {
		if len(ps) == 0 {
			fmt.Fprintf(&b, "%s%s: []    # %s\n", indent, key, missing)
			return
		}
		fmt.Fprintf(&b, "%s%s:\n", indent, key)
		for _, p := range ps {
			fmt.Fprintf(&b, "%s  - %s    # inferred: %s\n", indent, p.Addr(), why(p.Addr()))
		}
	}
	list("  ", "addresses", t.HLB.Addresses, "no SNAT address seen; list the HLB's self and SNAT addresses")
	b.WriteString("  macs: []         # cannot be inferred reliably; list the HLB's MACs for HLB-10\n\ninternal:\n")
	list("  ", "front_end", t.Internal.FrontEnd, "no Front End seen talking to an Edge internal address")
	b.WriteString("  director: []\n  sba: []\n\nfederation:\n" +
		"  # Once partners are listed, federation legs (EXT-V-05...) are allowed to them only;\n" +
		"  # add every partner, or leave the list empty to allow any.\n")
	list("  ", "partners", t.Federation.Partners, "no federation partner seen")
	return []byte(strings.ReplaceAll(b.String(), "\t", "    "))
}
