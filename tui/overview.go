package tui

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
)

// overviewPane is screen 1: what was read, what was found, by what
// measure. It is rebuilt from the Data on every change; the content is a
// few dozen lines, so rebuilding is cheaper than tracking what changed.
type overviewPane struct {
	ctx *Context
	vp  viewport.Model
	gen int // Data.Gen the content was built from
	w   int
}

func newOverview(ctx *Context) *overviewPane {
	return &overviewPane{ctx: ctx, vp: viewport.New(), gen: -1}
}

func (p *overviewPane) SetSize(w, h int) {
	p.vp.SetWidth(w)
	p.vp.SetHeight(h)
	if w != p.w {
		p.w, p.gen = w, -1
	}
	p.refresh()
}

func (p *overviewPane) refresh() {
	if p.gen == p.ctx.Data.Gen {
		return
	}
	p.gen = p.ctx.Data.Gen
	p.vp.SetContent(p.content())
}

func (p *overviewPane) Update(msg tea.Msg) tea.Cmd {
	scroll(&p.vp, p.ctx.Keys, msg)
	return nil
}

func (p *overviewPane) View() string {
	p.refresh()
	return p.vp.View()
}

// content writes the overview text.
func (p *overviewPane) content() string {
	c, d, st := p.ctx, p.ctx.Data, &p.ctx.Styles
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	title := func(s string) { b.WriteString(st.Header.Render(s) + "\n") }

	title("Capture points")
	if d.Report != nil {
		for _, in := range d.Report.Inputs {
			line("  %-20s %s/%s  %s pkts  %s  %s", fit(P(in.Point), 20), in.Format, in.Compression,
				countHuman(in.Packets), bytesHuman(in.Bytes), timeRange(in.First, in.Last))
			for _, pt := range in.Points {
				line("    interface %s", P(pt))
			}
			if in.DecodeErrors > 0 {
				line("    %d frames not decodable", in.DecodeErrors)
			}
			if in.Error != "" {
				line("    %s", st.Problem.Render("stopped early: "+P(in.Error)))
			}
		}
	} else {
		for _, ps := range c.Points {
			line("  %-22s %s", fit(P(ps.Point), 22), st.Dim.Render(P(ps.File)))
		}
	}
	pr := d.Progress
	e, w, i := d.severityCounts()
	line("")
	line("  packets %s (%s)   flows %s   findings %s",
		countHuman(pr.Packets), bytesHuman(pr.Bytes), countHuman(uint64(len(d.Flows))),
		st.Error.Render(fmt.Sprintf("%d error", e))+", "+st.Warning.Render(fmt.Sprintf("%d warning", w))+", "+
			st.Info.Render(fmt.Sprintf("%d info", i)))
	if d.Report != nil && d.Report.Summary.Flows > uint64(len(d.Flows)) {
		line("  (%s flows seen, %d kept)", countHuman(d.Report.Summary.Flows), len(d.Flows))
	}

	line("")
	title("Findings by kind")
	kinds := map[string][3]int{}
	for _, f := range d.Findings {
		k := kinds[f.Kind]
		switch f.Severity {
		case "error":
			k[0]++
		case "warning":
			k[1]++
		default:
			k[2]++
		}
		kinds[f.Kind] = k
	}
	if len(kinds) == 0 {
		if d.Loading() {
			line("  none yet")
		} else {
			line("  none: every flow matched a rule")
		}
	}
	for _, k := range sortedKeys(kindsCount(kinds)) {
		n := kinds[k]
		line("  %-18s %3d error %3d warning %3d info  %s", P(k), n[0], n[1], n[2], st.Dim.Render(fit(Kind(k), max(p.w-56, 0))))
	}

	line("")
	title("Flows by app")
	apps := map[string]int{}
	for _, f := range d.Flows {
		apps[f.App]++
	}
	type kv struct {
		k string
		n int
	}
	var list []kv
	for k, n := range apps {
		list = append(list, kv{k, n})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].k < list[j].k
	})
	var row []string
	for _, x := range list {
		row = append(row, fmt.Sprintf("%s %s", P(x.k), countHuman(uint64(x.n))))
	}
	if len(row) == 0 {
		row = append(row, "none yet")
	}
	line("  %s", wrap(strings.Join(row, "   "), p.w, "  "))

	line("")
	title("Topology")
	p.topology(&b, line)
	return strings.TrimRight(b.String(), "\n")
}

