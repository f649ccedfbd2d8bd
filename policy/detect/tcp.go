package detect

import (
	"strconv"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/policy"
)

type synTable = ring[uint32, synEntry]

// synLeg is one client's SYN with a given ISN at one point, and what
// answered it there. Its fields go widest first so that padding stays
// at the tail: the SYN table holds thousands of legs.
type synLeg struct {
	frame     uint64
	flowFrame uint64
	t         int64
	src, dst  addr
	point     int32
	stray     int32 // in Detector.strayAcks once asym is set
	syns      uint16
	answered  bool  // a SYN-ACK came from the SYN's destination
	asym      uint8 // asymPending, asymReported
}

// strayAck is the SYN-ACK that came from an address other than its SYN's
// destination, and what corroborated it. Few SYNs get one, so it is kept
// apart from synLeg rather than widening every leg.
type strayAck struct {
	frame     uint64
	flowFrame uint64
	t         int64
	corrFrame uint64
	corrTime  int64
	src       addr
	corrFrom  addr
	corr      uint8 // corrRST, corrRetrans, corrICMP
}

// maxSYNLegs is how many sightings of one ISN are kept: one per point
// and client address.
const maxSYNLegs = 4

type synEntry struct {
	isn  uint32
	n    uint8
	done uint8
	legs [maxSYNLegs]int32 // in Detector.synLegs
}

const (
	asymPending uint8 = iota + 1
	asymReported
)

const (
	corrRST uint8 = iota + 1
	corrRetrans
	corrICMP
)

// ObserveTCP takes a TCP control packet: SYN, SYN-ACK or RST.
func (d *Detector) ObserveTCP(e *TCPEvent) {
	d.stats.TCPEvents++
	ps := d.point(e.Point, e.Time)
	if e.HasMAC {
		ps.hasMAC = true
		if !ps.hlbMAC && d.res.HasHLBMACs() && (d.res.IsHLBMAC(e.SrcMAC) || d.res.IsHLBMAC(e.DstMAC)) {
			ps.hlbMAC = true
		}
	}
	d.expire(e.Time)
	switch {
	case e.Flags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn:
		d.onSYN(e)
	case e.Flags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn|decode.TCPAck:
		d.onSYNACK(e)
	case e.Flags&decode.TCPRst != 0:
		d.onRST(e)
	}
}

func (d *Detector) onSYN(e *TCPEvent) {
	src, dst := addrOf(e.Src), addrOf(e.Dst)
	x := d.syn.get(e.Seq)
	if x == nil {
		var evicted bool
		x, evicted = d.syn.insert(e.Seq, e.Time, d.synDrop)
		if evicted {
			d.stats.SYNEvicted++
		}
		x.isn = e.Seq
	}
	for i := 0; i < int(x.n); i++ {
		l := d.synLegs.at(x.legs[i])
		if l.point == e.Point && l.src == src {
			l.syns++
			if l.asym == asymPending {
				if sa := d.strayAcks.at(l.stray); e.Time >= sa.t {
					sa.corr, sa.corrFrame, sa.corrTime = corrRetrans, e.Frame, e.Time
					d.reportAsymTCP(x, l)
				}
			}
			return
		}
	}
	if int(x.n) == maxSYNLegs {
		d.stats.SYNLegsDropped++
		return
	}
	x.legs[x.n] = d.synLegs.put(synLeg{point: e.Point, src: src, dst: dst, frame: e.Frame, flowFrame: e.FlowFrame, t: e.Time, syns: 1})
	x.n++
	nl := d.synLegs.at(x.legs[x.n-1])
	for i := 0; i < int(x.n)-1; i++ {
		o := d.synLegs.at(x.legs[i])
		if o.point == nl.point || o.dst.port != nl.dst.port || !d.sameMoment(o.point, o.t, nl.point, nl.t) {
			continue
		}
		d.clockSample(o.point, o.t, nl.point, nl.t)
		if x.done&doneCorrelated == 0 {
			x.done |= doneCorrelated
			d.stats.Correlated++
		}
		d.crossPointSYN(x, o, nl)
	}
}

