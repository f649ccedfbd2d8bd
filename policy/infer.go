package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Inferred is a topology learnt from traffic alone, with the reason for each
// role, for runs without --topology and for `policy init --from CAPTURE`.
type Inferred struct {
	Addrs    map[netip.Addr]InferredRole
	XMPP     bool // XMPP traffic was seen on 5269 or 23456
	Flows    int  // flows looked at
	vipSplit bool // a VIP/real split was found for at least one service
}

// InferredRole is one address's inferred role and the evidence for it.
type InferredRole struct {
	Role Role
	Why  string
}

// evidence gathered per address in the first pass
type inferAcc struct {
	mtls        map[uint16]bool // answered TLS on internal-only Edge ports
	turn        int             // answered MS-TURN (3478 or 443) flows
	turnClients map[netip.Addr]bool
	stun        int  // answered other STUN on 3478
	relay       bool // used a port in 50000-59999 with STUN/RTP
	sip5061     map[netip.Addr]bool
	tls443      map[netip.Addr]bool
	sni         string              // service from SNI on 443 ("access", "webconf")
	xmppCli     map[netip.Addr]bool // clients of its 5269
	internalCli map[uint16]bool     // opened 8057/23456/4443/5062 to someone
}

func isMSTURN(f *FlowFacts) bool {
	d := strings.ToLower(f.Detail)
	return f.PseudoTLS || strings.Contains(d, "ms-turn") || strings.Contains(d, "msturn")
}

// Infer learns roles from flows: who answers MS-TURN, mutual TLS on the
// Edge's internal ports, SIP/TLS on 5061, and which servers of one service
// are fed by a single source (the HLB's SNAT address) while another is fed by
// many clients (the VIP). It is conservative: an address it cannot place
// keeps the role "any".
func Infer(flows []FlowFacts) *Inferred {
	var x Inferrer
	for i := range flows {
		x.Add(&flows[i])
	}
	return x.Result()
}

// Inferrer is Infer one flow at a time: it keeps per-address evidence, not
// the flows, so a run need not hold every flow's facts until the end.
type Inferrer struct {
	acc  map[netip.Addr]*inferAcc
	xmpp bool
	n    int
}

func (ir *Inferrer) get(a netip.Addr) *inferAcc {
	a = a.Unmap()
	x := ir.acc[a]
	if x == nil {
		if ir.acc == nil {
			ir.acc = map[netip.Addr]*inferAcc{}
		}
		x = &inferAcc{}
		ir.acc[a] = x
	}
	return x
}

// mark adds k to the set *m, making it on first use: most addresses
// only ever fill one or two of an inferAcc's sets.
func mark[K comparable](m *map[K]bool, k K) {
	if *m == nil {
		*m = map[K]bool{}
	}
	(*m)[k] = true
}

// Add takes a flow's evidence into account.
func (ir *Inferrer) Add(f *FlowFacts) {
	ir.n++
	answered := f.Answered || f.PacketsS2C > 0
	app := effectiveApp(f)
	c, s := f.Client.Addr().Unmap(), f.Server.Addr().Unmap()
	sp, cp := f.Server.Port(), f.Client.Port()
	if app == "xmpp" && (sp == 5269 || sp == 23456) {
		ir.xmpp = true
	}
	if f.Transport == 17 || f.Transport == 6 {
		if (app == "stun" || app == "rtp") && cp >= 50000 && cp <= 59999 {
			ir.get(c).relay = true
		}
		if (app == "stun" || app == "rtp") && sp >= 50000 && sp <= 59999 && answered {
			ir.get(s).relay = true
		}
	}
	if !answered {
		return
	}
	switch {
	case f.Transport == 6 && f.TLS && !f.PseudoTLS && (sp == 8057 || sp == 23456 || sp == 4443 || sp == 5062 || (sp >= 50001 && sp <= 50003)):
		mark(&ir.get(s).mtls, sp)
		if sp != 5062 && sp < 50001 {
			mark(&ir.get(c).internalCli, sp)
		}
	case app == "stun" && isMSTURN(f) && ((f.Transport == 17 && sp == 3478) || (f.Transport == 6 && sp == 443)):
		ir.get(s).turn++
		mark(&ir.get(s).turnClients, c)
	case app == "stun" && f.Transport == 17 && sp == 3478:
		ir.get(s).stun++
	case f.Transport == 6 && sp == 5061 && f.TLS && !f.PseudoTLS:
		mark(&ir.get(s).sip5061, c)
	case f.Transport == 6 && sp == 443 && f.TLS && !f.PseudoTLS:
		x := ir.get(s)
		mark(&x.tls443, c)
		if svc := sniService(f.SNI); svc == "access" || svc == "webconf" {
			x.sni = svc
		}
	case f.Transport == 6 && sp == 5269 && app == "xmpp":
		mark(&ir.get(s).xmppCli, c)
	}
}

