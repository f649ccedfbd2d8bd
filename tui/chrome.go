package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"
)

// The chrome around the body: header with the screen tabs, the progress
// line, the status bar and the key hint. Each is one line.

// header is the program name, the screen tabs with counts, and the state.
func (m *Model) header() string {
	st, d := &m.ctx.Styles, m.ctx.Data
	cur := m.listScreen()
	if m.screen == scrDetail || m.screen == scrHelp {
		cur = -1
	}
	tab := func(s screen, label string) string {
		if s == cur {
			return st.TabActive.Render("[" + label + "]")
		}
		return st.Tab.Render(" " + label + " ")
	}
	nf, _ := m.findings.Count()
	nl, _ := m.flows.Count()
	left := st.Title.Render("edgeaudit") + " " + tab(scrOverview, "1 overview") + tab(scrFindings, fmt.Sprintf("2 findings (%d)", nf)) +
		tab(scrFlows, fmt.Sprintf("3 flows (%d)", nl))
	switch m.screen {
	case scrDetail:
		left += " " + st.TabActive.Render("["+m.detail.Title()+"]")
	case scrHelp:
		left += " " + st.TabActive.Render("[help]")
	}
	var right string
	switch {
	case m.quitting:
		right = "stopping…"
	case d.Loading():
		right = "loading"
	case d.Err != nil && d.Err != context.Canceled:
		right = st.Problem.Render("stopped")
	case d.Err == context.Canceled:
		right = "cancelled"
	default:
		right = "done"
	}
	return spread(left, right, m.ctx.Width)
}

// progressLine shows how far loading got: a bar with bytes, rate and time
// left for files; a packet counter when the size is unknown (pipes, live).
func (m *Model) progressLine() string {
	st, d := &m.ctx.Styles, m.ctx.Data
	pr := d.Progress
	w := max(m.ctx.Width, 20)
	if !d.Loading() {
		counts := fmt.Sprintf("%s flows · %d findings", countHuman(uint64(len(d.Flows))), len(d.Findings))
		s := fmt.Sprintf("read %s packets (%s) in %s · %s", countHuman(pr.Packets), bytesHuman(pr.Bytes), durHuman(pr.Elapsed.Round(time.Millisecond)), counts)
		if d.Err != nil && d.Err != context.Canceled {
			s = st.Problem.Render("stopped: "+P(d.Err.Error())) + " · " + s
		}
		return fit(s, w)
	}
	if pr.Packets == 0 && pr.BytesRead == 0 {
		return fit("opening the captures…", w)
	}
	rate := ""
	if secs := pr.Elapsed.Seconds(); secs > 0 {
		rate = short(uint64(float64(pr.Packets)/secs)) + " pkt/s"
	}
	if pr.BytesTotal <= 0 {
		return fit(fmt.Sprintf("packets %s · %s · %s", countHuman(pr.Packets), bytesHuman(pr.Bytes), rate), w)
	}
	frac := float64(pr.BytesRead) / float64(pr.BytesTotal)
	left := "?"
	if frac > 0 && pr.Elapsed > 0 {
		left = durHuman(time.Duration(float64(pr.Elapsed)*(1-frac)/frac).Round(time.Second)) + " left"
	}
	info := fmt.Sprintf(" %3.0f%% %s of %s · %s packets · %s · %s", frac*100, bytesHuman(uint64(pr.BytesRead)),
		bytesHuman(uint64(pr.BytesTotal)), short(pr.Packets), rate, left)
	barW := max(10, min(40, w-lipgloss.Width(info)))
	return fit(m.progressBar(frac, barW)+info, w)
}

// progressBar draws a bar of w cells filled to frac. The fill and track
// differ in shape, not only colour, so it reads without colour too.
func (m *Model) progressBar(frac float64, w int) string {
	st := &m.ctx.Styles
	full := max(0, min(w, int(frac*float64(w)+0.5)))
	fill, track := lipgloss.NewStyle(), lipgloss.NewStyle()
	if st.BarFull != nil {
		fill, track = fill.Foreground(st.BarFull), track.Foreground(st.BarEmpty)
	}
	return fill.Render(strings.Repeat("█", full)) + track.Render(strings.Repeat("░", w-full))
}

// statusLine shows the filter being typed, or the active filters and the
// last message, with the position in the list.
func (m *Model) statusLine() string {
	st := &m.ctx.Styles
	w := max(m.ctx.Width, 20)
	if m.editing {
		return fit(m.input.View(), w)
	}
	var parts []string
	if q := m.query(); q != "" && (m.screen == scrFindings || m.screen == scrFlows) {
		parts = append(parts, fmt.Sprintf("text=%q", P(q)))
	}
	if m.ctx.Filter.Active() {
		parts = append(parts, m.ctx.Filter.String())
	}
	left := "filter: none"
	if len(parts) > 0 {
		left = "filter: " + strings.Join(parts, " ")
	}
	if m.notice != "" {
		style := st.Notice
		if m.problem {
			style = st.Problem
		}
		left = style.Render(m.notice)
	}
	right := ""
	switch m.screen {
	case scrFindings:
		n, all := m.findings.Count()
		right = fmt.Sprintf("%d/%d findings", n, all)
	case scrFlows:
		n, all := m.flows.Count()
		right = fmt.Sprintf("%d/%d flows · sort %s", n, all, m.flows.SortName())
	}
	return st.Status.Render(spread(left, right, w))
}

// hintLine is the always-visible key hint for the screen.
func (m *Model) hintLine() string {
	k := m.ctx.Keys
	b := []key.Binding{k.Quit, k.Help}
	switch m.screen {
	case scrDetail:
		b = append(b, k.Back, k.Write, k.Copy, k.Down, k.Next)
	case scrHelp:
		b = append(b, k.Back, k.Down)
	case scrFlows:
		b = append(b, k.Next, k.Open, k.Filter, k.Sort, k.Severity, k.App, k.Write, k.Copy)
	default:
		b = append(b, k.Next, k.Open, k.Filter, k.Severity, k.Kind, k.Write, k.Copy)
	}
	return fit(m.hints.ShortHelpView(b), max(m.ctx.Width, 20))
}

// spread puts left and right on one line of width w, cutting left if need be.
func spread(left, right string, w int) string {
	lw, rw := lipgloss.Width(left), lipgloss.Width(right)
	if lw+rw+1 > w {
		left = fit(left, max(w-rw-1, 0))
		lw = lipgloss.Width(left)
	}
	if lw+rw+1 > w {
		return fit(left, w)
	}
	return left + strings.Repeat(" ", w-lw-rw) + right
}
