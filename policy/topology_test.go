package policy

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseTopologyPool(t *testing.T) {
	topo := loadPool(t, nil)
	if len(topo.Nodes) != 2 || topo.Nodes[1].Name != "edge2" || !topo.Options.XMPP || !topo.Options.FederationOCS2007 {
		t.Fatalf("parsed %+v", topo)
	}
	if got := topo.Nodes[0].AV; len(got) != 1 || got[0] != netip.MustParseAddr("198.51.100.13") {
		t.Errorf("edge1 av %v", got)
	}
	if got := topo.Internal.FrontEnd; len(got) != 1 || got[0].String() != "172.16.1.0/24" {
		t.Errorf("front_end %v", got)
	}
	if topo.HLB.MACs[0] != hlbMAC {
		t.Errorf("hlb macs %v", topo.HLB.MACs)
	}
	for _, p := range Check(topo) {
		t.Errorf("compliant pool: unexpected problem %s", p)
	}
	res := NewResolver(topo)
	for addr, want := range map[string]Role{
		"198.51.100.100": RoleAccessVIP, "198.51.100.23": RoleAV, "172.16.0.21": RoleEdgeInternal,
		"172.16.1.77": RoleFrontEnd, "172.16.3.5": RoleSBA, "198.51.100.250": RoleHLB,
		"192.0.2.33": RoleFederationPartner, "203.0.113.5": RoleAny, "::ffff:198.51.100.101": RoleWebConfVIP,
	} {
		if got := res.Roles(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Roles(%s) = %s, want %s", addr, got, want)
		}
	}
	if !res.IsHLBMAC(hlbMAC) || res.IsHLBMAC([6]byte{1}) || !res.HasHLBMACs() || !res.PartnersKnown() {
		t.Error("resolver MAC/partner answers wrong")
	}
}

