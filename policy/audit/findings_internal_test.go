package audit

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/edgeaudit/edgeaudit/policy"
)

// TestRepeatedFindings: repeats of an unexpected port count into the first
// finding without having their texts written, and a repeat that is worse
// (the port answered after attempts that did not) raises the finding's
// severity and speaks for it.
func TestRepeatedFindings(t *testing.T) {
	r := judgingRun(t)
	attempt := func(client string, answered bool) (*policy.Verdict, string) {
		ff := policy.FlowFacts{Transport: 6, Client: netip.MustParseAddrPort(client),
			Server: netip.MustParseAddrPort("198.51.100.11:22"), App: "unknown", Answered: answered}
		v, id := r.judgeFlow(&ff, 0, 1, 0, "f0-1", "")
		return &v, id
	}
	v1, id := attempt("203.0.113.5:40000", false)
	if v1.Finding == nil || v1.Finding.Severity != policy.Info || v1.Finding.Message == "" {
		t.Fatalf("first attempt: %+v", v1.Finding)
	}
	v2, id2 := attempt("203.0.113.6:40001", false)
	if id2 != id || v2.Finding.Message != "" || v2.Finding.Filter != "" {
		t.Fatalf("a repeat that only counts was described (%q, %q) or not counted (%s, %s)", v2.Finding.Message, v2.Finding.Filter, id2, id)
	}
	v3, id3 := attempt("203.0.113.7:40002", true)
	if id3 != id || v3.Finding.Message == "" {
		t.Fatalf("worse repeat: id %s, message %q", id3, v3.Finding.Message)
	}
	got := r.find.byKey[aggregateKey(v3.Finding)]
	if got.Count != 3 || got.Severity != policy.Warning || !strings.Contains(got.Message, "203.0.113.7") ||
		!strings.Contains(got.Filter, "203.0.113.7") || !strings.Contains(got.Consequence, "answers") {
		t.Fatalf("aggregated finding %+v", got)
	}
}

// TestEarlyFindingEscalates: a flow whose finding was filed when it was
// classified (before its server answered) is not counted again when it
// ends, but its worse verdict then raises the finding's severity.
func TestEarlyFindingEscalates(t *testing.T) {
	r := judgingRun(t)
	ff := policy.FlowFacts{Transport: 17, Client: netip.MustParseAddrPort("203.0.113.5:40000"),
		Server: netip.MustParseAddrPort("198.51.100.13:3479"), App: "stun"}
	early, _ := r.judgeFlow(&ff, 0, 1, 0, "f0-1", "")
	key := aggregateKey(early.Finding)
	ff.Answered = true
	v, id := r.judgeFlow(&ff, 0, 1, 0, "f0-1", key)
	got := r.find.byKey[key]
	if id != got.ID || got.Count != 1 || got.Severity != policy.Warning || v.Finding.Severity != policy.Warning ||
		!strings.Contains(got.Consequence, "answers") {
		t.Fatalf("after the answer: id %s, finding %+v", id, got)
	}
}

// TestFoldedFindings: past the bound on findings per kind, findings are
// counted in one overflow finding without having their texts written, and
// a worse one raises its severity but does not lend it its texts.
func TestFoldedFindings(t *testing.T) {
	r := judgingRun(t)
	port := func(p int, answered bool) *policy.Verdict {
		ff := policy.FlowFacts{Transport: 6, Client: netip.MustParseAddrPort("203.0.113.5:40000"),
			Server: netip.AddrPortFrom(netip.MustParseAddr("198.51.100.11"), uint16(p)), App: "unknown", Answered: answered}
		v, _ := r.judgeFlow(&ff, 0, uint64(p), 0, "f0-1", "")
		return &v
	}
	for p := 1000; p < 1000+maxFindingsPerKind; p++ {
		port(p, false)
	}
	port(9000, false)
	v := port(9001, true)
	if v.Finding.Message != "" || v.Finding.Filter != "" {
		t.Fatalf("a folded finding was described: %q", v.Finding.Message)
	}
	o := r.find.overflow[policy.KindUnexpectedPort]
	if o == nil || o.Count != 2 || o.Severity != policy.Warning || o.Filter != "" || !strings.Contains(o.Consequence, "counted") ||
		!strings.Contains(o.Message, "more than") {
		t.Fatalf("overflow finding %+v", o)
	}
}

// judgingRun is a run with just what judgeFlow needs: the sample pool's
// engine and an empty aggregator.
func judgingRun(t *testing.T) *run {
	t.Helper()
	topo, err := policy.LoadTopology("../../samples/topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return &run{find: newAggregator(nil), points: map[int]string{}, judge: &judge{engine: policy.NewEngine(nil, topo)}}
}
