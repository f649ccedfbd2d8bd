package tui

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// detailPane explains one finding or one flow. For a flow it also reads
// the flow's first packets back from the capture, in a command, and shows
// them when they arrive.
type detailPane struct {
	ctx     *Context
	vp      viewport.Model
	w       int
	finding *report.Finding
	flow    *report.Flow
	// timeline of the flow: loaded by a command tagged with seq, so a late
	// answer for a flow no longer shown is dropped.
	seq     int
	packets []pktLine
	pktErr  error
	loading bool
	cancel  context.CancelFunc
	gen     int
	epochAt int
}

// timelineMsg carries a flow's first packets.
type timelineMsg struct {
	seq     int
	packets []pktLine
	err     error
}

// timelineLen is how many packets the flow view shows.
const timelineLen = 12

func newDetail(ctx *Context) *detailPane {
	return &detailPane{ctx: ctx, vp: viewport.New()}
}

func (p *detailPane) SetSize(w, h int) {
	p.vp.SetWidth(w)
	p.vp.SetHeight(h)
	p.w = w
	p.render()
}

// ShowFinding points the pane at a finding.
func (p *detailPane) ShowFinding(f *report.Finding) {
	p.close()
	p.finding, p.flow = f, nil
	p.vp.GotoTop()
	p.render()
}

// ShowFlow points the pane at a flow and starts reading its packets.
func (p *detailPane) ShowFlow(f *report.Flow) tea.Cmd {
	p.close()
	p.finding, p.flow = nil, f
	p.packets, p.pktErr = nil, nil
	p.vp.GotoTop()
	ps, err := p.ctx.source(f.Point)
	if err != nil {
		p.pktErr = err
		p.render()
		return nil
	}
	p.seq++
	seq := p.seq
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	p.cancel, p.loading = cancel, true
	p.render()
	flow := *f
	return func() tea.Msg {
		defer cancel()
		pk, err := firstPackets(ctx, ps, &flow, timelineLen)
		return timelineMsg{seq: seq, packets: pk, err: err}
	}
}

// close stops a timeline read still going.
func (p *detailPane) close() {
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
	p.loading = false
}

// Update takes the timeline answer and scrolls.
func (p *detailPane) Update(msg tea.Msg) tea.Cmd {
	if m, ok := msg.(timelineMsg); ok {
		if m.seq == p.seq {
			p.packets, p.pktErr, p.loading = m.packets, m.err, false
			if m.err == context.Canceled {
				p.pktErr = nil
			}
			p.render()
		}
		return nil
	}
	scroll(&p.vp, p.ctx.Keys, msg)
	return nil
}

// Refresh re-reads the shown record after new data arrived: a finding
// that grew while loading shows its new evidence. After the final report
// the IDs change, so the record is found again by what it is about.
func (p *detailPane) Refresh() {
	d := p.ctx.Data
	if p.gen == d.Gen {
		return
	}
	if p.finding != nil {
		if d.Epoch != p.epochAt {
			p.finding = sameFinding(d, p.finding)
		} else if f := d.Finding(p.finding.ID); f != nil {
			p.finding = f
		}
	}
	if p.flow != nil {
		if f := d.Flow(p.flow.ID); f != nil {
			p.flow = f
		}
	}
	off := p.vp.YOffset()
	p.render()
	p.vp.SetYOffset(off)
}

// sameFinding finds a streamed finding in the final report: same kind,
// requirement, rule and message.
func sameFinding(d *Data, f *report.Finding) *report.Finding {
	for _, g := range d.Findings {
		if g.Kind == f.Kind && g.Requirement == f.Requirement && g.Rule == f.Rule && g.Message == f.Message {
			return g
		}
	}
	return f
}

func (p *detailPane) View() string {
	p.Refresh()
	return p.vp.View()
}

// Title names what is shown, for the header.
func (p *detailPane) Title() string {
	switch {
	case p.finding != nil:
		return "finding " + p.finding.ID
	case p.flow != nil:
		return "flow " + P(p.flow.ID)
	}
	return "detail"
}

