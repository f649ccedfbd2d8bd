package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Problem is one thing `policy check` found wrong or worth knowing in a
// topology file.
type Problem struct {
	Severity    Severity
	Requirement string // HLB-04… when the problem breaks a requirement
	Where       string // file:line:column of the offending entry
	Message     string
}

func (p Problem) String() string {
	s := fmt.Sprintf("%s: %s: %s", p.Where, p.Severity, p.Message)
	if p.Requirement != "" {
		s += " [" + p.Requirement + "]"
	}
	return s
}

// Finding turns the problem into a report finding of kind "topology".
func (p Problem) Finding() Finding {
	return Finding{Kind: KindTopology, Severity: p.Severity, Requirement: p.Requirement,
		Message: p.Message, Evidence: []Evidence{{Detail: p.Where}}, Count: 1}
}

// owned is one single address the topology assigns, with where and as what.
type owned struct {
	a     netip.Addr
	label string // "vips.access", "edge1.av"
	where string
}

// Check validates a parsed topology beyond syntax: missing VIPs and node
// addresses, addresses used twice, prefixes that swallow Edge addresses, and
// HLB-04 (3 external VIPs + 3 external addresses per node, per IP family).
func Check(t *Topology) []Problem {
	var ps []Problem
	add := func(sev Severity, req, where, format string, args ...any) {
		ps = append(ps, Problem{Severity: sev, Requirement: req, Where: where, Message: fmt.Sprintf(format, args...)})
	}
	if !t.Options.XMPPSet {
		add(Info, "GEN-04", t.at("options"), "options.xmpp is not set; assuming false, so 5269 and 23456 traffic is reported as unexpected")
	}
	if !t.Options.OCS2007Set {
		add(Info, "", t.at("options"), "options.federation_ocs2007 is not set; assuming false, so inbound traffic to the relay range 50000-59999 is reported as unexpected")
	}
	vips := []struct {
		key  string
		as   []netip.Addr
		req  string
		desc string
	}{
		{"access", t.VIPs.Access, "HLB-04", "Access Edge VIP"},
		{"webconf", t.VIPs.WebConf, "HLB-04", "Web Conferencing Edge VIP"},
		{"av", t.VIPs.AV, "HLB-04", "A/V Edge VIP"},
		{"internal", t.VIPs.Internal, "", "internal VIP"},
	}
	var all []owned
	for _, v := range vips {
		if len(v.as) == 0 {
			add(Error, v.req, t.at("vips"), "vips.%s is missing: the %s must be listed", v.key, v.desc)
		}
		all = append(all, ownedList(v.as, "vips."+v.key, t.at("vips."+v.key))...)
		checkFamilies(&ps, v.as, "vips."+v.key, t.at("vips."+v.key))
	}
	if len(t.Nodes) == 0 {
		add(Error, "HLB-04", t.at("nodes"), "no Edge nodes are listed under nodes")
	}
	names := map[string]bool{}
	for i, n := range t.Nodes {
		base := fmt.Sprintf("nodes[%d]", i)
		label := n.Name
		if label == "" {
			label = base
			add(Error, "", t.at(base), "%s has no name", base)
		} else if names[n.Name] {
			add(Error, "", t.at(base), "node name %q is used twice", n.Name)
		}
		names[n.Name] = true
		for _, f := range []struct {
			key string
			as  []netip.Addr
		}{{"access", n.Access}, {"webconf", n.WebConf}, {"av", n.AV}, {"internal", n.Internal}} {
			if len(f.as) == 0 {
				add(Error, "HLB-04", t.at(base), "node %s has no %s address", label, f.key)
			}
			all = append(all, ownedList(f.as, label+"."+f.key, t.at(base+"."+f.key))...)
			checkFamilies(&ps, f.as, label+"."+f.key, t.at(base+"."+f.key))
		}
	}
	for _, p := range t.HLB.Addresses {
		if p.IsSingleIP() {
			all = append(all, owned{p.Addr(), "hlb.addresses", t.at("hlb.addresses")})
		}
	}
	// The same address in two roles that must be distinct.
	seen := map[netip.Addr]owned{}
	for _, o := range all {
		if prev, dup := seen[o.a]; dup {
			add(Error, "HLB-04", o.where, "%s is listed as both %s and %s; every VIP, node interface and HLB address must be distinct", o.a, prev.label, o.label)
			continue
		}
		seen[o.a] = o
	}
	// Prefix lists that contain Edge, VIP or HLB addresses.
	lists := []struct {
		key string
		ps  []netip.Prefix
	}{
		{"hlb.addresses", t.HLB.Addresses},
		{"internal.front_end", t.Internal.FrontEnd},
		{"internal.director", t.Internal.Director},
		{"internal.sba", t.Internal.SBA},
		{"federation.partners", t.Federation.Partners},
	}
	for _, l := range lists {
		for _, p := range l.ps {
			for _, o := range all {
				if o.label == l.key || !p.Contains(o.a) {
					continue
				}
				if l.key == "hlb.addresses" && p.IsSingleIP() {
					continue // reported above as a duplicate
				}
				add(Error, "", t.at(l.key), "%s entry %s contains %s (%s); an address must have one role", l.key, p, o.a, o.label)
			}
		}
	}
	for i, a := range lists {
		for _, b := range lists[i+1:] {
			for _, pa := range a.ps {
				for _, pb := range b.ps {
					if pa.Overlaps(pb) {
						sev := Warning
						if a.key == "hlb.addresses" || b.key == "federation.partners" {
							sev = Error
						}
						add(sev, "", t.at(b.key), "%s entry %s overlaps %s entry %s", b.key, pb, a.key, pa)
					}
				}
			}
		}
	}
	ps = append(ps, checkHLB04(t)...)
	if len(t.HLB.Addresses) == 0 {
		add(Warning, "HLB-02", t.at("hlb.addresses"), "hlb.addresses is empty: SNAT on A/V (HLB-02) and the inside legs of Access and Web Conferencing VIPs cannot be recognised")
	}
	if len(t.HLB.MACs) == 0 {
		add(Info, "HLB-10", t.at("hlb.macs"), "hlb.macs is empty: default-gateway (HLB-10), HLB bypass and direct-server-return checks need the HLB's MAC addresses")
	}
	return ps
}

