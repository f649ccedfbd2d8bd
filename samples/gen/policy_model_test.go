package main

// An independent, deliberately small reading of the 33 port rules of
// reference/edge-port-policy.md, used only to check that every manifest
// expectation is what the rule table says — so a slip in the generator's
// table cannot hide behind a golden file. Port-side convention: the A/V
// relay range 50000-59999 is the Edge's own port (client side for
// EXT-N-04/05, server side for EXT-N-06/07); every other port is the
// server's. Protocol is not modelled here: protocol-mismatch lines must
// match their rule by roles and port.

import (
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

type modelRule struct {
	id       string
	from, to []string
	tr       string
	lo, hi   uint16
	onClient bool // port is the client's (relay range, outbound)
	option   string
}

func r(id, from, to, tr, ports string, onClient bool, option string) modelRule {
	lo, hi, _ := strings.Cut(ports, "-")
	if hi == "" {
		hi = lo
	}
	a, _ := strconv.Atoi(lo)
	b, _ := strconv.Atoi(hi)
	return modelRule{id, strings.Split(from, ","), strings.Split(to, ","), tr, uint16(a), uint16(b), onClient, option}
}

var model = []modelRule{
	r("EXT-N-01", "access", "any", "tcp", "80", false, ""),
	r("EXT-N-02", "access", "any", "tcp", "53", false, ""),
	r("EXT-N-03", "access", "any", "udp", "53", false, ""),
	r("EXT-N-04", "av", "any", "tcp", "50000-59999", true, ""),
	r("EXT-N-05", "av", "any", "udp", "50000-59999", true, "ocs2007"),
	r("EXT-N-06", "any", "av", "tcp", "50000-59999", false, "ocs2007"),
	r("EXT-N-07", "any", "av", "udp", "50000-59999", false, "ocs2007"),
	r("EXT-N-08", "av", "any", "udp", "3478", false, ""),
	r("EXT-N-09", "any", "av", "udp", "3478", false, ""),
	r("EXT-N-10", "any", "av", "tcp", "443", false, ""),
	r("EXT-N-11", "av", "any", "tcp", "443", false, ""),
	r("INT-N-01", "front-end", "edge-internal", "tcp", "23456", false, "xmpp"),
	r("INT-N-02", "front-end", "edge-internal", "tcp", "4443", false, ""),
	r("INT-N-03", "director,front-end", "edge-internal", "tcp", "8057", false, ""),
	r("INT-N-04", "director,front-end,sba", "edge-internal", "udp", "3478", false, ""),
	r("INT-N-05", "director,front-end,sba", "edge-internal", "tcp", "443", false, ""),
	r("INT-N-06", "any", "edge-internal", "tcp", "50001", false, ""),
	r("INT-N-07", "any", "edge-internal", "tcp", "50002", false, ""),
	r("INT-N-08", "any", "edge-internal", "tcp", "50003", false, ""),
	r("EXT-V-01", "any", "access-vip", "tcp", "5269", false, "xmpp"),
	r("EXT-V-02", "access-vip", "any", "tcp", "5269", false, "xmpp"),
	r("EXT-V-03", "any", "access-vip", "tcp", "443", false, ""),
	r("EXT-V-04", "any", "access-vip", "tcp", "5061", false, ""),
	r("EXT-V-05", "access-vip", "federation-partner", "tcp", "5061", false, ""),
	r("EXT-V-06", "any", "webconf-vip", "tcp", "443", false, ""),
	r("EXT-V-07", "any", "av-vip", "udp", "3478", false, ""),
	r("EXT-V-08", "any", "av-vip", "tcp", "443", false, ""),
	r("INT-V-01", "director,front-end", "internal-vip", "tcp", "5061", false, ""),
	r("INT-V-02", "internal-vip,edge-internal", "director,front-end", "tcp", "5061", false, ""),
	r("INT-V-03", "front-end,sba", "internal-vip", "tcp", "5062", false, ""),
	r("INT-V-04", "any", "internal-vip", "udp", "3478", false, ""),
	r("INT-V-05", "any", "internal-vip", "tcp", "443", false, ""),
	r("INT-V-06", "internal-vip", "any", "tcp", "443", false, ""),
}

func modelRoles(a netip.Addr) map[string]bool {
	m := map[string]bool{"any": true}
	switch a {
	case vipAccess:
		m["access-vip"] = true
	case vipWebconf:
		m["webconf-vip"] = true
	case vipAV:
		m["av-vip"] = true
	case vipInternal:
		m["internal-vip"] = true
	case partner:
		m["federation-partner"] = true
	case hlbExt, hlbInt:
		m["hlb"] = true
	}
	for _, n := range nodes {
		switch a {
		case n.access:
			m["access"] = true
		case n.webconf:
			m["webconf"] = true
		case n.av:
			m["av"] = true
		case n.intern:
			m["edge-internal"] = true
		}
	}
	if netip.MustParsePrefix("172.16.1.0/24").Contains(a) {
		m["front-end"] = true
	}
	return m
}

func modelMatch(tr string, cl, sv netip.AddrPort, opts map[string]bool) []string {
	var out []string
	cr, sr := modelRoles(cl.Addr()), modelRoles(sv.Addr())
	any := func(roles []string, have map[string]bool) bool {
		for _, x := range roles {
			if have[x] {
				return true
			}
		}
		return false
	}
	for _, ru := range model {
		if ru.tr != tr || (ru.option != "" && !opts[ru.option]) || !any(ru.from, cr) || !any(ru.to, sr) {
			continue
		}
		p := sv.Port()
		if ru.onClient {
			p = cl.Port()
		}
		if p >= ru.lo && p <= ru.hi {
			out = append(out, ru.id)
		}
	}
	return out
}

// TestManifestAgainstModel: every manifest verdict agrees with the rule table.
func TestManifestAgainstModel(t *testing.T) {
	if len(model) != 33 {
		t.Fatalf("model has %d rules", len(model))
	}
	dir, _ := shared(t)
	rows := readManifest(t, filepath.Join(dir, "rules/manifest.tsv"))
	rows = append(rows, readManifest(t, filepath.Join(dir, "unexpected-ports.tsv"))...)
	for _, row := range rows {
		opts := map[string]bool{"xmpp": row["topology"] != topoNoXMPP, "ocs2007": row["topology"] == topoOCS}
		got := modelMatch(row["transport"], netip.MustParseAddrPort(row["client"]), netip.MustParseAddrPort(row["server"]), opts)
		has := func(id string) bool {
			for _, g := range got {
				if g == id {
					return true
				}
			}
			return false
		}
		exp, find := row["expect_rule"], row["expect_finding"]
		switch {
		case exp != "-":
			// The first id is the direct reading; later ids are inside-leg
			// readings of a VIP rule, which this model does not resolve.
			if id := strings.Split(exp, "|")[0]; !has(id) {
				t.Errorf("%s %s -> %s: expects %s, table gives %v", row["file"], row["client"], row["server"], id, got)
			}
		case strings.HasPrefix(find, "protocol-mismatch:"):
			if id := strings.TrimPrefix(find, "protocol-mismatch:"); !has(id) || len(got) != 1 {
				t.Errorf("%s %s -> %s: mismatch on %s but ports match %v", row["file"], row["client"], row["server"], id, got)
			}
		default:
			if len(got) != 0 {
				t.Errorf("%s %s -> %s (%s): expects no rule, table gives %v", row["file"], row["client"], row["server"], row["note"], got)
			}
		}
	}
}
