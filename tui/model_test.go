package tui

import (
	"context"
	"regexp"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/edgeaudit/edgeaudit/policy/report"
)

func findingIDs(p *findingsPane) []string {
	p.sync()
	var ids []string
	for _, f := range p.rows {
		ids = append(ids, f.ID)
	}
	return ids
}

func flowIDs(m *Model) []string {
	p := m.flows
	p.sync()
	var ids []string
	for _, i := range p.v.rows {
		ids = append(ids, m.ctx.Data.Flows[i].ID)
	}
	return ids
}

func TestFindingsWorstFirst(t *testing.T) {
	m := newTestModel(80, 24)
	send(m, streamed(), press("2"))
	// A error; B and C warnings ordered by kind (one-way-sip < unexpected-port); D info.
	if got := strings.Join(findingIDs(m.findings), " "); got != "A C B D" {
		t.Fatalf("order %q, want A C B D", got)
	}
	send(m, doneMsg{Report: fixtureReport()})
	if got := strings.Join(findingIDs(m.findings), " "); got != "F1 F2 F3 F4" {
		t.Fatalf("after the final report: %q, want the renumbered F1..F4", got)
	}
}

func TestTextFilter(t *testing.T) {
	m := newTestModel(80, 24)
	send(m, streamed(), press("2"), press("/"))
	typeText(m, "(ACCESS)") // case does not matter
	if got := strings.Join(findingIDs(m.findings), " "); got != "B" {
		t.Fatalf("filter '(ACCESS)': %q, want B", got)
	}
	send(m, press("enter"))
	if !strings.Contains(m.statusLine(), `text="(access)"`) {
		t.Errorf("status bar does not show the filter: %q", m.statusLine())
	}
	send(m, press("/"), press("esc"))
	if n, all := m.findings.Count(); n != all {
		t.Errorf("esc should clear the filter: %d of %d shown", n, all)
	}
	// Flows have their own text filter: evidence of which app.
	send(m, press("3"), press("/"))
	typeText(m, "mtls")
	if got := strings.Join(flowIDs(m), " "); got != "f5 f6" {
		t.Errorf("flows matching mtls: %q, want f5 f6", got)
	}
}

func TestQuickFilters(t *testing.T) {
	m := newTestModel(80, 24)
	send(m, streamed(), press("2"), press("s"))
	if got := strings.Join(findingIDs(m.findings), " "); got != "A" {
		t.Fatalf("severity error: %q, want A", got)
	}
	send(m, press("3"))
	if got := strings.Join(flowIDs(m), " "); got != "f2" {
		t.Fatalf("flows with an error finding: %q, want f2", got)
	}
	if !strings.Contains(m.statusLine(), "sev=error") {
		t.Errorf("status bar: %q", m.statusLine())
	}
	send(m, press("s")) // warning
	if got := strings.Join(flowIDs(m), " "); got != "f4 f6" {
		t.Fatalf("flows with a warning: %q, want f4 f6", got)
	}
	send(m, press("c"), press("a")) // clear, then the first app: sip
	if got := strings.Join(flowIDs(m), " "); got != "f3 f5 f6" {
		t.Fatalf("app sip: %q", got)
	}
	send(m, press("c"), press("r")) // first role in order: access
	if m.ctx.Filter.Role != "access" {
		t.Fatalf("role filter %q", m.ctx.Filter.Role)
	}
	if got := strings.Join(flowIDs(m), " "); got != "f4" {
		t.Fatalf("role access: %q", got)
	}
	send(m, press("c"), press("p")) // first point: inside.pcap
	if got := strings.Join(flowIDs(m), " "); got != "f2 f5" {
		t.Fatalf("point inside.pcap: %q", got)
	}
	send(m, press("2"))
	// D (input) has evidence on inside.pcap, A has evidence and a flow there.
	if got := strings.Join(findingIDs(m.findings), " "); got != "A D" {
		t.Fatalf("findings on inside.pcap: %q", got)
	}
	send(m, press("c"), press("K"))
	if m.ctx.Filter.Kind != "input" {
		t.Fatalf("first kind %q", m.ctx.Filter.Kind)
	}
}

