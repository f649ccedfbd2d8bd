package detect

import (
	"slices"

	"github.com/edgeaudit/edgeaudit/policy"
)

// Finish ends the run: asymmetric answers still waiting for
// corroboration, one-way SIP candidates (now that each point is known to
// carry both directions or not), direct server return, one-direction
// captures and bound hits are established, and every finding not yet
// handed to Config.Emit goes to emit. Call it once, after the flow table
// is flushed (its FlowEnd calls first).
func (d *Detector) Finish(emit func(*policy.Finding)) {
	if d.finished {
		return
	}
	d.finished = true // from here d.emit queues
	d.syn.expire(1<<63-1, d.synDrop)
	d.tx.expire(1<<63-1, d.txDrop)

	points := d.sortedPoints()
	oneDir := map[int32]bool{}
	for _, p := range points {
		if !d.oneDirection(p) {
			continue
		}
		oneDir[p] = true
		ps := d.points[p]
		d.emit(&policy.Finding{
			Kind: policy.KindInput, Severity: policy.Info,
			Message: "capture point " + d.pointName(p) + " carries one direction only: " + u64(ps.oneWay) + " of its " + u64(ps.flows) +
				" flows have packets one way only, so one-way SIP was not judged there",
			Consequence: "checks that need both directions (unanswered SYNs and TLS handshakes) cannot be made at this point",
			Fix:         "capture both directions: mirror the port's transmit and receive traffic (SPAN both), or capture on the host",
			Subject:     "one-direction " + d.pointName(p),
		})
	}
	for i := range d.pendingSIP {
		c := &d.pendingSIP[i]
		if !oneDir[c.point] {
			d.emit(&c.f)
		}
	}
	d.pendingSIP = nil
	for i := range d.pendingGW {
		if c := &d.pendingGW[i]; d.points[c.point].hlbMAC {
			d.emit(&c.f)
		} else {
			d.points[c.point].gwUnjudged = true
		}
	}
	d.pendingGW = nil
	d.reportDSR()
	st := d.Stats()
	if n := st.BoundHits(); n > 0 {
		d.emit(&policy.Finding{
			Kind: policy.KindInput, Severity: policy.Info, Count: 1,
			Message: "the cross-flow detectors forgot " + u64(n) + " sightings because a bound was hit (" +
				"transactions " + u64(st.TxEvicted+st.TxLegsDropped) + ", SYNs " + u64(st.SYNEvicted+st.SYNLegsDropped) +
				", A/V sources " + u64(st.SourcesDropped) + ", held findings " + u64(st.PendingDropped+st.FlaggedDropped) + ")",
			Consequence: "some asymmetric returns, SNAT or one-way SIP occurrences may be missing or counted once",
			Fix:         "raise the detector bounds (transactions, SYNs) for captures this busy",
			Subject:     "detector bounds",
		})
	}
	q := d.queued
	d.queued = nil
	for _, f := range q {
		if emit != nil {
			emit(f)
		}
	}
}

// Unchecked says which checks could not be made with the topology and
// captures given, one sentence each (for the report's notes).
func (d *Detector) Unchecked() []string {
	var out []string
	if !d.hasTop {
		out = append(out,
			"snat-av: without a topology the load balancer's addresses are unknown; SNAT was judged only from reflexive addresses and from many users behind one address in the Edge's subnet (HLB-02)",
			"snat-av: A/V TCP 443 could not be told from Access/Web Conferencing 443, where SNAT is allowed, so SNAT between capture points was judged on STUN only",
			"asymmetric-return: answers from another address were found, but VIPs and real addresses could not be named (HLB-03)",
			"one-way-sip: only 5061/5062 (and 443 flows classified as SIP) were judged; the Access VIP's 443 is unknown (GEN-02)",
			"internal-routing: the Edge internal addresses are unknown (HLB-09)",
			"default-gateway: the load balancer's MAC addresses are unknown (HLB-10)",
		)
	} else {
		t := d.cfg.Topology
		if len(t.HLB.Addresses) == 0 {
			out = append(out, "snat-av: the topology lists no hlb.addresses, so A/V traffic from the load balancer's SNAT address could only be guessed (HLB-02)")
		}
		if !d.res.HasHLBMACs() {
			out = append(out, "default-gateway and asymmetric-return at layer 2: the topology lists no hlb.macs, so next hops and direct server return were not checked (HLB-10, HLB-03)")
		}
	}
	if d.res.HasHLBMACs() {
		mac := false
		for _, ps := range d.points {
			mac = mac || ps.hasMAC
		}
		if !mac && len(d.points) > 0 {
			out = append(out, "default-gateway: no capture has Ethernet headers, so next-hop MACs could not be checked (HLB-10)")
		}
	}
	for _, p := range d.sortedPoints() {
		if d.points[p].gwUnjudged {
			out = append(out, "default-gateway: "+d.pointName(p)+" never shows the load balancer's MAC, so it is not on the Edge's segment and the Edge's next hop could not be judged there (HLB-10)")
		}
	}
	if len(d.points) == 1 {
		out = append(out, "correlation: one capture point only, so transactions could not be followed across the load balancer")
	} else if len(d.points) > 1 && d.stats.Correlated == 0 {
		out = append(out, "correlation: the capture points share no STUN transaction or TCP SYN (their times do not overlap, or they saw different traffic), so they were judged separately")
	}
	return out
}

func (d *Detector) sortedPoints() []int32 {
	points := make([]int32, 0, len(d.points))
	for p := range d.points {
		points = append(points, p)
	}
	slices.Sort(points)
	return points
}
