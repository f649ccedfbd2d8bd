package detect

import (
	"time"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/flows/classify"
	"github.com/edgeaudit/edgeaudit/policy"
)

// roleExternal are the roles that live outside the internal network.
const roleExternal = policy.RoleAccessVIP | policy.RoleWebConfVIP | policy.RoleAVVIP | policy.RoleAccess |
	policy.RoleWebConf | policy.RoleAV | policy.RoleFederationPartner

// rolePool is every address of the pool and its load balancer.
const rolePool = policy.RoleEdge | policy.RoleHLB

// ObserveFlow takes a flow as it leaves the table.
func (d *Detector) ObserveFlow(e *FlowEvent) {
	d.stats.FlowEvents++
	ps := d.point(e.Point, e.First)
	d.point(e.Point, e.Last)
	ps.flows++
	if e.Proto == decode.ProtoTCP {
		ps.tcpFlows++
	}
	switch {
	case e.Packets[flows.C2S] > 0 && e.Packets[flows.S2C] > 0:
	default:
		ps.oneWay++
	}
	for _, m := range e.MAC {
		if m.Seen {
			ps.hasMAC = true
			if !ps.hlbMAC && d.res.HasHLBMACs() && (d.res.IsHLBMAC(m.Src) || d.res.IsHLBMAC(m.Dst)) {
				ps.hlbMAC = true
			}
		}
	}
	client, server := addrOf(e.Client), addrOf(e.Server)
	cr, sr := d.roles(client), d.roles(server)
	d.flowSNAT(e, client, server, cr, sr)
	d.internalRouting(e, client, server, cr, sr)
	d.layer2(e, client, server, cr, sr)
	d.oneWaySIP(e, client, server, cr, sr)
}

func (d *Detector) flowRef(e *FlowEvent) []string {
	if e.ID != "" {
		return []string{e.ID}
	}
	return d.flowIDs(e.Point, e.FirstFrame)
}

func transportName(p uint8) string {
	if p == decode.ProtoTCP {
		return "tcp"
	}
	return "udp"
}

// flowSNAT reports A/V flows from a load balancer address to an Edge's
// real A/V or internal address that the STUN check did not already
// report. Short flows are left alone: HLB health monitors come from its
// self addresses too.
func (d *Detector) flowSNAT(e *FlowEvent, client, server addr, cr, sr policy.Role) {
	k := flagKey{point: e.Point, proto: e.Proto, kind: flagSNAT, client: client, server: server}
	if _, ok := d.flagged[k]; ok {
		delete(d.flagged, k)
		return
	}
	if !cr.Has(policy.RoleHLB) || !sr.Has(policy.RoleAV|policy.RoleEdgeInternal) {
		return
	}
	media := server.port >= 50000 && server.port <= 59999
	avPort := (e.Proto == decode.ProtoUDP && server.port == 3478) || (e.Proto == decode.ProtoTCP && server.port == 443)
	if sr.Has(policy.RoleEdgeInternal) && !sr.Has(policy.RoleAV) && !avPort {
		return
	}
	if !(media || (avPort && e.Packets[0]+e.Packets[1] >= 10 && e.App == classify.STUN)) {
		return
	}
	d.emit(&policy.Finding{
		Kind: policy.KindSNATAV, Severity: policy.Error, Requirement: "HLB-02",
		Message:     "A/V traffic reaches " + roleAddr(server, sr) + " from the load balancer's address " + client.String() + " (" + transportName(e.Proto) + ", " + u64(e.Packets[0]+e.Packets[1]) + " packets): the HLB applies SNAT to A/V",
		Consequence: snatConsequence,
		Fix:         snatFix,
		Flows:       d.flowRef(e),
		Evidence:    []policy.Evidence{d.evidence(e.Point, e.FirstFrame, e.First, "first packet "+client.String()+" → "+server.String())},
		Filter:      srcFilter(client) + " && " + dstFilter(server) + " && " + transportName(e.Proto) + ".dstport == " + itoa(int(server.port)),
		Subject:     "a/v source " + client.host().ip().String() + " → " + server.host().ip().String(),
	})
}

// internet reports an address that must be outside the organisation: an
// external pool role, or a public address with no role in the topology.
func internet(a addr, r policy.Role) bool {
	if r.Has(roleExternal) {
		return true
	}
	return r == policy.RoleAny && !a.private()
}

