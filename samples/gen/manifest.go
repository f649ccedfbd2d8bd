package main

// Flow manifests: one tab-separated line per generated flow with the
// verdict edgeaudit must reach, so tests can check each verdict from
// first principles instead of trusting a golden report.
//
// Columns:
//
//	file            capture, relative to samples/
//	topology        topology file the expectation holds for, relative to samples/
//	transport       tcp | udp
//	client          ip:port of the side that opens the flow
//	server          ip:port
//	app             what the payload is (see README.md)
//	case            allowed | wrong-direction | wrong-port | wrong-role | wrong-protocol | option-off
//	for_rule        the port rule this line exercises
//	expect_rule     rule id(s) that must be assigned to the flow, "|" between acceptable ids; "-" = none
//	expect_finding  "-" or kind:ID, e.g. unexpected-port:GEN-01, protocol-mismatch:EXT-V-08
//	note            one sentence for a human

import (
	"fmt"
	"net/netip"
	"strings"
)

type mfLine struct {
	file, topology, transport string
	client, server            netip.AddrPort
	app, kase, forRule        string
	expectRule, expectFinding string
	note                      string
}

const manifestHeader = "file\ttopology\ttransport\tclient\tserver\tapp\tcase\tfor_rule\texpect_rule\texpect_finding\tnote\n"

func manifestBytes(lines []mfLine) []byte {
	var b strings.Builder
	b.WriteString(manifestHeader)
	for _, l := range lines {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.file, l.topology, l.transport,
			l.client, l.server, l.app, l.kase, l.forRule, dash(l.expectRule), dash(l.expectFinding), l.note)
	}
	return []byte(b.String())
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