func TestTopologyErrors(t *testing.T) {
	base := string(readFile(t, "testdata/pool2.yaml"))
	cases := []struct {
		name, from, to string
		want           []string
	}{
		{"bad address", "  access: 198.51.100.100", "  access: 198.51.100.300",
			[]string{`x.yaml:7:11: vips.access: "198.51.100.300" is not an IPv4 or IPv6 address`}},
		{"unknown key", "  webconf: 198.51.100.101", "  webconference: 198.51.100.101",
			[]string{`x.yaml:8:3: vips: unknown key "webconference" (allowed: access, webconf, av, internal)`}},
		{"unknown top key", "name: contoso edge pool", "nmae: contoso edge pool",
			[]string{`x.yaml:2:1: topology: unknown key "nmae"`}},
		{"bad node address", "    av: 198.51.100.23", "    av: 198.51.100.23/24",
			[]string{`x.yaml:20:9: nodes[1].av: "198.51.100.23/24" is not an IPv4 or IPv6 address`}},
		{"bad prefix", "  front_end: [172.16.1.0/24]", "  front_end: [172.16.1.1/24]",
			[]string{`x.yaml:26:15: internal.front_end: "172.16.1.1/24" has host bits set (did you mean 172.16.1.0/24?)`}},
		{"bad mac", `  macs: ["00:00:5e:00:01:01"]`, `  macs: ["00:00:5e:00:01"]`,
			[]string{`x.yaml:24:10: hlb.macs: "00:00:5e:00:01" is not a 6-byte MAC address`}},
		{"bad bool", "  xmpp: true", "  xmpp: maybe",
			[]string{`x.yaml:4:9: options.xmpp must be true or false`}},
		{"version", "version: 1", "version: 2",
			[]string{`x.yaml:1:10: version 2 is not supported`}},
		{"duplicate key", "    webconf: 198.51.100.12", "    webconf: 198.51.100.12\n    webconf: 198.51.100.14",
			[]string{`x.yaml:15:5: nodes[0]: key "webconf" is already set at line 14`}},
		{"syntax", "  internal: 172.16.0.100", "  internal: [172.16.0.100",
			[]string{`x.yaml:`, `YAML syntax:`}},
		{"tab indentation", "    internal: 172.16.0.11", "\tinternal: 172.16.0.11",
			[]string{`x.yaml:16:1: YAML syntax: found a tab character that violates indentation`}},
		{"two errors at once", "  av: 198.51.100.102", "  av: nope\n  sip: 1.2.3.4",
			[]string{`x.yaml:9:7: vips.av: "nope"`, `x.yaml:10:3: vips: unknown key "sip"`}},
		{"nodes not a list", "nodes:\n  - name: edge1", "nodes:\n  name: edge1\n  x:\n  - name: edge1",
			[]string{`x.yaml:12:3: nodes must be a list`}},
	}
	for _, c := range cases {
		if !strings.Contains(base, c.from) {
			t.Fatalf("%s: base lacks %q", c.name, c.from)
		}
		data := strings.Replace(base, c.from, c.to, 1)
		_, err := ParseTopology([]byte(data), "x.yaml")
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
	if _, err := ParseTopology(nil, "empty.yaml"); err == nil || !strings.HasPrefix(err.Error(), "empty.yaml:1:1:") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := ParseTopology([]byte("version: 1\n---\nversion: 1\n"), "two.yaml"); err == nil || !strings.Contains(err.Error(), "two.yaml:2:1: only one YAML document") {
		t.Errorf("two documents: %v", err)
	}
	if _, err := ParseTopology([]byte("version: 1\nname: &a x\nvips: *a\n"), "alias.yaml"); err == nil || !strings.Contains(err.Error(), "alias.yaml:3:7: topology.vips: YAML aliases are not supported") {
		t.Errorf("alias: %v", err)
	}
	if _, err := LoadTopology("testdata/does-not-exist.yaml"); err == nil || !strings.Contains(err.Error(), "reading topology") {
		t.Errorf("missing file: %v", err)
	}
}

// problems parses a variant of the pool and returns Check's output as text.
func problems(t *testing.T, from, to string) string {
	t.Helper()
	base := string(readFile(t, "testdata/pool2.yaml"))
	if !strings.Contains(base, from) {
		t.Fatalf("base lacks %q", from)
	}
	topo, err := ParseTopology([]byte(strings.Replace(base, from, to, 1)), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range Check(topo) {
		lines = append(lines, p.String())
	}
	return strings.Join(lines, "\n")
}

func TestCheckHLB04(t *testing.T) {
	got := problems(t, "  webconf: 198.51.100.101\n", "")
	for _, w := range []string{
		"p.yaml:6:1: error: vips.webconf is missing: the Web Conferencing Edge VIP must be listed [HLB-04]",
		"p.yaml:6:1: error: found 8 distinct public IPv4 addresses, expected 9 (3 VIPs + 3 per node × 2 nodes)",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing VIP: %q lacks %q", got, w)
		}
	}
	got = problems(t, "    av: 198.51.100.13", "    av: [198.51.100.13, 198.51.100.14]")
	for _, w := range []string{"found 10 distinct public IPv4 addresses, expected 9", "p.yaml:15:9: error: edge1.av lists 2 addresses (2 IPv4, 0 IPv6)"} {
		if !strings.Contains(got, w) {
			t.Errorf("extra address: %q lacks %q", got, w)
		}
	}
	got = problems(t, "    access: 198.51.100.21", "    access: 198.51.100.11")
	for _, w := range []string{"found 8 distinct public IPv4 addresses, expected 9", "p.yaml:18:13: error: 198.51.100.11 is listed as both edge1.access and edge2.access"} {
		if !strings.Contains(got, w) {
			t.Errorf("shared address: %q lacks %q", got, w)
		}
	}
	// Dual stack: each family is counted on its own.
	got = problems(t, "  access: 198.51.100.100", `  access: [198.51.100.100, "2001:db8::100"]`)
	if !strings.Contains(got, "found 1 distinct public IPv6 addresses, expected 9") || strings.Contains(got, "IPv4 addresses") {
		t.Errorf("dual stack: %q", got)
	}
	// One node: 6 addresses expected.
	topo := loadPool(t, func(tp *Topology) { tp.Nodes = tp.Nodes[:1] })
	for _, p := range Check(topo) {
		t.Errorf("one-node pool: %s", p)
	}
}

func TestCheckOverlapsAndMissing(t *testing.T) {
	got := problems(t, "  front_end: [172.16.1.0/24]", "  front_end: [172.16.0.0/16]")
	if !strings.Contains(got, "internal.front_end entry 172.16.0.0/16 contains 172.16.0.11 (edge1.internal)") {
		t.Errorf("prefix over Edge: %q", got)
	}
	got = problems(t, "  director: [172.16.2.0/24]", "  director: [172.16.1.0/25]")
	if !strings.Contains(got, "warning: internal.director entry 172.16.1.0/25 overlaps internal.front_end entry 172.16.1.0/24") {
		t.Errorf("director over front end: %q", got)
	}
	got = problems(t, "  internal: 172.16.0.100", "  internal: 198.51.100.250")
	if !strings.Contains(got, "198.51.100.250 is listed as both vips.internal and hlb.addresses") {
		t.Errorf("VIP = HLB: %q", got)
	}
	got = problems(t, "    internal: 172.16.0.21\n", "")
	if !strings.Contains(got, "error: node edge2 has no internal address") {
		t.Errorf("missing node address: %q", got)
	}
	got = problems(t, "  xmpp: true\n", "")
	if !strings.Contains(got, "p.yaml:3:1: info: options.xmpp is not set; assuming false") {
		t.Errorf("unset option: %q", got)
	}
	got = problems(t, `  macs: ["00:00:5e:00:01:01"]`, "  macs: []")
	if !strings.Contains(got, "p.yaml:24:9: info: hlb.macs is empty") {
		t.Errorf("no macs: %q", got)
	}
}

func TestTemplate(t *testing.T) {
	topo, err := ParseTopology(Template(), "template")
	if err != nil {
		t.Fatalf("template does not parse: %v", err)
	}
	for _, p := range Check(topo) {
		if p.Severity > Info {
			t.Errorf("template: %s", p)
		}
	}
	if len(topo.Nodes) != 2 {
		t.Errorf("template nodes %d", len(topo.Nodes))
	}
}

func TestRoleNames(t *testing.T) {
	want := "access-vip webconf-vip av-vip access webconf av internal-vip edge-internal front-end director sba federation-partner hlb any"
	var got []string
	for i := range 14 {
		r := Role(1) << i
		got = append(got, r.String())
		back, err := ParseRole(r.String())
		if err != nil || back != r {
			t.Errorf("ParseRole(%s) = %v, %v", r, back, err)
		}
	}
	if strings.Join(got, " ") != want {
		t.Errorf("names %q", strings.Join(got, " "))
	}
	if s := (RoleFrontEnd | RoleDirector).String(); s != "front-end+director" {
		t.Errorf("set %q", s)
	}
	if _, err := ParseRole("edge"); err == nil {
		t.Error("ParseRole accepted edge")
	}
}