// Result places the addresses seen so far.
func (ir *Inferrer) Result() *Inferred {
	acc := ir.acc
	in := &Inferred{Addrs: map[netip.Addr]InferredRole{}, Flows: ir.n, XMPP: ir.xmpp}
	set := func(a netip.Addr, r Role, format string, args ...any) {
		if _, done := in.Addrs[a]; !done {
			in.Addrs[a] = InferredRole{r, fmt.Sprintf(format, args...)}
		}
	}
	addrs := make([]netip.Addr, 0, len(acc))
	for a := range acc {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	portList := func(m map[uint16]bool) string {
		var ps []string
		for p := range m {
			ps = append(ps, fmt.Sprint(p))
		}
		slices.Sort(ps)
		return strings.Join(ps, ", ")
	}
	// Edge internal interfaces: TLS servers on internal-only Edge ports.
	for _, a := range addrs {
		if x := acc[a]; len(x.mtls) > 0 {
			set(a, RoleEdgeInternal, "answered TLS on tcp/%s (Edge internal-only ports)", portList(x.mtls))
		}
	}
	// Front Ends: clients of those ports; servers of 5061 opened by an Edge internal address.
	for _, a := range addrs {
		if x := acc[a]; len(x.internalCli) > 0 && !isEdge(in, a) {
			set(a, RoleFrontEnd, "opened tcp/%s to an Edge internal address", portList(x.internalCli))
		}
	}
	for _, a := range addrs {
		for c := range acc[a].sip5061 {
			if in.Addrs[c].Role == RoleEdgeInternal && !isEdge(in, a) {
				set(a, RoleFrontEnd, "answered SIP/TLS on tcp/5061 opened by Edge internal address %s", c)
			}
		}
	}
	// A/V: MS-TURN servers; those using the relay range are real nodes.
	var avs []netip.Addr
	for _, a := range addrs {
		x := acc[a]
		if _, done := in.Addrs[a]; done {
			if x.turn > 0 && in.Addrs[a].Role == RoleEdgeInternal {
				in.Addrs[a] = InferredRole{RoleEdgeInternal, in.Addrs[a].Why + "; answers MS-TURN (internal A/V)"}
			}
			continue
		}
		// A server whose MS-TURN clients are all MS-TURN servers themselves
		// is another Edge that our A/V Edge asked (EXT-N-08), not ours.
		remote := x.turn > 0
		for c := range x.turnClients {
			if cx := acc[c]; cx == nil || cx.turn == 0 {
				remote = false
			}
		}
		if !remote && (x.turn > 0 || (x.stun > 0 && x.relay)) {
			avs = append(avs, a)
		}
	}
	for _, a := range avs {
		x := acc[a]
		switch {
		case x.relay:
			set(a, RoleAV, "answered MS-TURN/STUN (%s) and uses the relay range 50000-59999", plural(x.turn+x.stun, "flow"))
		case len(avs) > 1:
			in.vipSplit = true
			set(a, RoleAVVIP, "answered MS-TURN (%s) but never used the relay range, while other A/V addresses did", plural(x.turn, "flow"))
		default:
			set(a, RoleAV, "answered MS-TURN (%s)", plural(x.turn, "flow"))
		}
	}
	// Access and Web Conferencing: TLS servers on 5061/443/5269 not placed
	// above. Without a server name or 5061/5269, a TLS server on 443 next to
	// the Edge is taken for Access (remote users' SIP is the common case).
	var access, webconf []netip.Addr
	guessed := map[netip.Addr]bool{}
	for _, a := range addrs {
		x := acc[a]
		if _, done := in.Addrs[a]; done {
			continue
		}
		switch {
		case len(x.sip5061) > 0 || len(x.xmppCli) > 0 || x.sni == "access":
			access = append(access, a)
		case x.sni == "webconf":
			webconf = append(webconf, a)
		case len(x.tls443) > 0 && nearEdge(in, a):
			access = append(access, a)
			guessed[a] = true
		}
	}
	access = partners(acc, access, set)
	for _, group := range []struct {
		as        []netip.Addr
		vip, real Role
		name      string
	}{{access, RoleAccessVIP, RoleAccess, "Access Edge"}, {webconf, RoleWebConfVIP, RoleWebConf, "Web Conferencing Edge"}} {
		clients := func(a netip.Addr) map[netip.Addr]bool {
			m := map[netip.Addr]bool{}
			for c := range acc[a].sip5061 {
				m[c] = true
			}
			for c := range acc[a].tls443 {
				m[c] = true
			}
			return m
		}
		many := false
		for _, a := range group.as {
			if len(clients(a)) > 1 {
				many = true
			}
		}
		for _, a := range group.as {
			cs := clients(a)
			note := ""
			if guessed[a] {
				note = "; service guessed: no server name, 5061 or 5269 seen"
			}
			if many && len(cs) == 1 {
				var h netip.Addr
				for c := range cs {
					h = c
				}
				in.vipSplit = true
				set(a, group.real, "%s server fed only by %s while another %s address has many clients (the HLB's SNAT pattern)%s", group.name, h, group.name, note)
				set(h, RoleHLB, "the single client of %s node %s (SNAT address)", group.name, a)
				continue
			}
			set(a, group.vip, "answered TLS for %s as the %s (VIP assumed: no real/VIP split seen)%s", plural(len(cs), "client"), group.name, note)
		}
	}
	return in
}

// partners takes out of the Access candidates the servers whose every
// SIP/XMPP client is itself an Access candidate: a federation partner that
// our Access Edge opened 5061 or 5269 to (EXT-V-02/05), not our Edge. They
// stay candidates when that would leave none.
func partners(acc map[netip.Addr]*inferAcc, access []netip.Addr, set func(netip.Addr, Role, string, ...any)) []netip.Addr {
	cand := map[netip.Addr]bool{}
	for _, a := range access {
		cand[a] = true
	}
	var keep, out []netip.Addr
	for _, a := range access {
		clients := 0
		only := true
		acc[a].eachClient(func(c netip.Addr) {
			clients++
			only = only && cand[c] && c != a
		})
		if clients > 0 && only {
			out = append(out, a)
		} else {
			keep = append(keep, a)
		}
	}
	if len(keep) == 0 {
		return access
	}
	for _, a := range out {
		set(a, RoleFederationPartner, "answered SIP/XMPP only for %s, itself an Access Edge: a federation partner our Edge opened a connection to", clientList(acc[a]))
	}
	return keep
}

// eachClient calls fn with the clients of the server's SIP, XMPP and TLS
// services (a client of several, once for each).
func (x *inferAcc) eachClient(fn func(netip.Addr)) {
	for _, m := range []map[netip.Addr]bool{x.sip5061, x.xmppCli, x.tls443} {
		for c := range m {
			fn(c)
		}
	}
}

func clientList(x *inferAcc) string {
	var cs []string
	x.eachClient(func(c netip.Addr) { cs = append(cs, c.String()) })
	slices.Sort(cs)
	return strings.Join(slices.Compact(cs), ", ")
}

func isEdge(in *Inferred, a netip.Addr) bool {
	r, ok := in.Addrs[a]
	return ok && r.Role.Has(RoleEdge)
}

// nearEdge: the address shares a /24 (IPv4) or /64 (IPv6) with an external
// Edge address already inferred; a bare TLS server elsewhere is not assumed
// to be ours.
func nearEdge(in *Inferred, a netip.Addr) bool {
	bits := 24
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return false
	}
	for b, r := range in.Addrs {
		if r.Role.Has(RoleEdge&^RoleEdgeInternal&^RoleInternalVIP) && p.Contains(b) {
			return true
		}
	}
	return false
}