func (p *detailPane) render() {
	p.gen, p.epochAt = p.ctx.Data.Gen, p.ctx.Data.Epoch
	var s string
	switch {
	case p.finding != nil:
		s = p.findingText(p.finding)
	case p.flow != nil:
		s = p.flowText(p.flow)
	}
	p.vp.SetContent(s)
}

// text is a small builder for the detail views: sections with a title,
// fields with a label, wrapped to the pane's width.
type text struct {
	b  strings.Builder
	w  int
	st *Styles
}

func (t *text) section(title string) {
	if t.b.Len() > 0 {
		t.b.WriteString("\n")
	}
	t.b.WriteString(t.st.Header.Render(title) + "\n")
}

func (t *text) para(s string) { t.b.WriteString("  " + wrap(s, t.w, "  ") + "\n") }

func (t *text) line(s string) { t.b.WriteString(fit(s, max(t.w, 1)) + "\n") }

func (t *text) field(label, value string) {
	if value == "" {
		return
	}
	lab := t.st.Label.Render(label + ":")
	t.b.WriteString("  " + lab + " " + wrap(value, t.w-len(label)-4, strings.Repeat(" ", len(label)+4)) + "\n")
}

// block is a labelled paragraph: the label on its own line, the text
// indented under it, for explanations too long to sit beside a label.
func (t *text) block(label, value string) {
	if value == "" {
		return
	}
	t.b.WriteString("  " + t.st.Label.Render(label) + "\n")
	t.b.WriteString("    " + wrap(value, t.w, "    ") + "\n")
}

func (p *detailPane) findingText(f *report.Finding) string {
	st := &p.ctx.Styles
	t := &text{w: p.w, st: st}
	head := fmt.Sprintf("%s  %s  %s  %s", P(f.ID), st.Severity(f.Severity).Render(sevShort(f.Severity)), P(f.Kind), P(f.Requirement))
	if f.Rule != "" {
		head += "  rule " + P(f.Rule)
	}
	if f.Count > 1 {
		head += fmt.Sprintf("  seen %d times", f.Count)
	}
	t.line(head)
	t.para(P(f.Message))

	t.section(fmt.Sprintf("Evidence (%d packets)", len(f.Evidence)))
	if len(f.Evidence) == 0 {
		t.para("no packet: this finding is about the inputs or the topology")
	}
	for _, e := range f.Evidence {
		t.line(fmt.Sprintf("  %s #%d  %s", P(e.Point), e.Packet, clock(e.Time)))
		if e.Detail != "" {
			t.b.WriteString("      " + wrap(P(e.Detail), t.w, "      ") + "\n")
		}
	}
	if f.Requirement != "" || Kind(f.Kind) != "" {
		t.section("What the requirement says")
		t.block(P(f.Requirement), Requirement(f.Requirement))
		if f.Rule != "" {
			t.block(P(f.Rule), p.ruleText(f.Rule))
		}
		t.block(P(f.Kind), Kind(f.Kind))
	}

	if f.Consequence != "" {
		t.section("Consequence")
		t.para(P(f.Consequence))
	}
	if f.Fix != "" {
		t.section("Fix")
		t.para(P(f.Fix))
	}
	if f.WiresharkFilter != "" {
		t.section("Wireshark filter (y copies, w writes the packets)")
		t.para(P(f.WiresharkFilter))
	}
	if len(f.Flows) > 0 {
		t.section(fmt.Sprintf("Flows (%d)", len(f.Flows)))
		for i, id := range f.Flows {
			if i == 20 {
				t.line(fmt.Sprintf("  … %d more (filter the flows screen with / %s)", len(f.Flows)-20, f.ID))
				break
			}
			if fl := p.ctx.Data.Flow(id); fl != nil {
				t.line(fmt.Sprintf("  %s %s %s → %s  %s  %s", P(fl.ID), P(fl.Transport), P(fl.Client), P(fl.Server), P(app(fl)), P(roles(fl))))
			} else {
				t.line("  " + P(id))
			}
		}
	}
	return strings.TrimRight(t.b.String(), "\n")
}

