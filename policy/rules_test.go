package policy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultRules(t *testing.T) {
	rs := DefaultRules()
	var ids []string
	for _, r := range rs.Rules {
		ids = append(ids, r.ID)
		if r.Reason == "" || r.Service == "" || r.App == "" || len(r.Accept) == 0 {
			t.Errorf("%s incomplete: %+v", r.ID, r)
		}
	}
	var want []string
	for _, g := range []struct {
		prefix string
		n      int
	}{{"EXT-N", 11}, {"INT-N", 8}, {"EXT-V", 8}, {"INT-V", 6}} {
		for i := 1; i <= g.n; i++ {
			want = append(want, fmt.Sprintf("%s-%02d", g.prefix, i))
		}
	}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("ids\n got %v\nwant %v", ids, want)
	}
	byID := map[string]Rule{}
	for _, r := range rs.Rules {
		byID[r.ID] = r
	}
	for id, opt := range map[string]string{"EXT-N-05": OptionFederationOCS2007, "EXT-N-06": OptionFederationOCS2007,
		"EXT-N-07": OptionFederationOCS2007, "EXT-V-01": OptionXMPP, "EXT-V-02": OptionXMPP, "INT-N-01": OptionXMPP} {
		if byID[id].Option != opt {
			t.Errorf("%s option %q, want %q", id, byID[id].Option, opt)
		}
	}
	for _, id := range []string{"INT-N-01", "INT-N-03", "INT-N-06", "INT-N-07", "INT-N-08", "EXT-V-04", "EXT-V-05", "INT-V-01", "INT-V-02", "INT-V-03"} {
		if !byID[id].MTLS {
			t.Errorf("%s should require mutual TLS", id)
		}
	}
	if r := byID["EXT-N-04"]; r.PortOnTo || r.PortLo != 50000 || r.PortHi != 59999 {
		t.Errorf("EXT-N-04 relay range must be the Edge's own port: %+v", r)
	}
	if r := byID["EXT-N-07"]; !r.PortOnTo {
		t.Errorf("EXT-N-07 relay range is the Edge's (server) port")
	}
	if r := byID["EXT-N-10"]; !r.accepts("stun") || !r.accepts("rtp") || r.accepts("tls") {
		t.Errorf("EXT-N-10 accepts %v", byID["EXT-N-10"].Accept)
	}
	if rs2, err := ParseRules(DefaultRulesYAML(), "copy.yaml"); err != nil || len(rs2.Rules) != 33 {
		t.Errorf("default YAML does not round-trip: %v", err)
	}
}

