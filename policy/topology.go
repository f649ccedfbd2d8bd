package policy

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// Topology is a parsed topology file (CONTRACT.md "Topology file"): which
// address plays which role in and around the Edge pool.
type Topology struct {
	Source     string // the file it was read from, or "inferred"
	Version    int
	Name       string
	Options    Options
	VIPs       VIPs
	Nodes      []Node
	HLB        HLB
	Internal   Internal
	Federation Federation

	where map[string]string // "vips.access" → "file:line:col", for Check
}

// Options switch optional rules on (edge-port-policy.md GEN-04, OCS 2007 rows).
type Options struct {
	XMPP                bool // XMPP proxy (5269) and gateway (23456) deployed
	FederationOCS2007   bool // federation with OCS 2007 partners: relay range open inbound
	XMPPSet, OCS2007Set bool // the file set the option explicitly
}

// VIPs are the HLB virtual IPs; each may hold an IPv4 and an IPv6 address.
type VIPs struct {
	Access, WebConf, AV, Internal []netip.Addr
}

// Node is one Edge server: its real service addresses and, optionally, the
// MAC addresses of its interfaces (for direct-server-return checks).
type Node struct {
	Name                          string
	Access, WebConf, AV, Internal []netip.Addr
	MACs                          [][6]byte
}

// HLB is the load balancer's own addresses (self IPs, SNAT pool) and MACs.
type HLB struct {
	Addresses []netip.Prefix
	MACs      [][6]byte
}

// Internal lists the internal servers the Edge talks to.
type Internal struct {
	FrontEnd, Director, SBA []netip.Prefix
}

// Federation lists known federation partners' Edges. When empty, rules whose
// far side is federation-partner accept any address.
type Federation struct {
	Partners []netip.Prefix
}

// LoadTopology reads and validates a topology file.
func LoadTopology(path string) (*Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading topology: %w", err)
	}
	return ParseTopology(data, path)
}

// ParseTopology parses topology YAML; name labels error positions
// ("name:line:column: message"). All errors found are returned, joined.
func ParseTopology(data []byte, name string) (*Topology, error) {
	y := &yfile{name: name, data: data}
	root, err := y.parse()
	if err != nil {
		return nil, err
	}
	t := &Topology{Source: name, where: map[string]string{}}
	top := y.mapping(root, "topology", "version", "name", "options", "vips", "nodes", "hlb", "internal", "federation")
	if e, ok := top["version"]; ok {
		if v, ok := y.integer(e.val, "version"); ok {
			if v != 1 {
				y.fail(e.val, "version %d is not supported (this edgeaudit reads version 1)", v)
			}
			t.Version = v
		}
	} else {
		y.fail(root, "version is missing (add \"version: 1\")")
	}
	if e, ok := top["name"]; ok {
		t.Name, _ = y.str(e.val, "name")
	}
	t.where["options"], t.where["hlb"], t.where["hlb.macs"], t.where["hlb.addresses"] = y.pos(root), y.pos(root), y.pos(root), y.pos(root)
	if e, ok := top["options"]; ok {
		t.where["options"] = y.pos(e.key)
		m := y.mapping(e.val, "options", "xmpp", "federation_ocs2007")
		if o, ok := m["xmpp"]; ok {
			t.Options.XMPP, t.Options.XMPPSet = y.boolean(o.val, "options.xmpp")
		}
		if o, ok := m["federation_ocs2007"]; ok {
			t.Options.FederationOCS2007, t.Options.OCS2007Set = y.boolean(o.val, "options.federation_ocs2007")
		}
	}
	t.where["vips"] = y.pos(root)
	if e, ok := top["vips"]; ok {
		t.where["vips"] = y.pos(e.key)
		m := y.mapping(e.val, "vips", "access", "webconf", "av", "internal")
		for _, f := range []struct {
			key string
			dst *[]netip.Addr
		}{{"access", &t.VIPs.Access}, {"webconf", &t.VIPs.WebConf}, {"av", &t.VIPs.AV}, {"internal", &t.VIPs.Internal}} {
			key, dst := f.key, f.dst
			if v, ok := m[key]; ok {
				*dst = y.addrs(v.val, "vips."+key)
				t.where["vips."+key] = y.pos(v.val)
			}
		}
	}
	t.where["nodes"] = y.pos(root)
	if e, ok := top["nodes"]; ok {
		t.where["nodes"] = y.pos(e.key)
		for i, item := range y.seq(e.val, "nodes", false) {
			t.Nodes = append(t.Nodes, y.node(t, i, item))
		}
	}
	if e, ok := top["hlb"]; ok {
		m := y.mapping(e.val, "hlb", "addresses", "macs")
		t.where["hlb"], t.where["hlb.macs"], t.where["hlb.addresses"] = y.pos(e.key), y.pos(e.key), y.pos(e.key)
		if v, ok := m["addresses"]; ok {
			t.HLB.Addresses, _ = y.prefixes(v.val, "hlb.addresses")
			t.where["hlb.addresses"] = y.pos(v.val)
		}
		if v, ok := m["macs"]; ok {
			t.HLB.MACs = y.macs(v.val, "hlb.macs")
			t.where["hlb.macs"] = y.pos(v.val)
		}
	}
	if e, ok := top["internal"]; ok {
		m := y.mapping(e.val, "internal", "front_end", "director", "sba")
		for _, f := range []struct {
			key string
			dst *[]netip.Prefix
		}{{"front_end", &t.Internal.FrontEnd}, {"director", &t.Internal.Director}, {"sba", &t.Internal.SBA}} {
			key, dst := f.key, f.dst
			if v, ok := m[key]; ok {
				*dst, _ = y.prefixes(v.val, "internal."+key)
				t.where["internal."+key] = y.pos(v.val)
			}
		}
	}
	if e, ok := top["federation"]; ok {
		m := y.mapping(e.val, "federation", "partners")
		if v, ok := m["partners"]; ok {
			t.Federation.Partners, _ = y.prefixes(v.val, "federation.partners")
			t.where["federation.partners"] = y.pos(v.val)
		}
	}
	if err := y.err(); err != nil {
		return nil, err
	}
	return t, nil
}

func (y *yfile) node(t *Topology, i int, item *yaml.Node) Node {
	what := fmt.Sprintf("nodes[%d]", i)
	n := Node{}
	m := y.mapping(item, what, "name", "access", "webconf", "av", "internal", "macs")
	t.where[what] = y.pos(item)
	if v, ok := m["name"]; ok {
		n.Name, _ = y.str(v.val, what+".name")
	}
	for _, f := range []struct {
		key string
		dst *[]netip.Addr
	}{{"access", &n.Access}, {"webconf", &n.WebConf}, {"av", &n.AV}, {"internal", &n.Internal}} {
		key, dst := f.key, f.dst
		if v, ok := m[key]; ok {
			*dst = y.addrs(v.val, what+"."+key)
			t.where[what+"."+key] = y.pos(v.val)
		}
	}
	if v, ok := m["macs"]; ok {
		n.MACs = y.macs(v.val, what+".macs")
	}
	return n
}

// at returns the recorded position of a key path, or the file name.
func (t *Topology) at(path string) string {
	if p, ok := t.where[path]; ok {
		return p
	}
	if t.Source != "" {
		return filepath.Clean(t.Source)
	}
	return "topology"
}