func TestFlowSortKeepsSelection(t *testing.T) {
	m := newTestModel(160, 48)
	send(m, streamed(), press("3"), press("down"), press("down")) // f3
	if f := m.flows.Selected(); f == nil || f.ID != "f3" {
		t.Fatalf("selected %v", f)
	}
	send(m, press("o")) // client ascending
	if got := strings.Join(flowIDs(m), " "); got != "f5 f6 f2 f1 f3 f4" {
		t.Fatalf("by client: %q", got)
	}
	if f := m.flows.Selected(); f.ID != "f3" {
		t.Fatalf("the cursor left f3 for %s", f.ID)
	}
	send(m, press("O"))
	if got := strings.Join(flowIDs(m), " "); got != "f4 f3 f1 f2 f6 f5" {
		t.Fatalf("by client, reversed: %q", got)
	}
	for i := 0; i < 7; i++ { // to bytes client→server, largest first
		send(m, press("o"))
	}
	if got := strings.Join(flowIDs(m), " "); got != "f5 f2 f1 f3 f6 f4" || m.flows.SortName() != "byte>↓" {
		t.Fatalf("by bytes: %q (%s)", got, m.flows.SortName())
	}
	for i := 0; i < 4; i++ { // dur, point, then back to capture order
		send(m, press("o"))
	}
	if m.flows.SortName() != "capture order" {
		t.Fatalf("sort %s", m.flows.SortName())
	}
}

// Streaming: rows arriving while a sorted table is on screen are merged in
// and the cursor stays on the flow the user is looking at.
func TestStreamingKeepsSelection(t *testing.T) {
	m := newTestModel(120, 30)
	all := fixtureFlows()
	first := batchMsg{}
	for i := range all[:3] {
		first.Flows = append(first.Flows, &all[i])
	}
	send(m, first, press("3"))
	for i := 0; i < 8; i++ {
		send(m, press("o")) // bytes c>s, largest first
	}
	// The cursor was on f1 in capture order and stays on it: now second,
	// after f2 (4428 bytes against 4046).
	if f := m.flows.Selected(); f.ID != "f1" || m.flows.t.Cursor() != 1 {
		t.Fatalf("selected %s", f.ID)
	}
	rest := batchMsg{}
	for i := range all[3:] {
		rest.Flows = append(rest.Flows, &all[3+i])
	}
	send(m, rest)
	if got := strings.Join(flowIDs(m), " "); got != "f5 f2 f1 f3 f6 f4" {
		t.Fatalf("merged order %q", got)
	}
	if f := m.flows.Selected(); f.ID != "f1" {
		t.Fatalf("after a batch the cursor is on %s, want f1", f.ID)
	}
}