func TestLoadRulesErrors(t *testing.T) {
	base := string(DefaultRulesYAML())
	cases := []struct {
		name, from, to, want string
	}{
		{"unknown key", "    service: access\n    transport: tcp\n    port: 80\n", "    service: access\n    transport: tcp\n    port: 80\n    portside: to\n", `r.yaml:%d:5: EXT-N-01: unknown key "portside"`},
		{"bad role", "    from: [access]\n    to: [any]\n    app: http", "    from: [acess]\n    to: [any]\n    app: http", `r.yaml:%d:12: EXT-N-01.from: unknown role "acess"`},
		{"bad port", "    port: 80\n", "    port: 0\n", `r.yaml:%d:11: EXT-N-01.port: "0" is not a port`},
		{"backwards range", "    port: 50000-59999\n    port_side: from\n    from: [av]\n    to: [any]\n    app: rtp\n    accept: [stun]\n    reason: relayed", "    port: 59999-50000\n    port_side: from\n    from: [av]\n    to: [any]\n    app: rtp\n    accept: [stun]\n    reason: relayed", `EXT-N-04.port: range "59999-50000" runs backwards`},
		{"bad app", "    app: http\n", "    app: https\n", `r.yaml:%d:10: EXT-N-01.app: "https" is not one of`},
		{"bad transport", "    transport: udp\n    port: 53\n", "    transport: sctp\n    port: 53\n", `EXT-N-03.transport: "sctp" is not tcp or udp`},
		{"bad option", "    option: xmpp\n", "    option: jabber\n", `INT-N-01.option: "jabber" is not xmpp or federation_ocs2007`},
		{"duplicate id", "  - id: EXT-N-02\n", "  - id: EXT-N-01\n", `r.yaml:%d:9: rule id EXT-N-01 is already used at r.yaml:%d:9`},
		{"missing reason", "    reason: the Access Edge resolves names over UDP\n", "", `EXT-N-03: reason is missing`},
		{"bad inside key", "inside: {from: [hlb], to: [access], via_hlb_mac: true}", "inside: {from: [hlb], to: [access], via_mac: true}", `EXT-V-01.inside: unknown key "via_mac"`},
	}
	for _, c := range cases {
		if !strings.Contains(base, c.from) {
			t.Fatalf("%s: base lacks %q", c.name, c.from)
		}
		text := strings.Replace(base, c.from, c.to, 1)
		want := c.want
		if strings.Contains(want, "%d") {
			// The line of the last occurrence of the offending text.
			mark := c.to[strings.LastIndex(strings.TrimSuffix(c.to, "\n"), "\n")+1:]
			if c.name == "bad role" {
				mark = "from: [acess]"
			}
			mark = strings.TrimSpace(mark)
			line := strings.Count(text[:strings.LastIndex(text, mark)], "\n") + 1
			if c.name == "duplicate id" {
				first := strings.Count(text[:strings.Index(text, mark)], "\n") + 1
				want = fmt.Sprintf(want, line, first)
			} else {
				want = fmt.Sprintf(want, line)
			}
		}
		c.want = want
		_, err := ParseRules([]byte(text), "r.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := ParseRules([]byte("version: 1\nrules: []\n"), "e.yaml"); err == nil || !strings.Contains(err.Error(), "e.yaml:2:8: the policy has no rules") {
		t.Errorf("empty rules: %v", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "mine.yaml")
	custom := "version: 1\nrules:\n  - id: SSH-01\n    service: admin\n    transport: tcp\n    port: 22\n    from: [front-end]\n    to: [edge-internal]\n    app: unknown-proto\n    reason: admin\n"
	if err := os.WriteFile(p, []byte(custom), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRules(p); err == nil || !strings.Contains(err.Error(), p+":9:10:") {
		t.Errorf("custom bad app: %v", err)
	}
	custom = strings.Replace(custom, "unknown-proto", "tls", 1)
	if err := os.WriteFile(p, []byte(custom), 0o600); err != nil {
		t.Fatal(err)
	}
	rs, err := LoadRules(p)
	if err != nil {
		t.Fatal(err)
	}
	// A custom policy replaces the default: only SSH-01 exists now.
	e := NewEngine(rs, loadPool(t, nil))
	checkVerdict(t, "custom ssh", e, fl("tcp", fe+":40000", int1+":22", "tls", tls), want{rule: "SSH-01"})
	checkVerdict(t, "custom: 443 no longer allowed", e, fl("tcp", cli, accVIP+":443", "tls", tls), want{kind: KindUnexpectedPort})
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, nil, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, r := range DefaultRules().Rules {
		if !strings.Contains(out, "\n"+r.ID+" ") {
			t.Errorf("table lacks %s", r.ID)
		}
	}
	if !strings.Contains(out, "needs federation_ocs2007") || !strings.Contains(out, "No topology given") {
		t.Errorf("no-topology table:\n%s", out)
	}
	b.Reset()
	topo := loadPool(t, func(tp *Topology) { tp.Options.XMPP = false })
	if err := WriteTable(&b, nil, topo); err != nil {
		t.Fatal(err)
	}
	out = b.String()
	for _, w := range []string{"disabled (xmpp: false)", "enabled (federation_ocs2007)", "198.51.100.13 (edge1), 198.51.100.23 (edge2)",
		"172.16.1.0/24", "mac 00:00:5e:00:01:01", "tcp/50000-59999 (from side)", "hlb → access (or via HLB MAC)"} {
		if !strings.Contains(out, w) {
			t.Errorf("table lacks %q:\n%s", w, out)
		}
	}
}