// Topology turns the inference into a Topology (Source "inferred") for
// NewEngine. Options are unknown, so both are taken as on: nothing is
// reported for a function the capture cannot tell is deployed.
func (in *Inferred) Topology() *Topology {
	t := &Topology{Source: SourceInferred, Version: 1, Name: "inferred from traffic",
		Options: Options{XMPP: true, FederationOCS2007: true}}
	node := Node{Name: "inferred"}
	for _, a := range in.sorted() {
		r := in.Addrs[a].Role
		pfx := netip.PrefixFrom(a, a.BitLen())
		switch r {
		case RoleAccessVIP:
			t.VIPs.Access = append(t.VIPs.Access, a)
		case RoleWebConfVIP:
			t.VIPs.WebConf = append(t.VIPs.WebConf, a)
		case RoleAVVIP:
			t.VIPs.AV = append(t.VIPs.AV, a)
		case RoleInternalVIP:
			t.VIPs.Internal = append(t.VIPs.Internal, a)
		case RoleAccess:
			node.Access = append(node.Access, a)
		case RoleWebConf:
			node.WebConf = append(node.WebConf, a)
		case RoleAV:
			node.AV = append(node.AV, a)
		case RoleEdgeInternal:
			node.Internal = append(node.Internal, a)
		case RoleHLB:
			t.HLB.Addresses = append(t.HLB.Addresses, pfx)
		case RoleFrontEnd:
			t.Internal.FrontEnd = append(t.Internal.FrontEnd, pfx)
		case RoleFederationPartner:
			t.Federation.Partners = append(t.Federation.Partners, pfx)
		}
	}
	t.Nodes = []Node{node}
	return t
}