// ruleText explains a port rule: its family, and the rule's own service,
// port and reason from the rule set in force.
func (p *detailPane) ruleText(id string) string {
	var parts []string
	if r := p.rule(id); r != nil {
		proto := "udp"
		if r.Transport == 6 {
			proto = "tcp"
		}
		parts = append(parts, fmt.Sprintf("%s, %s %s, %s to %s.", r.Service, proto, r.Ports(), r.Leg.From, r.Leg.To))
		if r.Reason != "" {
			parts = append(parts, "Why it is open: "+r.Reason+".")
		}
	}
	if fam := RuleFamily(id); fam != "" {
		parts = append(parts, "Family: "+fam+".")
	}
	return strings.Join(parts, " ")
}

func (p *detailPane) rule(id string) *policy.Rule {
	rs := p.ctx.Rules
	if rs == nil {
		rs = policy.DefaultRules()
	}
	for i := range rs.Rules {
		if rs.Rules[i].ID == id {
			return &rs.Rules[i]
		}
	}
	return nil
}

func (p *detailPane) flowText(f *report.Flow) string {
	st := &p.ctx.Styles
	d := p.ctx.Data
	t := &text{w: p.w, st: st}
	t.line(fmt.Sprintf("%s  %s %s → %s", P(f.ID), P(f.Transport), P(f.Client), P(f.Server)))
	t.field("point", P(f.Point))
	t.field("app", P(app(f)))
	t.field("roles", P(roles(f)))
	dur := flowDuration(f)
	t.field("time", fmt.Sprintf("%s for %s", clock(f.First), durHuman(dur)))
	t.field("packets", fmt.Sprintf("%s client→server, %s server→client", countHuman(f.Packets.C2S), countHuman(f.Packets.S2C)))
	t.field("bytes", fmt.Sprintf("%s client→server, %s server→client", bytesHuman(f.Bytes.C2S), bytesHuman(f.Bytes.S2C)))
	t.field("ended", P(f.End))
	t.field("community id", P(f.CommunityID))

	if f.Rule != nil && *f.Rule != "" {
		t.section("Allowed by " + P(*f.Rule))
		t.para(p.ruleText(*f.Rule))
	}
	if len(f.Findings) > 0 {
		t.section("Findings")
		for _, id := range f.Findings {
			if g := d.Finding(id); g != nil {
				t.line(fmt.Sprintf("  %s %s %s %s", P(g.ID), st.Severity(g.Severity).Render(sevShort(g.Severity)), P(g.Requirement), P(g.Message)))
			} else {
				t.line("  " + P(id))
			}
		}
	}
	if (f.Rule == nil || *f.Rule == "") && len(f.Findings) == 0 {
		t.section("Rule")
		t.para("no port rule applies and no finding was raised (neither end holds an Edge role)")
	}
	if f.Evidence != "" {
		t.section("Why it was classified " + P(f.App))
		t.para(P(f.Evidence))
	}
	if len(f.Details) > 0 {
		t.section("Details")
		ks := make([]string, 0, len(f.Details))
		for k := range f.Details {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			t.field(P(k), P(f.Details[k]))
		}
	}
	t.section("First packets")
	switch {
	case p.loading:
		t.para("reading the capture…")
	case p.pktErr != nil:
		t.para("could not read them: " + P(p.pktErr.Error()))
	case len(p.packets) == 0:
		t.para("none found in the capture")
	}
	var t0 int64
	for i, k := range p.packets {
		if i == 0 {
			t0 = k.Time
		}
		dir := "c→s"
		if !k.C2S {
			dir = "s→c"
		}
		flags := ""
		if k.Proto == 6 {
			flags = tcpFlags(k.Flags)
		}
		t.line(fmt.Sprintf("  #%-7d +%-10s %s %5d  %-11s %s", k.Frame, fmt.Sprintf("%.6f", float64(k.Time-t0)/1e9), dir, k.Len, flags, k.Info))
	}
	if ff := flowFilter(f); ff != "" {
		t.section("Wireshark filter (y copies, w writes the packets)")
		t.para(P(ff))
	}
	return strings.TrimRight(t.b.String(), "\n")
}

// clock shows the time of day of an RFC 3339 time with microseconds, the
// part that matters when lining evidence up with Wireshark.
func clock(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return P(s)
	}
	return t.UTC().Format("2006-01-02 15:04:05.000000")
}