// crossPointSYN reports A/V TCP connections whose source changed between
// two points (needs the topology: on TCP 443 SNAT is allowed for Access
// and Web Conferencing, HLB-01).
func (d *Detector) crossPointSYN(x *synEntry, a, b *synLeg) {
	if x.done&doneSNATPoints != 0 || a.src.sameHost(b.src) {
		return
	}
	ar, br := d.roles(a.src), d.roles(b.src)
	inside, outside := b, a
	if ar.Has(policy.RoleHLB) || (!br.Has(policy.RoleHLB) && d.roles(a.dst).Has(policy.RoleAV|policy.RoleEdgeInternal)) {
		inside, outside = a, b
	}
	idr, odr := d.roles(inside.dst), d.roles(outside.dst)
	ir := d.roles(inside.src)
	if !(idr | odr).Has(policy.RoleAV|policy.RoleAVVIP) && !(idr.Has(policy.RoleEdgeInternal) && inside.dst.port == 443) &&
		!(ar | br).Has(policy.RoleAV) {
		return // not A/V: SNAT is allowed on Access and Web Conferencing
	}
	sev := policy.Error
	if !ir.Has(policy.RoleHLB) {
		if outside.src.private() != inside.src.private() {
			return
		}
		sev = policy.Warning
	}
	x.done |= doneSNATPoints
	d.emit(&policy.Finding{
		Kind: policy.KindSNATAV, Severity: sev, Requirement: "HLB-02",
		Message: "the A/V TCP connection with ISN " + u32(x.isn) + " came from " + outside.src.String() + " at " + d.pointName(outside.point) +
			" but from " + roleAddr(inside.src, ir) + " at " + d.pointName(inside.point) + " (to " + roleAddr(inside.dst, idr) +
			"): the A/V traffic's source address was translated between the two points",
		Consequence: snatConsequence,
		Fix:         snatFix,
		Flows:       append(d.flowIDs(outside.point, outside.flowFrame), d.flowIDs(inside.point, inside.flowFrame)...),
		Evidence: []policy.Evidence{
			d.evidence(outside.point, outside.frame, outside.t, "SYN seq "+u32(x.isn)+" "+outside.src.String()+" → "+outside.dst.String()),
			d.evidence(inside.point, inside.frame, inside.t, "SYN seq "+u32(x.isn)+" "+inside.src.String()+" → "+inside.dst.String()),
		},
		Filter:  "tcp.flags.syn == 1 && tcp.seq_raw == " + u32(x.isn),
		Subject: "a/v source " + inside.src.host().ip().String() + " → " + inside.dst.host().ip().String(),
	})
}

func (d *Detector) onSYNACK(e *TCPEvent) {
	isn := e.Ack - 1
	x := d.syn.get(isn)
	if x == nil {
		return
	}
	client, server := addrOf(e.Dst), addrOf(e.Src)
	var cand *synLeg
	for i := 0; i < int(x.n); i++ {
		l := d.synLegs.at(x.legs[i])
		if l.point != e.Point || l.src != client {
			continue
		}
		if l.dst == server {
			l.answered = true
			if ps := d.points[e.Point]; ps != nil {
				ps.answeredSYNs++
			}
			return
		}
		cand = l
	}
	if cand == nil || cand.asym != 0 || cand.answered {
		return
	}
	cand.asym = asymPending
	cand.stray = d.strayAcks.put(strayAck{src: server, frame: e.Frame, flowFrame: e.FlowFrame, t: e.Time})
	r := d.asym.get(isn)
	if r == nil {
		r, _ = d.asym.insert(isn, e.Time, nil)
	}
	*r = asymRec{isn: isn, point: e.Point, client: client, asked: cand.dst, from: server}
}

func (d *Detector) onRST(e *TCPEvent) {
	src, dst := addrOf(e.Src), addrOf(e.Dst)
	x := d.syn.get(e.Seq - 1)
	if x == nil {
		return
	}
	for i := 0; i < int(x.n); i++ {
		l := d.synLegs.at(x.legs[i])
		if l.point != e.Point || l.src != src || l.asym != asymPending {
			continue
		}
		if sa := d.strayAcks.at(l.stray); sa.src == dst {
			sa.corr, sa.corrFrame, sa.corrTime, sa.corrFrom = corrRST, e.Frame, e.Time, src
			d.reportAsymTCP(x, l)
			return
		}
	}
}