// A finding that grows while loading is replaced by ID; the detail view
// follows it, and follows it again across the final renumbering.
func TestFindingGrowsAndFinalReport(t *testing.T) {
	m := newTestModel(100, 40)
	send(m, streamed(), press("2"), press("enter"))
	if m.screen != scrDetail || m.detail.finding.ID != "A" {
		t.Fatalf("detail not open on A")
	}
	grown := fixtureFindings()[0]
	grown.Count = 7
	grown.Evidence = append(grown.Evidence, report.Evidence{Point: "outside.pcap", Packet: 999, Detail: "another one"})
	send(m, batchMsg{Findings: []*report.Finding{&grown}})
	if v := m.View().Content; !strings.Contains(v, "seen 7 times") || !strings.Contains(v, "#999") {
		t.Fatalf("the grown finding is not shown:\n%s", v)
	}
	if n := len(m.ctx.Data.Findings); n != 4 {
		t.Fatalf("%d findings after a repeat, want 4", n)
	}
	send(m, doneMsg{Report: fixtureReport()})
	if v := m.View().Content; !strings.Contains(v, "F1  ERROR  snat-av  HLB-02") {
		t.Fatalf("after the final report the detail should show F1:\n%s", v)
	}
	send(m, press("esc"))
	if m.screen != scrFindings {
		t.Fatalf("esc went to %v", m.screen)
	}
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

// Strings from packets must never reach the terminal as control
// sequences: an OSC 52 in a SIP header would otherwise set the user's
// clipboard, a CSI would repaint the screen.
func TestPacketStringsCannotEscape(t *testing.T) {
	evil := "INVITE \x1b]52;c;cm0gLXJmIH4=\x07 from \x1b[31mred\x1b[0m \u202eevil\x9b2J"
	mkReport := func() batchMsg {
		b := streamed()
		b.Findings[0].Message = evil
		b.Findings[0].Evidence[0].Detail = evil
		b.Findings[0].Evidence[0].Point = "outside.pcap\x1b[2J"
		b.Findings[0].Fix = evil
		b.Findings[0].WiresharkFilter = evil
		b.Flows[0].AppDetail = evil
		b.Flows[0].Details["sip_from"] = evil
		b.Flows[0].Details["\x1b[1mkey"] = "v"
		b.Flows[0].Evidence = evil
		b.Flows[0].Point = "\x1b]0;title\x07"
		return b
	}
	check := func(name, v string, plain bool) {
		t.Helper()
		if !plain {
			v = sgr.ReplaceAllString(v, "") // our own colours are allowed
		}
		if strings.ContainsRune(v, 0x1b) || strings.ContainsRune(v, 0x07) || strings.ContainsRune(v, 0x9b) || strings.ContainsRune(v, 0x202e) {
			t.Errorf("%s: a control character from a packet reached the view:\n%q", name, v)
		}
	}
	for _, plain := range []bool{true, false} {
		st := NewStyles(true)
		if plain {
			st = PlainStyles()
		}
		m := New(Config{Styles: &st}, nil)
		send(m, tea.WindowSizeMsg{Width: 160, Height: 48}, mkReport())
		for _, step := range [][]string{nil, {"2"}, {"enter"}, {"esc", "3"}, {"enter"}, {"esc", "p"}, {"y"}} {
			for _, k := range step {
				send(m, press(k))
			}
			check(strings.Join(step, ","), m.View().Content, plain)
		}
	}
}

func TestCopyFilterUsesOSC52(t *testing.T) {
	m := newTestModel(80, 24)
	send(m, streamed(), press("2"))
	_, cmd := m.Update(press("y"))
	if cmd == nil {
		t.Fatal("y gave no command")
	}
	msg := cmd()
	if want := tea.SetClipboard("x")(); strings.Split(typeName(msg), ".")[0] != strings.Split(typeName(want), ".")[0] || typeName(msg) != typeName(want) {
		t.Fatalf("y produced %T, want Bubble Tea's clipboard message %T", msg, want)
	}
	if !strings.Contains(m.statusLine(), "copied: stun.id == 5a1f") {
		t.Errorf("the filter is not shown: %q", m.statusLine())
	}
	send(m, press("3"))
	if _, cmd := m.Update(press("y")); cmd == nil || m.notice != "copied: ip.addr==203.0.113.10 && ip.addr==198.51.100.102 && udp.port==62623 && udp.port==3478" {
		t.Errorf("flow filter: %q", m.notice)
	}
}

func typeName(v any) string { return strings.TrimPrefix(strings.TrimPrefix(fmtType(v), "*"), "tea.") }

func TestQuitCancelsTheRun(t *testing.T) {
	canceled := false
	st := PlainStyles()
	m := New(Config{Styles: &st, Cancel: func() { canceled = true }}, nil)
	_, cmd := m.Update(press("q"))
	if cmd == nil || !canceled {
		t.Fatalf("q: cancel called %v, command %v", canceled, cmd)
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatalf("q does not quit")
	}
	// ctrl+c quits even while typing a filter.
	m = New(Config{Styles: &st}, nil)
	send(m, press("/"))
	if _, cmd := m.Update(press("ctrl+c")); cmd == nil {
		t.Fatal("ctrl+c in the filter prompt does not quit")
	}
}

// Run end to end without a terminal: the pipeline is a function that
// streams until it is cancelled; q must cancel it and Run must wait for it.
func TestRunWaitsForThePipeline(t *testing.T) {
	stopped := make(chan struct{})
	in, out := strings.NewReader("q"), &strings.Builder{}
	cfg := Config{Load: func(ctx context.Context, sink auditSink) (*report.Report, error) {
		fl := fixtureFlows()
		for i := 0; ; i++ {
			f := fl[i%len(fl)]
			sink.Flow(&f)
			select {
			case <-ctx.Done():
				close(stopped)
				return &report.Report{}, ctx.Err()
			default:
			}
		}
	}}
	_, err := Run(context.Background(), cfg, tea.WithInput(in), tea.WithOutput(out), tea.WithWindowSize(80, 24))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	default:
		t.Fatal("Run returned before the pipeline stopped")
	}
}
