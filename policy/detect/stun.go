package detect

import (
	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows/classify"
	"github.com/edgeaudit/edgeaudit/policy"
)

// maxLegs is how many sightings of one transaction are kept: a request
// and its answer at each of three points (outside, inside, an Edge).
const maxLegs = 6

type txTable = ring[[16]byte, txEntry]

// txLeg is one sighting of a transaction: a request or an answer at one
// capture point.
type txLeg struct {
	point     int32
	answer    bool
	proto     uint8
	reflAs    ReflexiveAttr
	retrans   uint16
	method    uint16
	src, dst  addr
	refl      addr
	frame     uint64
	flowFrame uint64
	t         int64
}

type txEntry struct {
	id   [16]byte
	typ  uint16
	n    uint8
	done uint8          // what was already reported for this transaction
	legs [maxLegs]int32 // in Detector.txLegs
}

const (
	doneAsym uint8 = 1 << iota
	doneRefl
	doneSNATPoints
	doneCorrelated
)

var reflNames = [...]string{"", "XOR-MAPPED-ADDRESS", "MS XOR-MAPPED-ADDRESS (0x8020)", "MAPPED-ADDRESS"}

// ObserveSTUN takes one STUN/MS-TURN message. Indications, MS-TURN Send
// requests (0x0004) and Data Indications (0x0115) are never answered by
// design and are skipped.
func (d *Detector) ObserveSTUN(e *STUNEvent) {
	d.stats.STUNEvents++
	d.point(e.Point, e.Time)
	d.expire(e.Time)
	answer := e.Class == classify.ClassSuccess || e.Class == classify.ClassError
	if !answer && !(e.Class == classify.ClassRequest && e.ExpectsAnswer) {
		return
	}
	leg := txLeg{point: e.Point, answer: answer, proto: e.Proto, method: e.Method,
		src: addrOf(e.Src), dst: addrOf(e.Dst), frame: e.Frame, flowFrame: e.FlowFrame, t: e.Time}
	if leg.src.port != 3478 && leg.dst.port != 3478 && leg.src.port != 443 && leg.dst.port != 443 &&
		!(d.roles(leg.src) | d.roles(leg.dst)).Has(rolePool) {
		// ICE checks between peers: plentiful on a busy Edge and no
		// evidence about the load balancer.
		d.stats.STUNSkipped++
		return
	}
	if answer && e.Reflexive.IsValid() {
		leg.refl, leg.reflAs = addrOf(e.Reflexive), e.ReflexiveAs
		if leg.reflAs == ReflexiveNone {
			leg.reflAs = ReflexiveXOR
		}
	}
	if !answer {
		d.snatFromHLB(e, &leg)
		switch {
		case e.HasUser:
			d.countUser(e.UserHash, &leg)
		case e.HasConnID:
			d.countUser(e.ConnIDHash, &leg)
		}
	}
	x := d.tx.get(e.TxID)
	if x == nil {
		var evicted bool
		x, evicted = d.tx.insert(e.TxID, e.Time, d.txDrop)
		if evicted {
			d.stats.TxEvicted++
		}
		x.id = e.TxID
	}
	if !answer && x.typ == 0 {
		x.typ = e.Type
	}
	for i := 0; i < int(x.n); i++ {
		l := d.txLegs.at(x.legs[i])
		if l.point == leg.point && l.answer == leg.answer && l.src == leg.src && l.dst == leg.dst {
			l.retrans++
			return
		}
	}
	if int(x.n) == maxLegs {
		d.stats.TxLegsDropped++
		return
	}
	x.legs[x.n] = d.txLegs.put(leg)
	x.n++
	nl := d.txLegs.at(x.legs[x.n-1])
	if answer {
		d.checkAsymSTUN(x, nl)
		d.checkReflexive(x, nl)
	} else {
		for i := 0; i < int(x.n)-1; i++ {
			if a := d.txLegs.at(x.legs[i]); a.answer && a.point == nl.point {
				d.checkAsymSTUN(x, a)
			}
		}
		d.crossPointSTUN(x, nl)
	}
}

