package audit

import (
	"net/netip"
	"slices"
	"time"

	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// record turns an ended flow into its report record (without verdict).
func (r *run) record(f *flows.Flow) report.Flow {
	return report.Flow{
		ID:          f.ID(),
		CommunityID: f.CommunityID(),
		Point:       r.pointName(f.Point),
		Transport:   f.Transport(),
		Client:      f.Client.String(),
		Server:      f.Server.String(),
		App:         f.Label.App.String(),
		AppDetail:   f.Label.Detail,
		Packets:     report.Dirs{C2S: f.Packets[flows.C2S], S2C: f.Packets[flows.S2C]},
		Bytes:       report.Dirs{C2S: f.Bytes[flows.C2S], S2C: f.Bytes[flows.S2C]},
		First:       report.TimeString(f.First),
		Last:        report.TimeString(f.Last),
		End:         f.EndReason,
		Evidence:    f.Label.Why,
		Details:     details(&f.Label),
		FirstNS:     f.First,
		PointIndex:  f.Point,
		FirstFrame:  f.FirstFrame,
	}
}

// facts is what the policy engine judges a flow on.
func facts(f *flows.Flow) policy.FlowFacts {
	l := &f.Label
	ff := policy.FlowFacts{
		Transport:     f.Proto,
		Client:        f.Client.AddrPort(),
		Server:        f.Server.AddrPort(),
		App:           l.App.String(),
		Detail:        l.Detail,
		TLS:           l.TLS,
		PseudoTLS:     l.PseudoTLS,
		HandshakeSeen: l.HandshakeSeen,
		MutualTLS:     l.Mutual,
		SNI:           l.SNI,
		Answered:      f.Answered(),
		PacketsC2S:    f.Packets[flows.C2S],
		PacketsS2C:    f.Packets[flows.S2C],
		PayloadC2S:    f.PayloadBytes[flows.C2S],
		PayloadS2C:    f.PayloadBytes[flows.S2C],
		OrphanSYNACK:  f.Proto == 6 && f.TCP.SYNACK && !f.TCP.SYN,
	}
	if m := f.MAC[flows.C2S]; m.Seen {
		ff.HasMAC, ff.ClientMAC, ff.ServerMAC = true, m.Src, m.Dst
	}
	return ff
}

// details turns a label's protocol facts into the report's map. Values are
// packet-derived: writers for terminals pass them through Printable.
func details(l *flows.Label) map[string]string {
	if len(l.Details) == 0 {
		return nil
	}
	d := make(map[string]string, len(l.Details))
	for _, kv := range l.Details {
		d[kv.Key] = kv.Value
	}
	return d
}

// judge applies the policy: at once when the topology is known, at the end
// of input when roles must first be inferred from all the flows.
type judge struct {
	engine   *policy.Engine
	rules    *policy.RuleSet
	source   string
	inferred *policy.Inferred
	pending  []pending
}

type pending struct {
	rec   int // index in the report's flows
	facts policy.FlowFacts
	first policy.Evidence
}

func newJudge(o Options) *judge {
	j := &judge{rules: o.Rules, source: "inferred"}
	if o.Topology != nil {
		j.engine = policy.NewEngine(o.Rules, o.Topology)
		j.source = o.TopologyPath
		if j.source == "" {
			j.source = o.Topology.Source
		}
	}
	return j
}

// flowEnd is the flow table's End hook.
func (r *run) flowEnd(f *flows.Flow) {
	rec := r.record(f)
	r.detect.FlowEnd(f, rec.ID)
	ff := facts(f)
	first := firstEvidence(r, f, rec.Server)
	if r.judge.engine != nil {
		ref := flowRef{f.Point, f.FirstFrame}
		early, ok := r.early[ref]
		if ok {
			delete(r.early, ref)
		}
		r.apply(&rec, &ff, first, early)
		r.keep(rec)
		if r.o.Sink != nil {
			r.o.Sink.Flow(&rec)
		}
		return
	}
	if !r.keep(rec) {
		return
	}
	r.judge.pending = append(r.judge.pending, pending{rec: len(r.rep.Flows) - 1, facts: ff, first: first})
}

// keep appends a record unless the report's bound is reached.
func (r *run) keep(rec report.Flow) bool {
	if len(r.rep.Flows) >= r.o.MaxFlowRecords {
		r.dropped++
		return false
	}
	r.rep.Flows = append(r.rep.Flows, rec)
	return true
}

// apply fills a record's verdict and files its finding, unless the same
// finding was already filed for this flow when it was classified.
func (r *run) apply(rec *report.Flow, ff *policy.FlowFacts, first policy.Evidence, early string) {
	v := r.verdict(ff)
	if v.ClientRole != 0 {
		rec.ClientRole = v.ClientRole.String()
	}
	if v.ServerRole != 0 {
		rec.ServerRole = v.ServerRole.String()
	}
	if v.Rule != "" {
		rule := v.Rule
		rec.Rule = &rule
	}
	if v.App != "" && v.App != rec.App {
		rec.App = v.App
	}
	if v.Finding != nil {
		r.prepare(v.Finding, rec.Transport, rec.Server, rec.ID, first)
		if key := aggregateKey(v.Finding); key == early {
			rec.Findings = append(rec.Findings, r.find.byKey[key].ID)
		} else {
			rec.Findings = append(rec.Findings, r.find.add(v.Finding))
		}
	}
}

// verdict asks the engine, except about the port of a SYN-ACK whose SYN
// went elsewhere: that half of an asymmetric return is the cross-flow
// detectors' to explain, not an unexpected port.
func (r *run) verdict(ff *policy.FlowFacts) policy.Verdict {
	v := r.judge.engine.Verdict(ff)
	if ff.OrphanSYNACK && v.Finding != nil && v.Finding.Kind == policy.KindUnexpectedPort {
		v.Finding = nil
	}
	return v
}

// prepare gives a verdict's finding its subject, flow and first packet.
func (r *run) prepare(f *policy.Finding, transport, server, id string, first policy.Evidence) {
	if f.Subject == "" {
		// Repeats against one service aggregate: a scan of port 22 from
		// a thousand clients is one finding with a count.
		f.Subject = transport + " " + server
	}
	f.Flows = []string{id}
	f.Evidence = []policy.Evidence{first}
}

// flowDecided judges a flow as soon as its payload is classified, so that
// port and protocol findings show while a long capture is still being read.
// The verdict is made again on the final facts when the flow ends.
func (r *run) flowDecided(f *flows.Flow) {
	if r.judge.engine == nil {
		return
	}
	ff := facts(f)
	v := r.verdict(&ff)
	if v.Finding == nil {
		return
	}
	server := f.Server.String()
	r.prepare(v.Finding, f.Transport(), server, f.ID(), firstEvidence(r, f, server))
	r.find.add(v.Finding)
	r.early[flowRef{f.Point, f.FirstFrame}] = aggregateKey(v.Finding)
}

// flowRef names a flow while it is in the table.
type flowRef struct {
	point int
	frame uint64
}

func firstEvidence(r *run, f *flows.Flow, server string) policy.Evidence {
	return policy.Evidence{Point: r.pointName(f.Point), Packet: f.FirstFrame, Time: time.Unix(0, f.First).UTC(),
		Detail: "first packet of " + f.Transport() + " " + f.Client.String() + " -> " + server}
}

// finish judges the flows held back for inference.
func (j *judge) finish(r *run) {
	if j.engine != nil {
		return
	}
	all := make([]policy.FlowFacts, len(j.pending))
	for i := range j.pending {
		all[i] = j.pending[i].facts
	}
	j.inferred = policy.Infer(all)
	j.engine = policy.NewEngine(j.rules, j.inferred.Topology())
	for i := range j.pending {
		p := &j.pending[i]
		rec := &r.rep.Flows[p.rec]
		r.apply(rec, &p.facts, p.first, "")
		if r.o.Sink != nil {
			r.o.Sink.Flow(rec)
		}
	}
	j.pending = nil
}

func (j *judge) topologyInfo() report.Topology {
	t := report.Topology{Source: j.source}
	if j.inferred != nil {
		for _, a := range sortedAddrs(j.inferred) {
			ir := j.inferred.Addrs[a]
			t.Inferred = append(t.Inferred, a.String()+": "+ir.Role.String()+" ("+ir.Why+")")
		}
		t.Unchecked = j.inferred.Unchecked()
	}
	return t
}

func sortedAddrs(in *policy.Inferred) []netip.Addr {
	out := make([]netip.Addr, 0, len(in.Addrs))
	for a := range in.Addrs {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}