// internalRouting reports an Edge internal interface talking to Internet
// addresses (HLB-09: internal interfaces reach only internal networks,
// by persistent routes).
func (d *Detector) internalRouting(e *FlowEvent, client, server addr, cr, sr policy.Role) {
	if !d.hasTop {
		return
	}
	var in, out addr
	var outR policy.Role
	switch {
	case cr.Has(policy.RoleEdgeInternal) && internet(server, sr):
		in, out, outR = client, server, sr
	case sr.Has(policy.RoleEdgeInternal) && internet(client, cr):
		in, out, outR = server, client, cr
	default:
		return
	}
	d.emit(&policy.Finding{
		Kind: policy.KindInternalRouting, Severity: policy.Error, Requirement: "HLB-09",
		Message:     "the Edge internal interface " + in.ip().String() + " exchanges " + transportName(e.Proto) + " traffic with " + roleAddr(out, outR) + ", an address outside the internal networks",
		Consequence: "the internal interface is reachable from, or routes to, the outside: the perimeter the Edge is meant to form is open, and answers may leave through the wrong interface",
		Fix:         "remove the default gateway from the Edge's internal interface and add persistent static routes for the internal networks only (HLB-09); list internal servers under internal: in the topology if this address is one",
		Flows:       d.flowRef(e),
		Evidence:    []policy.Evidence{d.evidence(e.Point, e.FirstFrame, e.First, client.String()+" → "+server.String()+", "+u64(e.Packets[0])+"/"+u64(e.Packets[1])+" packets")},
		Filter:      ipFilter(in) + " && " + ipFilter(out),
		Subject:     "internal " + in.ip().String() + " ↔ " + out.ip().String(),
	})
}

// layer2 checks, on Ethernet captures and with the HLB's MACs known, that
// an Edge's external traffic goes through the HLB (HLB-10): answers to
// connections that came from the HLB's MAC, and connections the Edge
// opens to the Internet, must leave toward the HLB's MAC.
func (d *Detector) layer2(e *FlowEvent, client, server addr, cr, sr policy.Role) {
	if !d.res.HasHLBMACs() {
		return
	}
	const edgeExt = policy.RoleAccess | policy.RoleWebConf | policy.RoleAV
	var edge, other addr
	var out, in flows.Dir
	edgeIsServer := false
	switch {
	case sr.Has(edgeExt) && !cr.Has(rolePool):
		edge, other, out, in, edgeIsServer = server, client, flows.S2C, flows.C2S, true
	case cr.Has(edgeExt) && !sr.Has(rolePool):
		edge, other, out, in = client, server, flows.C2S, flows.S2C
	default:
		d.vipMAC(e, sr)
		d.learnMACs(e, cr, sr)
		return
	}
	d.learnMACs(e, cr, sr)
	mo, mi := e.MAC[out], e.MAC[in]
	if !mo.Seen || d.res.IsHLBMAC(mo.Src) || d.res.IsHLBMAC(mo.Dst) {
		return
	}
	frame, t := e.FirstData[out], e.FirstDataTime[out]
	if frame == 0 {
		frame, t = e.FirstFrame, e.DirFirst[out]
		if edgeIsServer && e.TCP.SYNACK {
			frame, t = e.TCP.SYNACKFrame, e.TCP.SYNACKTime
		}
	}
	ev := []policy.Evidence{d.evidence(e.Point, frame, t, edge.String()+" → "+other.String()+" sent to MAC "+macString(mo.Dst)+" (from "+macString(mo.Src)+")")}
	if edgeIsServer && mi.Seen && d.res.IsHLBMAC(mi.Src) {
		inFrame, inT := e.FirstFrame, e.DirFirst[in]
		ev = append([]policy.Evidence{d.evidence(e.Point, inFrame, inT, other.String()+" → "+edge.String()+" arrived from the HLB's MAC "+macString(mi.Src))}, ev...)
		d.emit(&policy.Finding{
			Kind: policy.KindAsymmetricReturn, Severity: policy.Error, Requirement: "HLB-10",
			Message: "a connection from " + other.String() + " reached " + roleAddr(edge, d.roles(edge)) + " through the load balancer (MAC " + macString(mi.Src) +
				") but the Edge's answers leave toward MAC " + macString(mo.Dst) + ": the Edge's default gateway is not the HLB",
			Consequence: "answers bypass the load balancer, so they leave from the real address instead of the VIP the client asked: clients drop them and connections to the VIP fail",
			Fix:         "make the HLB the default gateway of the Edge's external interface (HLB-10) and remove other routes toward the Internet from it",
			Flows:       d.flowRef(e),
			Evidence:    ev,
			Filter:      "eth.src == " + macString(mo.Src) + " && eth.dst == " + macString(mo.Dst) + " && " + ipFilter(edge),
			Subject:     "answers from " + edge.ip().String() + " via " + macString(mo.Dst),
		})
		return
	}
	f := policy.Finding{
		Kind: policy.KindDefaultGateway, Severity: policy.Error, Requirement: "HLB-10",
		Message: roleAddr(edge, d.roles(edge)) + " sends traffic for " + other.String() + " to MAC " + macString(mo.Dst) +
			", not to the load balancer: the Edge's default gateway is not the HLB",
		Consequence: "traffic from the Edge's external interface bypasses the load balancer: outbound A/V and federation leave from addresses the far side does not expect, and answers to VIP connections do not return through the VIP",
		Fix:         "set the HLB (the Access Edge VIP side) as the default gateway of every Edge external interface (HLB-10)",
		Flows:       d.flowRef(e),
		Evidence:    ev,
		Filter:      "eth.src == " + macString(mo.Src) + " && eth.dst == " + macString(mo.Dst) + " && " + ipFilter(edge),
		Subject:     "gateway of " + edge.ip().String() + " is " + macString(mo.Dst),
	}
	// Only a point on the Edge's own segment (where the HLB's MAC shows)
	// sees the Edge's next hop; elsewhere (a client's NIC) the source
	// MAC is some router's.
	if d.points[e.Point].hlbMAC {
		d.emit(&f)
		return
	}
	if len(d.pendingGW) >= d.cfg.MaxPending {
		d.stats.PendingDropped++
		return
	}
	d.pendingGW = append(d.pendingGW, sipCandidate{point: e.Point, f: f})
}