func kindsCount(m map[string][3]int) map[string]int {
	out := make(map[string]int, len(m))
	for k := range m {
		out[k] = 1
	}
	return out
}

// topology writes where roles come from and the addresses the topology
// names, so the reader can check the file against the capture.
func (p *overviewPane) topology(b *strings.Builder, line func(string, ...any)) {
	c, d := p.ctx, p.ctx.Data
	if d.Report != nil {
		line("  source: %s", P(d.Report.Topology.Source))
		for _, r := range d.Report.Topology.Inferred {
			line("  inferred: %s", wrap(P(r), p.w, "            "))
		}
		for _, u := range d.Report.Topology.Unchecked {
			line("  not checked: %s", wrap(P(u), p.w, "               "))
		}
	}
	t := c.Topology
	if t == nil {
		if d.Report == nil {
			line("  source: inferred from the packets (no --topology)")
		}
		return
	}
	if d.Report == nil {
		line("  source: %s", P(t.Source))
	}
	if t.Name != "" {
		line("  name: %s", P(t.Name))
	}
	addrs := func(label string, as []netip.Addr) {
		if len(as) == 0 {
			return
		}
		s := make([]string, len(as))
		for i, a := range as {
			s[i] = a.String()
		}
		line("  %-14s %s", label, strings.Join(s, " "))
	}
	addrs("access-vip", t.VIPs.Access)
	addrs("webconf-vip", t.VIPs.WebConf)
	addrs("av-vip", t.VIPs.AV)
	addrs("internal-vip", t.VIPs.Internal)
	for _, n := range t.Nodes {
		var s []string
		for _, g := range []struct {
			role string
			as   []netip.Addr
		}{{"access", n.Access}, {"webconf", n.WebConf}, {"av", n.AV}, {"internal", n.Internal}} {
			for _, a := range g.as {
				s = append(s, g.role+" "+a.String())
			}
		}
		line("  %-14s %s", fit("node "+P(n.Name), 14), wrap(strings.Join(s, ", "), p.w, strings.Repeat(" ", 17)))
	}
	prefixes := func(label string, ps []netip.Prefix) {
		if len(ps) == 0 {
			return
		}
		s := make([]string, len(ps))
		for i, x := range ps {
			s[i] = x.String()
		}
		line("  %-14s %s", label, wrap(strings.Join(s, " "), p.w, strings.Repeat(" ", 17)))
	}
	prefixes("hlb", t.HLB.Addresses)
	prefixes("front-end", t.Internal.FrontEnd)
	prefixes("director", t.Internal.Director)
	prefixes("sba", t.Internal.SBA)
	prefixes("federation", t.Federation.Partners)
	line("  options: xmpp %v, federation with OCS 2007 %v", t.Options.XMPP, t.Options.FederationOCS2007)
}

func timeRange(first, last string) string {
	if first == "" {
		return ""
	}
	if len(first) >= 19 && len(last) >= 19 && first[:10] == last[:10] {
		return first[11:19] + "–" + last[11:19]
	}
	return first + " – " + last
}

// scroll moves a viewport for the navigation keys and the mouse wheel.
func scroll(vp *viewport.Model, k KeyMap, msg tea.Msg) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Up):
			vp.ScrollUp(1)
		case key.Matches(msg, k.Down):
			vp.ScrollDown(1)
		case key.Matches(msg, k.PageUp):
			vp.PageUp()
		case key.Matches(msg, k.PageDown):
			vp.PageDown()
		case key.Matches(msg, k.Top):
			vp.GotoTop()
		case key.Matches(msg, k.Bottom):
			vp.GotoBottom()
		}
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			vp.ScrollUp(3)
		case tea.MouseWheelDown:
			vp.ScrollDown(3)
		}
	}
}