// txDrop runs when a transaction leaves the table: its legs are free for
// the transactions to come.
func (d *Detector) txDrop(x *txEntry, expired bool) {
	for _, i := range x.legs[:x.n] {
		d.txLegs.release(i)
	}
}

// checkAsymSTUN tests answer a against the requests of its transaction at
// the same point: sent to one address, answered from another (HLB-03).
func (d *Detector) checkAsymSTUN(x *txEntry, a *txLeg) {
	if x.done&doneAsym != 0 {
		return
	}
	var other *txLeg
	for i := 0; i < int(x.n); i++ {
		r := d.txLegs.at(x.legs[i])
		if r.answer || r.point != a.point || r.src != a.dst {
			continue
		}
		if r.dst == a.src {
			return // answered from where it was asked
		}
		other = r
	}
	if other == nil {
		return
	}
	x.done |= doneAsym
	asked, from := other.dst, a.src
	ar, fr := d.roles(asked), d.roles(from)
	transport := "udp"
	if a.proto == decode.ProtoTCP {
		transport = "tcp"
	}
	f := &policy.Finding{
		Kind: policy.KindAsymmetricReturn, Severity: policy.Error, Requirement: "HLB-03",
		Message: "STUN " + methodName(other.method, x.typ) + " request " + txShort(x.id) + " from " + other.src.String() +
			" to " + roleAddr(asked, ar) + " was answered from " + roleAddr(from, fr) + ", not from the address it was sent to",
		Consequence: answerConsequence(ar, fr),
		Fix:         asymFix(ar, fr),
		Flows:       d.flowIDs(other.point, other.flowFrame, a.flowFrame),
		Evidence: []policy.Evidence{
			d.evidence(other.point, other.frame, other.t, "txid "+txShort(x.id)+" request "+other.src.String()+" → "+asked.String()+retransNote(other.retrans)),
			d.evidence(a.point, a.frame, a.t, "txid "+txShort(x.id)+" answer from "+from.String()+" → "+a.dst.String()),
		},
		Filter:  stunFilter(x.id, a.proto),
		Subject: transport + " " + asked.String() + " answered by " + from.String(),
	}
	d.emit(f)
}

// checkReflexive tests the reflexive address an A/V answer reports: an
// HLB address, or an address other than the one the answer is going to,
// means the A/V Edge saw the client through a source NAT (HLB-02/06/07).
func (d *Detector) checkReflexive(x *txEntry, a *txLeg) {
	if a.reflAs == ReflexiveNone || x.done&doneRefl != 0 {
		return
	}
	sr := d.roles(a.src)
	avServer := sr.Has(policy.RoleAV|policy.RoleAVVIP|policy.RoleEdgeInternal|policy.RoleInternalVIP) ||
		(a.proto == decode.ProtoUDP && a.src.port == 3478) || (a.proto == decode.ProtoTCP && a.src.port == 443)
	if !avServer || (d.hasTop && sr == policy.RoleAny && a.src.port != 3478) {
		return
	}
	if !plausible(a.refl) {
		return // not a unicast address: a mis-encoded attribute, not evidence
	}
	rr := d.roles(a.refl)
	sev := policy.Error
	var why string
	switch {
	case rr.Has(policy.RoleHLB):
		why = "is the load balancer's address " + a.refl.String()
	case a.refl == a.dst:
		if d.hasTop || a.refl.private() || !sameSubnet(a.refl, a.src) || a.refl.sameHost(a.src) {
			return
		}
		// Without a topology: the A/V Edge sees its client at a public
		// address in its own subnet, which is where an HLB's SNAT
		// address lives (and where clients must not be, HLB-03).
		sev = policy.Warning
		why = "is " + a.refl.String() + ", an address in the A/V Edge's own subnet: the client reached it through the load balancer's SNAT address (or sits in the Edge's subnet)"
	case a.dst.private() && !a.refl.private() && !rr.Has(policy.RoleHLB):
		return // the client sits behind its own NAT: that is what reflexive addresses are for
	case rr.Has(policy.RoleEdge) || sameSubnet(a.refl, a.src):
		why = "is " + roleAddr(a.refl, rr) + ", in the Edge's own network, not the client's " + a.dst.String()
	default:
		sev = policy.Warning
		why = "is " + a.refl.String() + ", not the address " + a.dst.String() + " the answer is going to: something between this capture point and the A/V Edge translated the client's source"
	}
	x.done |= doneRefl
	f := &policy.Finding{
		Kind: policy.KindSNATAV, Severity: sev, Requirement: "HLB-02",
		Message: "the A/V Edge " + roleAddr(a.src, sr) + " answered STUN " + methodName(a.method, x.typ) + " " + txShort(x.id) +
			" with a reflexive address (" + reflNames[a.reflAs] + ") that " + why,
		Consequence: snatConsequence,
		Fix:         snatFix,
		Flows:       d.flowIDs(a.point, a.flowFrame),
		Evidence: []policy.Evidence{
			d.evidence(a.point, a.frame, a.t, "txid "+txShort(x.id)+" answer from "+a.src.String()+" → "+a.dst.String()+", "+reflNames[a.reflAs]+" "+a.refl.String()),
		},
		Filter:  stunFilter(x.id, a.proto),
		Subject: "reflexive " + a.refl.host().ip().String() + " from " + a.src.String(),
	}
	for i := 0; i < int(x.n); i++ {
		if r := d.txLegs.at(x.legs[i]); !r.answer && len(f.Evidence) < 4 {
			f.Evidence = append(f.Evidence, d.evidence(r.point, r.frame, r.t, "txid "+txShort(x.id)+" request "+r.src.String()+" → "+r.dst.String()))
		}
	}
	d.emit(f)
}