// learnMACs remembers which source MACs carry Edge addresses and which
// carry other hosts' addresses, for the direct-server-return check.
func (d *Detector) learnMACs(e *FlowEvent, cr, sr policy.Role) {
	const edgeReal = policy.RoleAccess | policy.RoleWebConf | policy.RoleAV | policy.RoleEdgeInternal
	for dir, r := range [2]policy.Role{cr, sr} {
		m := e.MAC[dir]
		if !m.Seen || d.res.IsHLBMAC(m.Src) || len(d.edgeMACs) >= 256 {
			continue
		}
		switch {
		case r.Has(edgeReal):
			if _, ok := d.edgeMACs[m.Src]; !ok {
				d.edgeMACs[m.Src] = true
			}
		case !r.Has(rolePool):
			d.edgeMACs[m.Src] = false // a router or host: never evidence of DSR
		}
	}
}

// macObs is a frame from a VIP that did not come from an HLB MAC.
type macObs struct {
	point int32
	mac   [6]byte
	vip   addr
	peer  addr
	frame uint64
	t     int64
	flow  string
}

// vipMAC notes answers sourced from a VIP whose frames do not come from
// the HLB's MAC: direct server return if the MAC is an Edge's.
func (d *Detector) vipMAC(e *FlowEvent, sr policy.Role) {
	m := e.MAC[flows.S2C]
	if !sr.Has(policy.RoleVIP) || !m.Seen || d.res.IsHLBMAC(m.Src) {
		return
	}
	o := macObs{point: e.Point, mac: m.Src, vip: addrOf(e.Server), peer: addrOf(e.Client), frame: e.FirstFrame, t: e.DirFirst[flows.S2C]}
	if e.FirstData[flows.S2C] != 0 {
		o.frame, o.t = e.FirstData[flows.S2C], e.FirstDataTime[flows.S2C]
	} else if e.TCP.SYNACK {
		o.frame, o.t = e.TCP.SYNACKFrame, e.TCP.SYNACKTime
	}
	if ids := d.flowRef(e); len(ids) > 0 {
		o.flow = ids[0]
	}
	for i := range d.vipMACs {
		if d.vipMACs[i].mac == o.mac && d.vipMACs[i].vip.sameHost(o.vip) {
			return
		}
	}
	if len(d.vipMACs) >= 64 {
		d.stats.PendingDropped++
		return
	}
	d.vipMACs = append(d.vipMACs, o)
}

