// Package policy turns the port requirements of a Lync/Skype for Business
// scaled consolidated Edge behind hardware load balancers
// (reference/edge-port-policy.md) into per-flow verdicts.
//
// Pieces: a Topology (the user's YAML file, or one Inferred from traffic)
// feeds a Resolver that maps addresses to Roles; an Engine holds a RuleSet
// (the embedded rules.yaml, or a --policy file) and returns a Verdict per
// flow: the id of the rule that allows it, or a Finding (unexpected-port,
// protocol-mismatch) with requirement id, consequence, fix and a Wireshark
// display filter. Check validates a topology (HLB-04 and overlaps);
// Template, Draft and WriteTable serve `edgeaudit policy init|show`.
//
// # Policy file format (--policy FILE)
//
// A policy file replaces the default rules whole. It is YAML:
//
//	version: 1
//	rules:
//	  - id: EXT-V-03           # required, unique; cited in findings and flows[].rule
//	    service: access        # required, free text (access, webconf, av, xmpp, cms, cls…)
//	    transport: tcp         # required: tcp or udp
//	    port: 443              # required: a port or a range "50000-59999"
//	    port_side: to          # whose port it is: "to" (the side connected to; default)
//	                           # or "from" (the opener's own port, e.g. the Edge's relay
//	                           # range when the Edge dials out)
//	    from: [any]            # required: roles that open the connection (or send the
//	                           # first UDP packet); "any" matches every address
//	    to: [access-vip]       # required: roles connected to
//	    inside:                # optional: the HLB-to-real-node leg this VIP rule also covers
//	      from: [hlb]          #   roles that open the inside leg (the HLB's SNAT address…)
//	      to: [access]         #   the real node role
//	      via_hlb_mac: true    #   also accept any client whose frames come from an HLB MAC
//	    app: sip               # required: what the service speaks (contract app name);
//	                           # opaque TLS on this rule is reported as this app
//	    accept: [tls]          # other classifier answers that fit (sip psom stun xmpp cls
//	                           # rtp dns http tls)
//	    tls: true              # optional: the service is inside TLS from the first byte
//	    mtls: true             # optional: the server must request a client certificate
//	    option: xmpp           # optional: xmpp or federation_ocs2007; the rule applies
//	                           # only when the topology sets that option true
//	    reason: remote users sign in over SIP/TLS   # required, one line
//
// Role names: access-vip webconf-vip av-vip access webconf av internal-vip
// edge-internal front-end director sba federation-partner hlb any. Unknown
// keys, unknown roles or apps, duplicate ids and bad ports are rejected with
// file:line:column. When several rules match a flow, the engine prefers an
// enabled rule, then one whose apps fit the payload, then a leg that the
// HLB demonstrably carried (client is an hlb address or frames from an HLB
// MAC), then the rule's own leg over an inside leg, then a single port over
// a range, then file order.
//
// # Topology file format
//
// CONTRACT.md "Topology file"; Template() prints a commented example.
// Extensions, all optional: a VIP or node interface may be a list with one
// address per IP family; a node may list its interface MACs (macs) for the
// direct-server-return check.
package policy