// crossPointSTUN ties a request to the same transaction's requests at
// other points: a clock-offset sample, and a changed source address means
// the path between the points translated A/V traffic.
func (d *Detector) crossPointSTUN(x *txEntry, nl *txLeg) {
	for i := 0; i < int(x.n)-1; i++ {
		o := d.txLegs.at(x.legs[i])
		if o.answer || o.point == nl.point || !d.sameMoment(o.point, o.t, nl.point, nl.t) {
			continue
		}
		if d.firstAt(x, o) && d.firstAt(x, nl) {
			d.clockSample(o.point, o.t, nl.point, nl.t)
		}
		if x.done&doneCorrelated == 0 {
			x.done |= doneCorrelated
			d.stats.Correlated++
		}
		if o.src.sameHost(nl.src) || x.done&doneSNATPoints != 0 {
			continue
		}
		or, nr := d.roles(o.src), d.roles(nl.src)
		inside, outside := nl, o
		switch {
		case nr.Has(policy.RoleHLB):
		case or.Has(policy.RoleHLB):
			inside, outside = o, nl
		case d.roles(o.dst).Has(policy.RoleAV|policy.RoleEdgeInternal) && !d.roles(nl.dst).Has(policy.RoleAV|policy.RoleEdgeInternal):
			inside, outside = o, nl
		}
		ir := d.roles(inside.src)
		sev := policy.Error
		if !ir.Has(policy.RoleHLB) {
			if outside.src.private() != inside.src.private() {
				continue // a client's own NAT between a client capture and the Internet
			}
			if !d.roles(inside.dst).Has(policy.RoleAV|policy.RoleEdgeInternal) && !sameSubnet(inside.src, inside.dst) {
				sev = policy.Warning
			}
		}
		x.done |= doneSNATPoints
		d.emit(&policy.Finding{
			Kind: policy.KindSNATAV, Severity: sev, Requirement: "HLB-02",
			Message: "STUN " + methodName(nl.method, x.typ) + " request " + txShort(x.id) + " came from " + outside.src.String() +
				" at " + d.pointName(outside.point) + " but from " + roleAddr(inside.src, ir) + " at " + d.pointName(inside.point) +
				" (to " + roleAddr(inside.dst, d.roles(inside.dst)) + "): the A/V traffic's source address was translated between the two points",
			Consequence: snatConsequence,
			Fix:         snatFix,
			Flows:       append(d.flowIDs(outside.point, outside.flowFrame), d.flowIDs(inside.point, inside.flowFrame)...),
			Evidence: []policy.Evidence{
				d.evidence(outside.point, outside.frame, outside.t, "txid "+txShort(x.id)+" request "+outside.src.String()+" → "+outside.dst.String()),
				d.evidence(inside.point, inside.frame, inside.t, "txid "+txShort(x.id)+" request "+inside.src.String()+" → "+inside.dst.String()),
			},
			Filter:  stunFilter(x.id, nl.proto),
			Subject: "a/v source " + inside.src.host().ip().String() + " → " + inside.dst.host().ip().String(),
		})
	}
}