func (d *Detector) reportDSR() {
	for _, o := range d.vipMACs {
		node, known := d.res.NodeMAC(o.mac)
		// A MAC learned from Edge-sourced frames is an Edge's only on the
		// Edge's own segment (where the HLB's MAC shows too); elsewhere it
		// is the router in front of the capture point, which forwards VIP
		// answers and Edge traffic alike.
		if !known && !(d.edgeMACs[o.mac] && d.points[o.point] != nil && d.points[o.point].hlbMAC) {
			continue
		}
		who := "an Edge server's MAC"
		if known {
			who = "the MAC of " + node
		}
		var fl []string
		if o.flow != "" {
			fl = []string{o.flow}
		}
		d.emit(&policy.Finding{
			Kind: policy.KindAsymmetricReturn, Severity: policy.Error, Requirement: "HLB-03",
			Message: "answers from the VIP " + o.vip.ip().String() + " leave with " + who + " (" + macString(o.mac) +
				"), not the load balancer's: direct server return, which the Edge pool does not support",
			Consequence: "with direct server return the load balancer never sees the answers: A/V allocations, SNAT bookkeeping and health tracking break, and Microsoft does not support it for the Edge",
			Fix:         "configure the VIP for full NAT through the load balancer (no DSR / nPath) and make the HLB the Edge servers' default gateway (HLB-10)",
			Flows:       fl,
			Evidence:    []policy.Evidence{d.evidence(o.point, o.frame, o.t, o.vip.String()+" → "+o.peer.String()+" from MAC "+macString(o.mac))},
			Filter:      srcFilter(o.vip) + " && eth.src == " + macString(o.mac),
			Subject:     "dsr " + o.vip.ip().String() + " via " + macString(o.mac),
		})
	}
}

// sipCandidate is a SIP connection seen one way only, held until the
// point's capture is known to carry both directions.
type sipCandidate struct {
	point int32
	f     policy.Finding
}

// sipServer reports whether a TCP server endpoint speaks SIP: Access
// 443, 5061 and 5062 (A/V authentication).
func (d *Detector) sipServer(e *FlowEvent, server addr, sr policy.Role) bool {
	if e.App == classify.STUN || e.App == classify.PSOM || e.App == classify.XMPP || e.PseudoTLS {
		return false
	}
	switch server.port {
	case 5061, 5062:
		return true
	case 443:
		if d.hasTop {
			return sr.Has(policy.RoleAccessVIP | policy.RoleAccess)
		}
		return e.App == classify.SIP
	}
	return false
}

