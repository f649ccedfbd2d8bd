package policy

import (
	"net/netip"
	"strings"
	"testing"
)

func msturn(f *FlowFacts) { f.Detail = "MS-TURN" }

// capturedPool is what captures outside and inside the HLB of a two-node
// pool show: clients to the VIPs, the HLB's SNAT address to the real Access
// addresses, MS-TURN to the A/V VIP and an A/V node using its relay range,
// and the internal side.
func capturedPool() []FlowFacts {
	return []FlowFacts{
		fl("tcp", "203.0.113.5:50001", accVIP+":443", "tls", tls, sni("sip.contoso.com")),
		fl("tcp", "203.0.113.6:50002", accVIP+":443", "tls", tls),
		fl("tcp", "203.0.113.7:50003", accVIP+":443", "tls", tls),
		fl("tcp", hlbExt+":40001", acc1+":443", "tls", tls),
		fl("tcp", hlbExt+":40002", "198.51.100.21:443", "tls", tls),
		fl("tcp", "192.0.2.70:40000", accVIP+":5269", "xmpp"),
		fl("tcp", "203.0.113.8:50004", webVIP+":443", "tls", tls, sni("webcon.contoso.com")),
		fl("udp", "203.0.113.5:50005", avVIP+":3478", "stun", msturn),
		fl("udp", "203.0.113.6:50006", av1+":3478", "stun", msturn),
		fl("udp", av1+":50010", peer+":3478", "stun", msturn),
		fl("tcp", fe+":40100", int1+":8057", "tls", mtls),
		fl("tcp", fe+":40101", int1+":4443", "tls", tls),
		fl("tcp", int1+":40102", "172.16.1.20:5061", "tls", mtls),
		fl("tcp", "203.0.113.9:50007", "192.0.2.200:443", "tls", tls), // someone else's web server
		fl("udp", "203.0.113.9:50008", "192.0.2.201:3478", "stun"),    // a public STUN server
	}
}

func TestInfer(t *testing.T) {
	in := Infer(capturedPool())
	wantRoles := map[string]Role{
		accVIP: RoleAccessVIP, acc1: RoleAccess, "198.51.100.21": RoleAccess, hlbExt: RoleHLB,
		webVIP: RoleWebConfVIP, avVIP: RoleAVVIP, av1: RoleAV, int1: RoleEdgeInternal,
		fe: RoleFrontEnd, "172.16.1.20": RoleFrontEnd,
	}
	for a, r := range wantRoles {
		got, ok := in.Addrs[netip.MustParseAddr(a)]
		if !ok || got.Role != r || got.Why == "" {
			t.Errorf("%s: inferred %+v, want %s", a, got, r)
		}
	}
	for _, a := range []string{"192.0.2.200", "192.0.2.201", "203.0.113.5", peer} {
		if got, ok := in.Addrs[netip.MustParseAddr(a)]; ok {
			t.Errorf("%s should stay unplaced, got %+v", a, got)
		}
	}
	if !in.XMPP || in.Flows != 15 {
		t.Errorf("xmpp %v flows %d", in.XMPP, in.Flows)
	}
	if u := strings.Join(in.Unchecked(), "\n"); !strings.Contains(u, "HLB-04") || !strings.Contains(u, "hlb.macs") || strings.Contains(u, "No VIP/real split") {
		t.Errorf("unchecked: %s", u)
	}

	e := NewEngine(nil, in.Topology())
	v := checkVerdict(t, "inferred sip", e, fl("tcp", "203.0.113.50:5000", accVIP+":443", "tls", tls), want{rule: "EXT-V-03", app: "sip"})
	if !v.Inferred {
		t.Error("verdict not marked inferred")
	}
	v = checkVerdict(t, "inferred ssh", e, fl("tcp", "203.0.113.50:5000", acc1+":22", "unknown"), want{kind: KindUnexpectedPort, sev: sevp(Warning)})
	if !strings.Contains(v.Finding.Message, "roles inferred from traffic") {
		t.Errorf("message %q", v.Finding.Message)
	}
	// Errors are capped at warning on inferred roles.
	checkVerdict(t, "inferred real TLS on A/V", e, fl("tcp", cli, avVIP+":443", "tls", tls), want{kind: KindProtocolMismatch, finRule: "EXT-V-08", sev: sevp(Warning)})
	// Options are unknown, so optional rules are on.
	checkVerdict(t, "inferred ocs2007", e, fl("udp", peer+":4000", av1+":50020", "rtp"), want{rule: "EXT-N-07"})

	draft := Draft(in)
	topo, err := ParseTopology(draft, "draft.yaml")
	if err != nil {
		t.Fatalf("draft does not parse: %v\n%s", err, draft)
	}
	if len(topo.Nodes) != 2 || topo.VIPs.Access[0] != netip.MustParseAddr(accVIP) || !topo.Options.XMPP {
		t.Errorf("draft topology %+v\n%s", topo, draft)
	}
	for _, w := range []string{"# inferred: answered TLS for 3 clients as the Access Edge", "# webconf:", "not seen; fill in", "SNAT pattern", "front_end:\n    - 172.16.1.10"} {
		if !has(draft, w) {
			t.Errorf("draft lacks %q:\n%s", w, draft)
		}
	}
}