func ownedList(as []netip.Addr, label, where string) []owned {
	out := make([]owned, 0, len(as))
	for _, a := range as {
		out = append(out, owned{a, label, where})
	}
	return out
}

// checkFamilies: an interface or VIP holds at most one address per family.
func checkFamilies(ps *[]Problem, as []netip.Addr, label, where string) {
	var v4, v6 int
	for _, a := range as {
		if a.Is4() {
			v4++
		} else {
			v6++
		}
	}
	if v4 > 1 || v6 > 1 {
		*ps = append(*ps, Problem{Severity: Error, Requirement: "HLB-04", Where: where,
			Message: fmt.Sprintf("%s lists %d addresses (%d IPv4, %d IPv6); give one per IP family", label, len(as), v4, v6)})
	}
}

// checkHLB04 counts the distinct public (external) addresses per IP family:
// HLB-04 wants one per VIP (3) plus one per node interface (3 per node).
func checkHLB04(t *Topology) []Problem {
	var ps []Problem
	for _, fam := range []struct {
		name string
		is   func(netip.Addr) bool
	}{{"IPv4", netip.Addr.Is4}, {"IPv6", netip.Addr.Is6}} {
		set := map[netip.Addr]bool{}
		count := func(as []netip.Addr) {
			for _, a := range as {
				if fam.is(a) {
					set[a] = true
				}
			}
		}
		count(t.VIPs.Access)
		count(t.VIPs.WebConf)
		count(t.VIPs.AV)
		for _, n := range t.Nodes {
			count(n.Access)
			count(n.WebConf)
			count(n.AV)
		}
		if len(set) == 0 {
			continue
		}
		want := 3 + 3*len(t.Nodes)
		if len(set) != want {
			addrs := make([]netip.Addr, 0, len(set))
			for a := range set {
				addrs = append(addrs, a)
			}
			slices.SortFunc(addrs, netip.Addr.Compare)
			strs := make([]string, len(addrs))
			for i, a := range addrs {
				strs[i] = a.String()
			}
			ps = append(ps, Problem{Severity: Error, Requirement: "HLB-04", Where: t.at("vips"),
				Message: fmt.Sprintf("found %d distinct public %s addresses, expected %d (3 VIPs + 3 per node × %d nodes): %s",
					len(set), fam.name, want, len(t.Nodes), strings.Join(strs, ", "))})
		}
	}
	return ps
}