// oneWaySIP reports SIP connections that get no answer (GEN-02), once an
// asymmetric return and a one-direction capture are ruled out.
func (d *Detector) oneWaySIP(e *FlowEvent, client, server addr, cr, sr policy.Role) {
	if e.Proto != decode.ProtoTCP || !d.sipServer(e, server, sr) {
		return
	}
	tc := &e.TCP
	var msg, detail string
	frame, t := e.FirstFrame, e.First
	sev, mode := policy.Error, "syn"
	switch {
	case tc.SYN && !tc.SYNACK && e.Packets[flows.S2C] == 0:
		if tc.SYNs < 2 && d.now-tc.SYNTime < int64(3*time.Second) {
			return // the capture ended before an answer was due
		}
		if d.answeredElsewhere(tc.ISN, e.Point, client) {
			return
		}
		if tc.SYNs < 2 {
			sev = policy.Warning // one SYN, never retransmitted: possibly capture loss
		}
		msg = itoa(tc.SYNs) + " SYN(s) from " + client.String() + " to the SIP service " + roleAddr(server, sr) + " got no answer"
		frame, t = tc.SYNFrame, tc.SYNTime
		detail = "SYN seq " + u32(tc.ISN) + " " + client.String() + " → " + server.String() + ", " + itoa(tc.SYNs) + " sent, no SYN-ACK"
	case e.ClientHello && !e.ServerHello && e.PayloadBytes[flows.S2C] == 0 && e.FirstData[flows.C2S] != 0:
		if e.Last-e.FirstDataTime[flows.C2S] < int64(3*time.Second) && tc.RST[flows.C2S] == 0 && tc.FIN[flows.C2S] == 0 {
			return
		}
		mode = "tls"
		msg = "the TLS ClientHello from " + client.String() + " to the SIP service " + roleAddr(server, sr) + " got no ServerHello"
		frame, t = e.FirstData[flows.C2S], e.FirstDataTime[flows.C2S]
		detail = "ClientHello " + client.String() + " → " + server.String() + ", nothing back but ACKs"
	case !tc.SYN && !tc.SYNACK && e.Packets[flows.S2C] == 0 && e.Packets[flows.C2S] >= 3 && e.PayloadBytes[flows.C2S] > 0:
		sev, mode = policy.Warning, "data"
		msg = "SIP data from " + client.String() + " to " + roleAddr(server, sr) + " flows one way only (" + u64(e.Packets[flows.C2S]) + " packets, none back)"
		detail = "first packet of " + u64(e.Packets[flows.C2S]) + ", none in the other direction"
	case e.PayloadBytes[flows.C2S] > 0 && e.PayloadBytes[flows.S2C] == 0 && e.Last-e.First >= int64(30*time.Second) && !e.ServerHello:
		sev, mode = policy.Warning, "data"
		msg = "SIP from " + client.String() + " to " + roleAddr(server, sr) + " carried data one way only for " + dur(e.Last-e.First) + " (" + u64(e.PayloadBytes[flows.C2S]) + " bytes), with only ACKs back"
		if e.FirstData[flows.C2S] != 0 {
			frame, t = e.FirstData[flows.C2S], e.FirstDataTime[flows.C2S]
		}
		detail = u64(e.PayloadBytes[flows.C2S]) + " bytes " + client.String() + " → " + server.String() + ", none back"
	case e.PayloadBytes[flows.S2C] > 0 && e.SilentFrom != 0 && e.DirLast[flows.S2C] > e.LastDataTime[flows.S2C] &&
		e.DirLast[flows.C2S]-e.LastDataTime[flows.S2C] >= int64(30*time.Second) && e.SilentPackets >= 2:
		// The server's last payload is in the timeline; the client kept
		// sending after it (past the timeline), answered by ACKs only.
		sev, mode = policy.Warning, "data"
		msg = "SIP from " + client.String() + " to " + roleAddr(server, sr) + " flowed one way for " + dur(e.DirLast[flows.C2S]-e.LastDataTime[flows.S2C]) +
			": the client kept sending and the server answered with ACKs only"
		frame, t = e.SilentFrom, e.SilentFromTime
		detail = "client data from here on, nothing but ACKs back until " + dur(e.DirLast[flows.C2S]-e.SilentFromTime) + " later"
	default:
		return
	}
	f := policy.Finding{
		Kind: policy.KindOneWaySIP, Severity: sev, Requirement: "GEN-02",
		Message:     msg,
		Consequence: "SIP must flow both ways through the Access Edge: sign-in, IM and presence, conferencing, A/V call setup and federation over this address fail",
		Fix:         "allow TCP " + itoa(int(server.port)) + " to " + server.ip().String() + " and its return traffic on the firewalls and the load balancer (check the VIP's pool members are up); if the answers take another path, fix the routing (HLB-03/HLB-10)",
		Flows:       d.flowRef(e),
		Evidence:    []policy.Evidence{d.evidence(e.Point, frame, t, detail)},
		Filter:      ipFilter(client) + " && " + ipFilter(server) + " && tcp.port == " + itoa(int(client.port)) + " && tcp.port == " + itoa(int(server.port)),
		Subject:     "sip " + mode + " " + server.String(),
	}
	if d.twoWayConclusive(e.Point) {
		d.emit(&f)
		return
	}
	if len(d.pendingSIP) >= d.cfg.MaxPending {
		d.stats.PendingDropped++
		return
	}
	d.pendingSIP = append(d.pendingSIP, sipCandidate{point: e.Point, f: f})
}

// twoWayConclusive: the point has shown enough two-way flows that its
// capture certainly carries both directions.
func (d *Detector) twoWayConclusive(p int32) bool {
	ps := d.points[p]
	if ps == nil {
		return false
	}
	two := ps.flows - ps.oneWay
	return two >= 5 && two*2 >= ps.flows
}

// twoWay: the point has carried at least one two-way flow or answered SYN.
func (d *Detector) twoWay(p int32) bool {
	ps := d.points[p]
	return ps != nil && (ps.flows > ps.oneWay || ps.answeredSYNs > 0)
}

// oneDirection: nearly all of a point's flows were seen one way only: the
// SPAN or tap carries one direction.
func (d *Detector) oneDirection(p int32) bool {
	ps := d.points[p]
	if ps == nil || ps.flows < 3 {
		return false
	}
	return (ps.flows-ps.oneWay)*10 < ps.flows
}

func u64(v uint64) string { return itoa(int(v)) }

func dur(ns int64) string { return time.Duration(ns).Round(time.Second).String() }
