package policy

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

var errLineRE = regexp.MustCompile(`^[a-z.]+:\d+:\d+: `)

func checkErrFormat(t *testing.T, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		if !errLineRE.MatchString(line) {
			t.Fatalf("error line without file:line:column: %q", line)
		}
	}
}

func FuzzParseTopology(f *testing.F) {
	f.Add(readFile(f, "testdata/pool2.yaml"))
	f.Add(Template())
	f.Add(Draft(Infer(capturedPool())))
	f.Add([]byte("version: 1\nvips: {access: [\"2001:db8::1\", 1.2.3.4]}\nnodes: [{name: a, av: ::1}]\n"))
	f.Add([]byte("version: 1\nhlb: {addresses: [10.0.0.0/8, \"::ffff:10.0.0.0/104\"], macs: [aa:bb:cc:dd:ee:ff]}\n"))
	f.Add([]byte("version: 1\nname: &x a\nnodes: [*x, *x]\n"))
	f.Add([]byte("\tversion: 1\n"))
	f.Add([]byte("version: 1\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		topo, err := ParseTopology(data, "f.yaml")
		if err != nil {
			checkErrFormat(t, err)
			return
		}
		for _, p := range Check(topo) {
			if p.Message == "" || p.Where == "" {
				t.Fatalf("empty problem %+v", p)
			}
		}
		e := NewEngine(nil, topo)
		for _, a := range append(append([]netip.Addr{}, topo.VIPs.Access...), topo.VIPs.AV...) {
			v := e.Verdict(&FlowFacts{Transport: 6, Client: netip.MustParseAddrPort("203.0.113.1:5000"), Server: netip.AddrPortFrom(a, 443), App: "tls", TLS: true})
			_ = v.ClientRole.String() + v.ServerRole.String()
		}
	})
}

func FuzzLoadRules(f *testing.F) {
	f.Add(DefaultRulesYAML())
	f.Add([]byte("version: 1\nrules:\n  - {id: A, service: s, transport: tcp, port: 1-2, port_side: from, from: any, to: [av, hlb], app: tls, reason: r, inside: {from: any, to: av, via_hlb_mac: true}}\n"))
	f.Add([]byte("version: 1\nrules: [{id: A}]\n"))
	f.Add([]byte("rules:\n- id: \"\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseRules(data, "r.yaml")
		if err != nil {
			checkErrFormat(t, err)
			return
		}
		if len(rs.Rules) == 0 {
			t.Fatal("no rules but no error")
		}
		e := NewEngine(rs, loadPool(t, nil))
		for _, r := range rs.Rules {
			port := r.PortLo
			server := netip.AddrPortFrom(netip.MustParseAddr("198.51.100.100"), port)
			v := e.Verdict(&FlowFacts{Transport: r.Transport, Client: netip.MustParseAddrPort("203.0.113.1:5000"), Server: server, App: "sip", Answered: true})
			if v.Rule == "" && v.Finding == nil && (v.ClientRole | v.ServerRole).Has(RoleEdge) {
				t.Fatalf("edge flow with neither rule nor finding: %+v", v)
			}
		}
		var sb strings.Builder
		if err := WriteTable(&sb, rs, nil); err != nil {
			t.Fatal(err)
		}
	})
}