// synDrop runs when a SYN leaves the table: asymmetric answers still
// waiting for corroboration are reported with what was seen. Its legs
// are then free for the SYNs to come.
func (d *Detector) synDrop(x *synEntry, expired bool) {
	for i := 0; i < int(x.n); i++ {
		if l := d.synLegs.at(x.legs[i]); l.asym == asymPending {
			d.reportAsymTCP(x, l)
		}
	}
	d.bypassedPoint(x)
	for _, i := range x.legs[:x.n] {
		if l := d.synLegs.at(i); l.asym != 0 {
			d.strayAcks.release(l.stray)
		}
		d.synLegs.release(i)
	}
}

// bypassedPoint reports a SYN that a point saw go to a VIP without any
// SYN-ACK there while another point saw the same connection answered: the
// answer took a path around the HLB.
func (d *Detector) bypassedPoint(x *synEntry) {
	var ans *synLeg
	for i := 0; i < int(x.n); i++ {
		if l := d.synLegs.at(x.legs[i]); l.answered || l.asym != 0 {
			ans = l
			break
		}
	}
	if ans == nil {
		return
	}
	for i := 0; i < int(x.n); i++ {
		l := d.synLegs.at(x.legs[i])
		if l.answered || l.asym != 0 || l.point == ans.point || !d.roles(l.dst).Has(policy.RoleVIP) || !d.twoWay(l.point) {
			continue
		}
		from := ans.dst
		if ans.asym != 0 {
			from = d.strayAcks.at(ans.stray).src
		}
		r := d.asym.get(x.isn)
		if r == nil {
			r, _ = d.asym.insert(x.isn, l.t, nil)
		}
		*r = asymRec{isn: x.isn, point: l.point, client: l.src, asked: l.dst, from: from}
		d.emit(&policy.Finding{
			Kind: policy.KindAsymmetricReturn, Severity: policy.Warning, Requirement: "HLB-03",
			Message: "the TCP connection from " + l.src.String() + " to " + roleAddr(l.dst, d.roles(l.dst)) + " (ISN " + u32(x.isn) + ") got no SYN-ACK at " +
				d.pointName(l.point) + ", while " + d.pointName(ans.point) + " saw it answered by " + from.String() + ": the answer bypasses the load balancer",
			Consequence: answerConsequence(d.roles(l.dst), d.roles(from)),
			Fix:         asymFix(d.roles(l.dst), d.roles(from)),
			Flows:       append(d.flowIDs(l.point, l.flowFrame), d.flowIDs(ans.point, ans.flowFrame)...),
			Evidence: []policy.Evidence{
				d.evidence(l.point, l.frame, l.t, "SYN seq "+u32(x.isn)+" "+l.src.String()+" → "+l.dst.String()+", "+itoa(int(l.syns))+" sent, no SYN-ACK at this point"),
				d.evidence(ans.point, ans.frame, ans.t, "the same SYN "+ans.src.String()+" → "+ans.dst.String()+" answered from "+from.String()),
			},
			Filter:  "tcp.seq_raw == " + u32(x.isn) + " || tcp.ack_raw == " + u32(x.isn+1),
			Subject: "tcp " + l.dst.String() + " answered by " + from.String(),
		})
		return
	}
}

