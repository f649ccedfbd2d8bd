package tui

import "strings"

// requirementText explains each requirement id of edge-port-policy.md in
// plain words, for an engineer who has not read Microsoft's planning page:
// what the load balancer or the Edge must do, and why calls fail when it
// does not.
var requirementText = map[string]string{
	"HLB-01": "The load balancer may source-NAT traffic for the Access Edge (SIP) and the Web Conferencing Edge (PSOM). Seeing its address as the client of those services is normal.",
	"HLB-02": "The load balancer must never source-NAT audio/video traffic. The A/V Edge has to see the real client address and answer from its own public address, or STUN/TURN candidates are wrong and media cannot connect.",
	"HLB-03": "A reply must come from the address the request was sent to: a request to a virtual IP is answered from that virtual IP, a request to a node's real address from that real address. Otherwise the client drops the answer.",
	"HLB-04": "Every Edge service needs one public address per node plus one for its virtual IP (two nodes: nine addresses). Fewer means a service shares an address it should not.",
	"HLB-05": "For Access and Web Conferencing with SNAT, the virtual IP replaces the client's address with its own on the way in and the node's address with the virtual IP on the way out, so inside the load balancer it is the client and outside it is the server.",
	"HLB-06": "For A/V the virtual IP must leave the source address alone: the node's real address goes back to the client directly.",
	"HLB-07": "The external firewall must keep each A/V node's real public address on every packet; translating it hides the address the Edge advertises to clients.",
	"HLB-08": "Once a call is set up, media goes to a node's real A/V address, not through the A/V virtual IP. The virtual IP only carries the first STUN/TURN exchange.",
	"HLB-09": "The Edge's internal interface reaches internal networks by static routes, not by a default gateway; traffic from it to the Internet means routing is wrong.",
	"HLB-10": "The load balancer is the default gateway of the Edge's external interfaces, so answers to traffic that came through it go back through it (same MAC) instead of around it.",
	"GEN-01": "Only the ports the published port tables allow may be used to or from the Edge. Anything else is either a mistake or something that must not be exposed.",
	"GEN-02": "SIP to and from the Access Edge must work in both directions; IM, presence, conferencing, A/V and federation all ride on it. A SIP conversation seen one way only is broken (or captured on only one path).",
	"GEN-03": "The Edge works over IPv6 as over IPv4; the same rules apply to both.",
	"GEN-04": "XMPP federation (proxy on 5269, gateway on 23456) is optional; when the topology says it is not deployed, that traffic is unexpected.",
}

// familyText explains each family of port rules.
var familyText = map[string]string{
	"EXT-N": "external interface of an Edge node (its real public addresses): revocation checks, DNS, and A/V media and STUN/TURN that must not pass through the load balancer's NAT",
	"INT-N": "internal interface of an Edge node: traffic from the Front End, Director and branch servers (XMPP gateway, configuration, web conferencing, media, logging)",
	"EXT-V": "external virtual IPs on the load balancer: where remote users, federated partners and XMPP peers first connect (SIP, PSOM, STUN/TURN)",
	"INT-V": "internal virtual IP on the load balancer: SIP between the pools and the Edge, A/V authentication, and the internal media path",
}

// kindText says in one line what each finding kind means.
var kindText = map[string]string{
	"unexpected-port":   "a conversation on a port or between roles that no enabled rule allows",
	"protocol-mismatch": "an allowed port carries a protocol other than the service it is open for",
	"snat-av":           "the load balancer rewrote the source of A/V traffic (it must not)",
	"asymmetric-return": "the answer left from a different address or path than the request came in on",
	"one-way-sip":       "SIP seen in one direction only",
	"default-gateway":   "an Edge sends traffic around the load balancer instead of through it",
	"internal-routing":  "the Edge's internal side reaches the Internet (a default route where static routes belong)",
	"topology":          "the topology file itself breaks a requirement",
	"input":             "a capture could not be read completely",
}

// Requirement explains a requirement id, or "" when it has no entry.
func Requirement(id string) string { return requirementText[strings.ToUpper(id)] }

// RuleFamily explains the family of a port rule id (EXT-V-07 -> EXT-V).
func RuleFamily(id string) string {
	if len(id) >= 5 {
		return familyText[strings.ToUpper(id[:5])]
	}
	return ""
}

// Kind explains a finding kind.
func Kind(k string) string { return kindText[k] }