func (in *Inferred) sorted() []netip.Addr {
	as := make([]netip.Addr, 0, len(in.Addrs))
	for a := range in.Addrs {
		as = append(as, a)
	}
	slices.SortFunc(as, netip.Addr.Compare)
	return as
}

// Unchecked says, in plain sentences, which checks a run without a topology
// file could not make or made only partly.
func (in *Inferred) Unchecked() []string {
	out := []string{
		"Roles were inferred from traffic, not read from a topology file: findings that rest on them are warnings at most.",
		"HLB-04 (one public address per VIP and per node interface; 9 for two nodes) needs a topology file.",
		"Options are unknown: 5269/23456 (GEN-04) and inbound relay-range traffic (OCS 2007 federation) are allowed rather than reported.",
		"Federation partners are unknown: outbound SIP on 5061 (EXT-V-05) is accepted to any address.",
		"HLB-10 (default gateway), HLB bypass and direct-server-return checks need the HLB's MAC addresses (hlb.macs).",
		"Internal servers (front-end, director, sba) are known only where they talked to an inferred Edge internal address; other internal sources are judged as \"any\".",
	}
	if !in.vipSplit {
		out = append(out, "No VIP/real split was seen: clients reaching a node's real Access or Web Conferencing address instead of the VIP (HLB bypass) cannot be told from normal traffic, and SNAT on A/V (HLB-02) is judged only from patterns, without the HLB's address list.")
	}
	return out
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