// reportAsymTCP reports a SYN answered by a SYN-ACK from another address.
func (d *Detector) reportAsymTCP(x *synEntry, l *synLeg) {
	if l.asym != asymPending {
		return
	}
	l.asym = asymReported
	sa := d.strayAcks.at(l.stray)
	ar, fr := d.roles(l.dst), d.roles(sa.src)
	ev := []policy.Evidence{
		d.evidence(l.point, l.frame, l.t, "SYN seq "+u32(x.isn)+" "+l.src.String()+" → "+l.dst.String()),
		d.evidence(l.point, sa.frame, sa.t, "SYN-ACK ack "+u32(x.isn+1)+" from "+sa.src.String()+" → "+l.src.String()),
	}
	switch sa.corr {
	case corrRST:
		ev = append(ev, d.evidence(l.point, sa.corrFrame, sa.corrTime, "the client resets the connection the SYN-ACK from "+sa.src.String()+" offered"))
	case corrRetrans:
		ev = append(ev, d.evidence(l.point, sa.corrFrame, sa.corrTime, "the client sends its SYN to "+l.dst.String()+" again ("+itoa(int(l.syns))+" SYNs): it ignored the SYN-ACK"))
	case corrICMP:
		ev = append(ev, d.evidence(l.point, sa.corrFrame, sa.corrTime, "ICMP unreachable from "+sa.corrFrom.ip().String()+" for the SYN-ACK"))
	}
	d.emit(&policy.Finding{
		Kind: policy.KindAsymmetricReturn, Severity: policy.Error, Requirement: "HLB-03",
		Message: "TCP SYN from " + l.src.String() + " to " + roleAddr(l.dst, ar) + " (ISN " + u32(x.isn) + ") was answered by a SYN-ACK from " +
			roleAddr(sa.src, fr) + ", not from the address it was sent to",
		Consequence: answerConsequence(ar, fr),
		Fix:         asymFix(ar, fr),
		Flows:       append(d.flowIDs(l.point, l.flowFrame), d.flowIDs(l.point, sa.flowFrame)...),
		Evidence:    ev,
		Filter: ipFilter(l.src) + " && tcp.port == " + itoa(int(l.src.port)) + " && (tcp.seq_raw == " + u32(x.isn) +
			" || tcp.ack_raw == " + u32(x.isn+1) + " || tcp.seq_raw == " + u32(x.isn+1) + ")",
		Subject: "tcp " + l.dst.String() + " answered by " + sa.src.String(),
	})
}

// asymRec remembers a connection answered from the wrong address (or
// around a point) after its SYN left the table, so that one-way SIP is not
// reported for it and ICMP errors can corroborate it.
type asymRec struct {
	isn                 uint32
	point               int32
	client, asked, from addr
}

type asymSet = ring[uint32, asymRec]

// ObserveICMP takes an ICMP/ICMPv6 error. It only corroborates asymmetric
// answers (an unreachable for the SYN-ACK that came from the wrong
// address); ICMP at the end of a TURN session, for example, is no fault.
func (d *Detector) ObserveICMP(e *ICMPEvent) {
	d.stats.ICMPEvents++
	d.point(e.Point, e.Time)
	unreach := (!e.V6 && e.Type == 3) || (e.V6 && e.Type == 1)
	if !unreach || !e.Inner.Valid || e.Inner.Proto != decode.ProtoTCP {
		return
	}
	from, to := addrFrom(e.Inner.Src, e.Inner.SrcPort), addrFrom(e.Inner.Dst, e.Inner.DstPort)
	var hit *asymRec
	d.asym.each(func(r *asymRec) {
		if r.point == e.Point && r.from == from && r.client == to {
			hit = r
		}
	})
	if hit == nil {
		return
	}
	x := d.syn.get(hit.isn)
	if x == nil {
		return
	}
	for i := 0; i < int(x.n); i++ {
		if l := d.synLegs.at(x.legs[i]); l.point == e.Point && l.src == to && l.asym == asymPending {
			sa := d.strayAcks.at(l.stray)
			sa.corr, sa.corrFrame, sa.corrTime, sa.corrFrom = corrICMP, e.Frame, e.Time, addrFrom(e.Src, 0)
			d.reportAsymTCP(x, l)
		}
	}
}

// answeredElsewhere reports whether a SYN with this ISN was answered at
// another point or from another address: a one-way look at one point is
// then an asymmetric return, not one-way SIP.
func (d *Detector) answeredElsewhere(isn uint32, point int32, client addr) bool {
	if r := d.asym.get(isn); r != nil {
		return true
	}
	x := d.syn.get(isn)
	if x == nil {
		return false
	}
	for i := 0; i < int(x.n); i++ {
		l := d.synLegs.at(x.legs[i])
		if l.asym != 0 && l.point == point && l.src == client {
			return true
		}
		if l.point != point && (l.answered || l.asym != 0) {
			return true
		}
	}
	return false
}

func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
