package audit

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/flows/classify"
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
		App:         f.Class.App.String(),
		AppDetail:   f.Class.Detail,
		Packets:     report.Dirs{C2S: f.Packets[flows.C2S], S2C: f.Packets[flows.S2C]},
		Bytes:       report.Dirs{C2S: f.Bytes[flows.C2S], S2C: f.Bytes[flows.S2C]},
		First:       report.TimeString(f.First),
		Last:        report.TimeString(f.Last),
		End:         f.EndReason,
		Evidence:    f.Class.Why,
		Details:     details(&f.Class),
		FirstNS:     f.First,
		PointIndex:  f.Point,
		FirstFrame:  f.FirstFrame,
	}
}

// facts is what the policy engine judges a flow on.
func facts(f *flows.Flow) policy.FlowFacts {
	c := &f.Class
	ff := policy.FlowFacts{
		Transport:     f.Proto,
		Client:        f.Client.AddrPort(),
		Server:        f.Server.AddrPort(),
		App:           c.App.String(),
		Detail:        c.Detail,
		TLS:           c.TLS.Seen,
		PseudoTLS:     c.TLS.PseudoTLS || c.STUN.PseudoTLS,
		HandshakeSeen: c.TLS.ServerHello && (c.TLS.ServerDone || c.TLS.CertRequest || c.TLS.ClientCCS || c.TLS.ServerCCS),
		MutualTLS:     c.TLS.Mutual,
		SNI:           string(c.TLS.SNI()),
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

// details lists the protocol facts worth showing for a flow. Values are
// packet-derived: writers for terminals pass them through Printable.
func details(c *classify.Result) map[string]string {
	d := map[string]string{}
	if c.TLS.Seen {
		if v := c.TLS.VersionName(); v != "" {
			d["tls_version"] = v
		}
		if sni := c.TLS.SNI(); len(sni) > 0 {
			d["sni"] = string(sni)
		}
		var alpn []string
		c.TLS.ALPN(func(p []byte) { alpn = append(alpn, string(p)) })
		if len(alpn) > 0 {
			d["alpn"] = strings.Join(alpn, ",")
		}
		if c.TLS.CertCN != "" {
			d["cert_cn"] = c.TLS.CertCN
		}
		if len(c.TLS.CertSANs) > 0 {
			d["cert_sans"] = strings.Join(c.TLS.CertSANs, ",")
		}
		if c.TLS.CertRequest {
			d["mutual_tls"] = strconv.FormatBool(c.TLS.Mutual)
		}
	}
	switch c.App {
	case classify.SIP:
		if c.SIP.Request {
			d["sip_method"] = c.SIP.Method.String()
		} else if c.SIP.Status != 0 {
			d["sip_status"] = strconv.Itoa(c.SIP.Status)
		}
		if v := c.SIP.FromDomain(); len(v) > 0 {
			d["sip_from"] = string(v)
		}
		if v := c.SIP.ToDomain(); len(v) > 0 {
			d["sip_to"] = string(v)
		}
	case classify.XMPP:
		for _, s := range []*classify.XMPPStream{&c.XMPP.C2S, &c.XMPP.S2C} {
			if v := s.To(); len(v) > 0 && d["xmpp_to"] == "" {
				d["xmpp_to"] = string(v)
			}
			if v := s.From(); len(v) > 0 && d["xmpp_from"] == "" {
				d["xmpp_from"] = string(v)
			}
		}
		if c.XMPP.C2S.StartTLS || c.XMPP.S2C.Proceed {
			d["starttls"] = "true"
		}
	case classify.HTTP:
		if m := c.HTTP.MethodName(); m != "" {
			d["http_method"] = m
		}
		if v := c.HTTP.Host(); len(v) > 0 {
			d["http_host"] = string(v)
		}
		if v := c.HTTP.Path(); len(v) > 0 {
			d["http_path"] = string(v)
		}
	case classify.DNS:
		if v := c.QName(); len(v) > 0 {
			d["dns_qname"] = string(v)
		}
	case classify.STUN:
		d["stun_variant"] = c.STUN.Variant.String()
		if c.STUN.Framing != classify.FramingNone {
			d["stun_framing"] = c.STUN.Framing.String()
		}
	case classify.RTP:
		if c.RTP.RTP {
			d["rtp_pt"] = strconv.Itoa(int(c.RTP.PT))
		}
	}
	if len(d) == 0 {
		return nil
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
