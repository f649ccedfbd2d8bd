package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
)

// helpPane lists every key (from the KeyMap, so it cannot fall out of
// date), what the columns mean, and the finding kinds.
type helpPane struct {
	ctx *Context
	vp  viewport.Model
	w   int
}

func newHelp(ctx *Context) *helpPane { return &helpPane{ctx: ctx, vp: viewport.New()} }

func (p *helpPane) SetSize(w, h int) {
	p.vp.SetWidth(w)
	p.vp.SetHeight(h)
	p.w = w
	p.vp.SetContent(p.content())
}

// Restyle redraws after the styles changed.
func (p *helpPane) Restyle() { p.vp.SetContent(p.content()) }

func (p *helpPane) Update(msg tea.Msg) { scroll(&p.vp, p.ctx.Keys, msg) }

func (p *helpPane) View() string { return p.vp.View() }

func (p *helpPane) content() string {
	st := &p.ctx.Styles
	t := &text{w: p.w, st: st}
	titles := []string{"Moving", "Screens and sorting", "Filtering", "Acting"}
	for i, group := range p.ctx.Keys.FullHelp() {
		t.section(titles[i])
		for _, b := range group {
			h := b.Help()
			t.b.WriteString(fmt.Sprintf("  %s %s\n", st.Key.Render(fmt.Sprintf("%-11s", h.Key)), h.Desc))
		}
	}
	t.section("Filters")
	t.para("/ filters the list on screen by text (Enter keeps it, Esc clears it). s, K, a, r and p step through the severities, kinds, apps, roles and capture points present; they narrow both lists. The status bar shows what is active.")
	t.section("Flows table")
	t.para("roles are client>server; rule is the port rule that allowed the flow, or ! and the findings against it; pkt and byte count each direction (> client to server, < back), as Wireshark's Conversations do; point is the capture the row comes from (the same conversation seen outside and inside the load balancer is a row per point). Columns that do not fit a narrow terminal are left out; the detail view (enter) shows them all.")
	t.section("Mouse")
	t.para("The wheel scrolls lists and text. Start with --no-mouse to leave the mouse to the terminal for selecting text.")
	t.section("Finding kinds")
	for _, k := range []string{"unexpected-port", "protocol-mismatch", "snat-av", "asymmetric-return", "one-way-sip",
		"default-gateway", "internal-routing", "topology", "input"} {
		t.field(k, Kind(k))
	}
	t.section("Files")
	t.para("w writes the evidence packets of a finding (one pcapng per capture file) or all packets of a flow to the output directory, through a temporary name. Logs go to the log file, never to the screen.")
	return strings.TrimRight(t.b.String(), "\n")
}