// plausible reports whether a decoded reflexive address can be a host's:
// unicast, not 0/8 or 240/4, IPv6 global unicast or ULA.
func plausible(a addr) bool {
	ip := a.ip()
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast() || ip.IsLoopback() || a.port == 0 {
		return false
	}
	if a.v4 {
		b := ip.As4()
		return b[0] != 0 && b[0] < 240
	}
	return a.a[0]&0xE0 == 0x20 || a.a[0]&0xFE == 0xFC
}

// firstAt reports whether l, a leg of x, is the first request leg at its
// point.
func (d *Detector) firstAt(x *txEntry, l *txLeg) bool {
	for _, i := range x.legs[:x.n] {
		o := d.txLegs.at(i)
		if o == l {
			return true
		}
		if !o.answer && o.point == l.point {
			return false
		}
	}
	return true
}

// snatFromHLB reports an authenticated A/V request that reaches an Edge's
// real A/V (or internal) address from a load balancer address. Health
// monitors also come from the HLB's self addresses but carry no user.
func (d *Detector) snatFromHLB(e *STUNEvent, l *txLeg) {
	if !e.HasUser || !d.roles(l.src).Has(policy.RoleHLB) {
		return
	}
	dr := d.roles(l.dst)
	if !dr.Has(policy.RoleAV | policy.RoleEdgeInternal) {
		return
	}
	k := flagKey{point: l.point, proto: l.proto, kind: flagSNAT, client: l.src, server: l.dst}
	if !d.flag(k) {
		return
	}
	transport := "udp"
	if l.proto == decode.ProtoTCP {
		transport = "tcp"
	}
	d.emit(&policy.Finding{
		Kind: policy.KindSNATAV, Severity: policy.Error, Requirement: "HLB-02",
		Message:     "A/V traffic reaches " + roleAddr(l.dst, dr) + " from the load balancer's address " + l.src.String() + " (STUN " + methodName(l.method, e.Type) + " with a user): the HLB applies SNAT to A/V",
		Consequence: snatConsequence,
		Fix:         snatFix,
		Flows:       d.flowIDs(l.point, l.flowFrame),
		Evidence:    []policy.Evidence{d.evidence(l.point, l.frame, l.t, "txid "+txShort(e.TxID)+" request "+l.src.String()+" → "+l.dst.String())},
		Filter:      srcFilter(l.src) + " && " + dstFilter(l.dst) + " && " + transport + ".dstport == " + itoa(int(l.dst.port)),
		Subject:     "a/v source " + l.src.host().ip().String() + " → " + l.dst.host().ip().String(),
	})
}

// sourceUsers counts the distinct A/V users seen from one source address.
type sourceUsers struct {
	users    [8]uint64
	n        int
	reported bool
	point    int32
	dst      addr
	frames   [3]uint64
	times    [3]int64
	flowF    uint64
}

