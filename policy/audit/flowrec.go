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

// judge applies the policy: at once when the topology is known, at the end
// of input when roles must first be inferred from the flows (from the first
// maxPending of them; later flows are judged as they end).
type judge struct {
	engine   *policy.Engine
	rules    *policy.RuleSet
	source   string
	inferred *policy.Inferred
	inferrer policy.Inferrer
	pending  []int32 // records of flows waiting for inferred roles
	early    bool    // roles were inferred before the end, from the first maxPending flows
}

// maxPending bounds the flows held for inference: beyond it, roles are
// inferred from the flows seen so far. A variable for the tests only.
var maxPending = 100_000

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
	var rec flowRec
	fr := &rec
	fr.set(f)
	i := r.store.alloc()
	m := r.store.meta(i)
	m.first, m.frame, m.point, m.bytes = fr.first, fr.frame, fr.point, fr.total()
	if r.judge.engine == nil {
		// Roles are inferred from the flows at the end; judge then. The
		// inferrer keeps evidence per address, the record waits in the
		// spool.
		ff := fr.facts()
		r.judge.inferrer.Add(&ff)
		m.pending = true
		r.judge.pending = append(r.judge.pending, i)
		r.store.spool(i, fr)
		r.recs.add(i, fr)
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
	ff := fr.facts()
	v, fid := r.judgeFlow(&ff, f.Point, f.FirstFrame, f.First, id, early)
	fr.verdict(&v, fid)
	r.store.keepVerdict(i, fr)
	if r.o.Sink != nil {
		rec := fr.render(r.pointName(f.Point))
		r.o.Sink.Flow(&rec)
	}
	r.recs.add(i, fr)
	r.store.release(i)
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
	key := r.describe(ff, &v)
	if key == early {
		return v, r.find.again(key, v.Finding)
	}
	return v, r.find.addKeyed(key, v.Finding)
}

// describe writes the texts of v's finding if they will be shown (most of
// a scan's thousands of findings only count) and returns its aggregate key.
func (r *run) describe(ff *policy.FlowFacts, v *policy.Verdict) string {
	key := aggregateKey(v.Finding)
	if r.find.shows(key, v.Finding.Kind, v.Finding.Severity) {
		r.judge.engine.Describe(ff, v)
	}
	return key
}

func transportName(p uint8) string {
	if p == 6 {
		return "tcp"
	}
	return "udp"
}

// verdict asks the engine for a brief verdict (addVerdict describes its
// finding when it is shown), except about the port of a SYN-ACK whose SYN
// went elsewhere: that half of an asymmetric return is the cross-flow
// detectors' to explain, not an unexpected port.
func (r *run) verdict(ff *policy.FlowFacts) policy.Verdict {
	v := r.judge.engine.VerdictBrief(ff)
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
	var fr flowRec
	fr.set(f)
	ff := fr.facts()
	v := r.verdict(&ff)
	if v.Finding == nil {
		return
	}
	r.prepare(v.Finding, f.Transport(), f.Server.String(), f.ID(), r.firstEvidence(f.Point, f.FirstFrame, f.First, &ff))
	key := r.describe(&ff, &v)
	r.find.addKeyed(key, v.Finding)
	r.early[flowRef{f.Point, f.FirstFrame}] = key
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
	j.inferred = j.inferrer.Result()
	j.inferrer = policy.Inferrer{}
	j.engine = policy.NewEngine(j.rules, j.inferred.Topology())
	loadAhead(r.store, j.pending, r.store.loadInto, func(i int32, fr *flowRec, err error) error {
		m := r.store.meta(i)
		if err != nil {
			r.spoolError(err)
			m.pending = false
			r.store.release(i)
			return nil
		}
		ff := fr.facts()
		v, fid := r.judgeFlow(&ff, int(fr.point), fr.frame, fr.first, fr.id(), "")
		fr.verdict(&v, fid)
		r.store.keepVerdict(i, fr)
		if r.o.Sink != nil && m.kept {
			rec := fr.render(r.pointName(int(fr.point)))
			r.o.Sink.Flow(&rec)
		}
		m.pending = false
		r.store.release(i)
		return nil
	})
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
