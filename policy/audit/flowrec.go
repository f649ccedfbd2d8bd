package audit

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// record turns an ended flow into its report record (without verdict).
func (r *run) record(f *flows.Flow, id string) report.Flow {
	return report.Flow{
		ID:          id,
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
	early    bool // roles were inferred before the end, from the first maxPending flows
}

// pending is a flow waiting for inferred roles: compact, since a capture
// without a topology holds one for every flow until the end.
// maxPending bounds the flows held for inference: beyond it, roles are
// inferred from the flows seen so far.
const maxPending = 100_000

type pending struct {
	facts policy.FlowFacts
	point int
	frame uint64
	time  int64
	rec   int // index in the run's records
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
	if i := f.Point / pointsPerInput; i < len(r.srcs) {
		r.srcs[i].flows++
	}
	id := f.ID()
	r.detect.FlowEnd(f, id)
	ff := facts(f)
	// A record is built only when it is kept or streamed: at the end of a
	// capture every open flow ends at once.
	var rec *report.Flow
	if r.o.Sink != nil || r.recs.wants(f.Bytes[0]+f.Bytes[1]) {
		rr := r.record(f, id)
		rec = &rr
	}
	if r.judge.engine == nil {
		// Roles are inferred from all flows at the end; judge then.
		i := r.recs.add(rec)
		r.judge.pending = append(r.judge.pending, pending{facts: ff, point: f.Point, frame: f.FirstFrame, time: f.First, rec: i})
		if len(r.judge.pending) >= maxPending {
			// Held facts would grow with the capture: infer from what
			// was seen so far and judge the rest as it comes.
			r.judge.finish(r)
			r.judge.early = true
		}
		return
	}
	ref := flowRef{f.Point, f.FirstFrame}
	early, ok := r.early[ref]
	if ok {
		delete(r.early, ref)
	}
	v, fid := r.judgeFlow(&ff, f.Point, f.FirstFrame, f.First, id, early)
	if rec != nil {
		fill(rec, &v, fid)
		if r.o.Sink != nil {
			r.o.Sink.Flow(rec)
		}
	}
	r.recs.add(rec)
}

// judgeFlow gets a flow's verdict and files its finding, unless the same
// finding was already filed for this flow when it was classified; it
// returns the verdict and the finding's id.
func (r *run) judgeFlow(ff *policy.FlowFacts, point int, frame uint64, first int64, id, early string) (policy.Verdict, string) {
	v := r.verdict(ff)
	if v.Finding == nil {
		return v, ""
	}
	r.prepare(v.Finding, transportName(ff.Transport), ff.Server.String(), id, r.firstEvidence(point, frame, first, ff))
	if key := aggregateKey(v.Finding); key == early {
		return v, r.find.id(key)
	}
	return v, r.find.add(v.Finding)
}

// fill writes a verdict into a flow record.
func fill(rec *report.Flow, v *policy.Verdict, findingID string) {
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
	if findingID != "" {
		rec.Findings = append(rec.Findings, findingID)
	}
}

func transportName(p uint8) string {
	if p == 6 {
		return "tcp"
	}
	return "udp"
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
	r.prepare(v.Finding, f.Transport(), f.Server.String(), f.ID(), r.firstEvidence(f.Point, f.FirstFrame, f.First, &ff))
	r.find.add(v.Finding)
	r.early[flowRef{f.Point, f.FirstFrame}] = aggregateKey(v.Finding)
}

// flowRef names a flow while it is in the table.
type flowRef struct {
	point int
	frame uint64
}

func (r *run) firstEvidence(point int, frame uint64, first int64, ff *policy.FlowFacts) policy.Evidence {
	return policy.Evidence{Point: r.pointName(point), Packet: frame, Time: time.Unix(0, first).UTC(),
		Detail: "first packet of " + transportName(ff.Transport) + " " + ff.Client.String() + " -> " + ff.Server.String()}
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
		id := flowID(p.point, p.frame)
		v, fid := r.judgeFlow(&p.facts, p.point, p.frame, p.time, id, "")
		if rec := r.recs.get(p.rec); rec != nil {
			fill(rec, &v, fid)
			if r.o.Sink != nil {
				r.o.Sink.Flow(rec)
			}
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
		if j.early {
			t.Unchecked = append([]string{fmt.Sprintf("Roles were inferred from the first %d flows only (a bound on the facts held for inference); later flows were judged with them.", maxPending)}, t.Unchecked...)
		}
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

// flowID is flows.Flow.ID for a flow no longer in the table.
func flowID(point int, frame uint64) string {
	f := flows.Flow{Point: point, FirstFrame: frame}
	return f.ID()
}