// countUser feeds the no-topology SNAT heuristic: many distinct users'
// A/V requests from one source address in the Edge's own subnet.
func (d *Detector) countUser(user uint64, l *txLeg) {
	if !((l.proto == decode.ProtoUDP && l.dst.port == 3478) || (l.proto == decode.ProtoTCP && l.dst.port == 443)) {
		return
	}
	sr := d.roles(l.src)
	if sr.Has(policy.RoleHLB) || !sameSubnet(l.src, l.dst) || l.src.sameHost(l.dst) {
		return
	}
	if d.hasTop && !d.roles(l.dst).Has(policy.RoleAV|policy.RoleEdgeInternal) {
		return
	}
	k := l.src.host()
	s := d.sources[k]
	if s == nil {
		if len(d.sources) >= d.cfg.MaxSources {
			d.stats.SourcesDropped++
			return
		}
		s = &sourceUsers{point: l.point, dst: l.dst, flowF: l.flowFrame}
		d.sources[k] = s
	}
	if s.reported {
		return
	}
	for i := 0; i < s.n && i < len(s.users); i++ {
		if s.users[i] == user {
			return
		}
	}
	if s.n < len(s.users) {
		s.users[s.n] = user
	}
	if s.n < len(s.frames) {
		s.frames[s.n], s.times[s.n] = l.frame, l.t
	}
	s.n++
	if s.n < d.cfg.SNATUsers {
		return
	}
	s.reported = true
	f := &policy.Finding{
		Kind: policy.KindSNATAV, Severity: policy.Warning, Requirement: "HLB-02",
		Message: itoa(s.n) + " distinct users' A/V requests reach " + l.dst.String() + " from the one address " + l.src.ip().String() +
			", which sits in the Edge's own subnet: likely the load balancer's SNAT address",
		Consequence: snatConsequence,
		Fix:         snatFix + "; list the HLB's self and SNAT addresses under hlb.addresses in the topology to make this check certain",
		Flows:       d.flowIDs(s.point, s.flowF),
		Filter:      srcFilter(l.src) + " && " + dstFilter(l.dst),
		Subject:     "a/v source " + l.src.host().ip().String() + " → " + l.dst.host().ip().String(),
	}
	for i := 0; i < len(s.frames) && i < s.n; i++ {
		f.Evidence = append(f.Evidence, d.evidence(s.point, s.frames[i], s.times[i], "request from "+l.src.ip().String()+" with user #"+itoa(i+1)))
	}
	d.emit(f)
}

const (
	snatConsequence = "the A/V Edge learns the load balancer's address instead of the client's, so ICE candidates and TURN permissions point at the wrong address: calls fail to set up media or fall back to relayed TCP"
	snatFix         = "exempt the A/V Edge VIP and the Edge nodes' A/V addresses from source NAT on the load balancer (A/V must keep the client's source address, HLB-02/HLB-06), and make sure no firewall between the Internet and the Edge translates A/V traffic (HLB-07)"
)

func answerConsequence(asked, from policy.Role) string {
	if asked.Has(policy.RoleVIP) {
		return "the client discards an answer that does not come from the address it asked, so STUN/TURN allocations and connections to the VIP time out: remote users cannot set up media (or sign in, for SIP)"
	}
	return "the client discards an answer from an address it did not ask, so the exchange times out"
}

func asymFix(asked, from policy.Role) string {
	if asked.Has(policy.RoleVIP) && from.Has(policy.RoleEdge) {
		return "make the load balancer the Edge servers' default gateway on the external interface (HLB-10), so answers to VIP traffic return through it and leave from the VIP, and keep clients out of the real servers' subnet (HLB-03)"
	}
	if from.Has(policy.RoleVIP) {
		return "stop the load balancer from translating traffic addressed to the real Edge address (outbound SNAT / auto-map on the real server's address): a request to a real address must be answered from that address (HLB-03)"
	}
	return "route answers back through the device that received the request, so they leave from the address the client asked (HLB-03)"
}

func retransNote(n uint16) string {
	if n == 0 {
		return ""
	}
	return " (sent " + itoa(int(n)+1) + " times)"
}

func methodName(m uint16, typ uint16) string {
	switch m {
	case classify.MethodBinding:
		return "Binding"
	case classify.MethodAllocate:
		return "Allocate"
	case classify.MethodRefresh:
		return "Refresh"
	case classify.MethodCreatePermission:
		return "CreatePermission"
	case classify.MethodChannelBind:
		return "ChannelBind"
	case classify.MethodMSSetActiveDestination:
		return "Set Active Destination"
	case classify.MethodConnect:
		return "Connect"
	case classify.MethodConnectionBind:
		return "ConnectionBind"
	}
	return "0x" + hex4(typ)
}
