package main

// Topology files in the CONTRACT's YAML format. They are generated from
// the same constants as the packets (hosts.go) so the two cannot drift.

import (
	"fmt"
	"strings"
)

// topoYAML renders the sample pool; xmpp and ocs2007 set the options.
func topoYAML(name string, xmpp, ocs2007 bool, header string) string {
	var b strings.Builder
	b.WriteString(header)
	fmt.Fprintf(&b, "version: 1\nname: %s\noptions:\n  xmpp: %v\n  federation_ocs2007: %v\n", name, xmpp, ocs2007)
	fmt.Fprintf(&b, "vips:\n  access: %s\n  webconf: %s\n  av: %s\n  internal: %s\n", vipAccess, vipWebconf, vipAV, vipInternal)
	b.WriteString("nodes:\n")
	for _, n := range nodes {
		fmt.Fprintf(&b, "  - name: %s\n    access: %s\n    webconf: %s\n    av: %s\n    internal: %s\n", n.name, n.access, n.webconf, n.av, n.intern)
	}
	fmt.Fprintf(&b, "hlb:\n  addresses: [%s, %s]\n  macs: [%s, %s]\n", hlbExt, hlbInt, macString(macHLBExt), macString(macHLBInt))
	b.WriteString("internal:\n  front_end: [172.16.1.0/24]\n  director: []\n  sba: []\n")
	fmt.Fprintf(&b, "federation:\n  partners: [%s]\n", partner)
	return b.String()
}

func macString(m mac) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

const topoHeader = "# Sample pool for edgeaudit's generated captures (samples/gen writes this file).\n" +
	"# Two Edge nodes behind a hardware load balancer: 3 VIPs + 3 public addresses per node = 9 (HLB-04).\n"

// badTopology has two defects on known lines, documented in README.md:
// line 15 holds an address that does not parse (198.51.100.300), and
// edge2 lists no A/V address, leaving 8 public addresses (HLB-04 wants 9).
func badTopology() string {
	s := topoYAML("contoso edge pool (broken on purpose)", true, false,
		"# Deliberately broken: line 15 has an invalid address; edge2 has no av address (8 public addresses, HLB-04).\n")
	s = strings.Replace(s, "    webconf: 198.51.100.12\n", "    webconf: 198.51.100.300\n", 1)
	s = strings.Replace(s, "    av: 198.51.100.23\n", "", 1)
	return s
}

func genTopologies(g *gen) error {
	files := []struct{ name, body string }{
		{"topology.yaml", topoYAML("contoso edge pool", true, false, topoHeader)},
		{"topology-noxmpp.yaml", topoYAML("contoso edge pool (no XMPP)", false, false, topoHeader+"# XMPP proxy and gateway not deployed (GEN-04).\n")},
		{"topology-ocs2007.yaml", topoYAML("contoso edge pool (OCS 2007 federation)", true, true, topoHeader+"# Federation with OCS 2007 enabled: EXT-N-05..07 are open.\n")},
		{"topology-bad.yaml", badTopology()},
	}
	for _, f := range files {
		if err := g.writeFile(f.name, []byte(f.body), 0); err != nil {
			return err
		}
	}
	return nil
}