func TestInferEmpty(t *testing.T) {
	in := Infer(nil)
	if len(in.Addrs) != 0 {
		t.Errorf("addrs %v", in.Addrs)
	}
	if u := strings.Join(in.Unchecked(), "\n"); !strings.Contains(u, "No VIP/real split") {
		t.Errorf("unchecked: %s", u)
	}
	d := Draft(in)
	topo, err := ParseTopology(d, "draft.yaml")
	if err != nil {
		t.Fatalf("empty draft does not parse: %v\n%s", err, d)
	}
	if ps := Check(topo); len(ps) == 0 {
		t.Error("empty draft passes Check")
	}
	// An engine on nothing inferred judges nothing.
	e := NewEngine(nil, in.Topology())
	if v := e.Verdict(ptr(fl("tcp", cli, acc1+":22", "unknown"))); v.Finding != nil {
		t.Errorf("judged: %+v", v.Finding)
	}
}

// TestInferFederationPartners: servers our Access Edge called out to on
// 5061 and 5269 are partners, not a second Access Edge fed by an "HLB".
func TestInferFederationPartners(t *testing.T) {
	flows := []FlowFacts{
		fl("tcp", "203.0.113.5:50001", accVIP+":443", "tls", tls, sni("sip.contoso.com")),
		fl("tcp", "203.0.113.6:50002", accVIP+":443", "tls", tls),
		fl("tcp", "192.0.2.50:50003", accVIP+":5061", "tls", tls),
		fl("tcp", accVIP+":60001", "192.0.2.50:5061", "tls", tls),
		fl("tcp", accVIP+":60002", "203.0.113.200:5269", "xmpp"),
	}
	in := Infer(flows)
	want := map[string]Role{accVIP: RoleAccessVIP, "192.0.2.50": RoleFederationPartner, "203.0.113.200": RoleFederationPartner}
	for a, r := range want {
		if got := in.Addrs[netip.MustParseAddr(a)]; got.Role != r {
			t.Errorf("%s: %v (%s), want %v", a, got.Role, got.Why, r)
		}
	}
	if got := in.Topology().Federation.Partners; len(got) != 2 {
		t.Errorf("topology partners %v", got)
	}
	// Partners learnt from traffic are not the whole list: a partner the
	// inference did not see still gets EXT-V-05, not GEN-01.
	e := NewEngine(nil, in.Topology())
	other := fl("tcp", accVIP+":60003", "192.0.2.77:5061", "tls", mtls)
	if v := e.Verdict(&other); v.Rule != "EXT-V-05" || v.Finding != nil {
		t.Errorf("unseen partner: rule %q, finding %v", v.Rule, v.Finding)
	}
}
