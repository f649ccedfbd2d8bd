package tui

import (
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// The fixture is a small SNAT-on-A/V incident seen outside and inside the
// load balancer, built by hand so the model tests do not depend on the
// pipeline: what matters here is what the UI does with a report.

func strp(s string) *string { return &s }

var t0 = time.Date(2026, 3, 10, 9, 15, 0, 0, time.UTC)

func ts(ms int) string {
	return report.TimeString(t0.Add(time.Duration(ms) * time.Millisecond).UnixNano())
}

func fixtureFlows() []report.Flow {
	mk := func(id, point, tr, c, s, app, detail, cr, sr string, rule *string, pk, by report.Dirs, first, last int, finds ...string) report.Flow {
		return report.Flow{ID: id, Point: point, Transport: tr, Client: c, Server: s, App: app, AppDetail: detail,
			ClientRole: cr, ServerRole: sr, Rule: rule, Packets: pk, Bytes: by, First: ts(first), Last: ts(last),
			FirstNS: t0.Add(time.Duration(first) * time.Millisecond).UnixNano(), Findings: finds,
			CommunityID: "1:" + id, Evidence: "STUN magic cookie and MS-TURN attributes", End: "idle",
			Details: map[string]string{"stun_method": "allocate"}}
	}
	return []report.Flow{
		mk("f1", "outside.pcap", "udp", "203.0.113.10:62623", "198.51.100.102:3478", "stun", "ms-turn", "any", "av-vip", strp("EXT-V-07"),
			report.Dirs{C2S: 21, S2C: 22}, report.Dirs{C2S: 4046, S2C: 3441}, 10, 2400),
		mk("f2", "inside.pcap", "udp", "198.51.100.250:62623", "198.51.100.13:3478", "stun", "ms-turn", "hlb", "av", nil,
			report.Dirs{C2S: 23, S2C: 24}, report.Dirs{C2S: 4428, S2C: 3739}, 11, 2401, "A"),
		mk("f3", "outside.pcap", "tcp", "203.0.113.25:60088", "198.51.100.100:443", "sip", "tls", "any", "access-vip", strp("EXT-V-03"),
			report.Dirs{C2S: 15, S2C: 8}, report.Dirs{C2S: 2778, S2C: 2699}, 50, 1900),
		mk("f4", "outside.pcap", "tcp", "203.0.113.99:51000", "198.51.100.11:22", "unknown", "", "any", "access", nil,
			report.Dirs{C2S: 3, S2C: 0}, report.Dirs{C2S: 222, S2C: 0}, 300, 3300, "B"),
		mk("f5", "inside.pcap", "tcp", "172.16.1.20:49152", "172.16.0.100:5061", "sip", "mtls", "front-end", "internal-vip", strp("INT-V-01"),
			report.Dirs{C2S: 40, S2C: 38}, report.Dirs{C2S: 120000, S2C: 98000}, 5, 62000),
		mk("f6", "outside.pcap", "tcp", "198.51.100.100:5061", "192.0.2.50:5061", "sip", "mtls", "access-vip", "federation-partner", nil,
			report.Dirs{C2S: 6, S2C: 0}, report.Dirs{C2S: 1300, S2C: 0}, 700, 9700, "C"),
	}
}

func fixtureFindings() []report.Finding {
	return []report.Finding{
		{ID: "A", Kind: "snat-av", Severity: "error", Requirement: "HLB-02", Rule: "EXT-V-07", Count: 1,
			Message:     "A/V traffic to 198.51.100.13:3478 arrives from the load balancer's SNAT address 198.51.100.250 instead of the client 203.0.113.10",
			Consequence: "the A/V Edge answers the load balancer, not the client: media candidates are wrong and calls from outside have no audio or video",
			Fix:         "exempt the A/V VIP from SNAT on the load balancer (source address persistence without translation)",
			Flows:       []string{"f1", "f2"},
			Evidence: []report.Evidence{
				{Point: "outside.pcap", Packet: 84, Time: ts(10), Detail: "STUN Allocate 203.0.113.10:62623 -> 198.51.100.102:3478 txid 5a1f..."},
				{Point: "inside.pcap", Packet: 79, Time: ts(11), Detail: "same transaction 198.51.100.250:62623 -> 198.51.100.13:3478 (source rewritten)"},
			},
			WiresharkFilter: "stun.id == 5a1f00112233445566778899 || (ip.addr==198.51.100.250 && udp.port==3478)"},
		{ID: "B", Kind: "unexpected-port", Severity: "warning", Requirement: "GEN-01", Count: 3,
			Message: "tcp 198.51.100.11:22 (access) is reached from the Internet; no rule allows it",
			Fix:     "close port 22 on the Edge's external interface", Flows: []string{"f4"},
			Evidence:        []report.Evidence{{Point: "outside.pcap", Packet: 301, Time: ts(300), Detail: "TCP SYN 203.0.113.99:51000 -> 198.51.100.11:22"}},
			WiresharkFilter: "ip.addr==198.51.100.11 && tcp.port==22"},
		{ID: "C", Kind: "one-way-sip", Severity: "warning", Requirement: "GEN-02", Count: 1,
			Message:         "SIP from access-vip 198.51.100.100 to partner 192.0.2.50:5061 gets no answer (6 packets, none back)",
			Flows:           []string{"f6"},
			Evidence:        []report.Evidence{{Point: "outside.pcap", Packet: 702, Time: ts(700), Detail: "TCP SYN, no SYN-ACK"}},
			WiresharkFilter: "ip.addr==192.0.2.50 && tcp.port==5061"},
		{ID: "D", Kind: "input", Severity: "info", Count: 2,
			Message:  "inside.pcap: 2 frames could not be decoded and were skipped",
			Evidence: []report.Evidence{{Point: "inside.pcap", Packet: 5, Detail: "not decodable"}}},
	}
}

// fixtureReport is the final report of the fixture, renumbered by Finish.
func fixtureReport() *report.Report {
	r := &report.Report{
		Inputs: []report.Input{
			{Path: "/captures/outside.pcap", Point: "outside.pcap", Format: "pcap", Compression: "none", Packets: 304, Bytes: 60169, First: ts(10), Last: ts(9700)},
			{Path: "/captures/inside.pcap", Point: "inside.pcap", Format: "pcap", Compression: "gzip", Packets: 306, Bytes: 61000, First: ts(5), Last: ts(62000), DecodeErrors: 2},
		},
		Topology: report.Topology{Source: "samples/topology.yaml"},
		Flows:    fixtureFlows(),
		Findings: fixtureFindings(),
	}
	r.Finish()
	return r
}

// fixtureProgress is a mid-load snapshot with fixed numbers, so the
// rates and times it implies are the same on every run.
var fixtureProgress = audit.Progress{Packets: 250_000, Bytes: 180_000_000, BytesRead: 400_000_000, BytesTotal: 1_000_000_000,
	Flows: 6, Findings: 4, Elapsed: 2 * time.Second}

// streamed returns the fixture as the pipeline would stream it: flows and
// findings in batches, with progress.
func streamed() batchMsg {
	b := batchMsg{Progress: fixtureProgress, HasProg: true}
	for _, f := range fixtureFlows() {
		f := f
		b.Flows = append(b.Flows, &f)
	}
	for _, f := range fixtureFindings() {
		f := f
		b.Findings = append(b.Findings, &f)
	}
	return b
}

// newTestModel returns a model at w×h with plain styles and no feed.
func newTestModel(w, h int) *Model {
	st := PlainStyles()
	m := New(Config{Styles: &st, Points: []PointSource{{Point: "outside.pcap", File: "/captures/outside.pcap", Iface: -1},
		{Point: "inside.pcap", File: "/captures/inside.pcap", Iface: -1}}, Title: "test"}, nil)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

func send(m *Model, msgs ...tea.Msg) {
	for _, msg := range msgs {
		m.Update(msg)
	}
}

// press returns the key press message for a key name as Bubble Tea names
// keys: "enter", "esc", "tab", "/" or a letter.
func press(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)
	if len(r) != 1 {
		panic(fmt.Sprintf("press: unknown key %q", k))
	}
	return tea.KeyPressMsg{Code: r[0], Text: k}
}

func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func tea_resize(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }

type auditSink = audit.Sink

func fmtType(v any) string { return fmt.Sprintf("%T", v) }
