package tui

import (
	"cmp"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/edgeaudit/edgeaudit/policy/report"
	"github.com/edgeaudit/edgeaudit/tui/table"
)

// flowsPane is screen 3: every flow record, sortable by any column. It can
// hold hundreds of thousands of rows, so it filters incrementally (see
// view) and draws only what is on screen.
type flowsPane struct {
	ctx   *Context
	t     table.Model
	v     view
	query string
	filt  Filter
	sort  int // column index, -1 for capture order
	asc   bool
	durs  []int64 // flow durations by Data index, parsed once for sorting
	durEp int     // Data.Epoch durs belongs to
}

// Flow table columns; each is also a sort key.
const (
	ccClient = iota
	ccServer
	ccRoles
	ccApp
	ccRule
	ccPktsC2S
	ccPktsS2C
	ccBytesC2S
	ccBytesS2C
	ccDur
	ccPoint
	ccCount
)

var flowColumns = []table.Column{
	ccClient:   {Title: "client", Min: 20, Max: 47, Flex: 3},
	ccServer:   {Title: "server", Min: 20, Max: 47, Flex: 3},
	ccRoles:    {Title: "roles", Min: 12, Max: 30, Flex: 2},
	ccApp:      {Title: "app", Min: 12, Max: 24, Flex: 1},
	ccRule:     {Title: "rule", Min: 9, Max: 20, Flex: 1},
	ccPktsC2S:  {Title: "pkt>", Min: 6, Right: true, Drop: 4},
	ccPktsS2C:  {Title: "pkt<", Min: 6, Right: true, Drop: 4},
	ccBytesC2S: {Title: "byte>", Min: 6, Right: true, Drop: 3},
	ccBytesS2C: {Title: "byte<", Min: 6, Right: true, Drop: 3},
	ccDur:      {Title: "dur", Min: 7, Right: true, Drop: 6},
	// The same conversation seen outside and inside the load balancer is
	// a row per capture point; the point tells them apart.
	ccPoint: {Title: "point", Min: 12, Max: 24, Flex: 1, Drop: 5},
}

func newFlows(ctx *Context) *flowsPane {
	return &flowsPane{ctx: ctx, t: table.New(flowColumns), sort: -1}
}

func (p *flowsPane) SetSize(w, h int) { p.t.SetSize(w, h) }

// SetQuery sets the text filter.
func (p *flowsPane) SetQuery(q string) { p.query = lower(q); p.v.invalidate() }

// Query returns the text filter.
func (p *flowsPane) Query() string { return p.query }

// Count returns shown and total flows.
func (p *flowsPane) Count() (int, int) { p.sync(); return len(p.v.rows), len(p.ctx.Data.Flows) }

// SortName describes the sort for the status bar.
func (p *flowsPane) SortName() string {
	if p.sort < 0 {
		return "capture order"
	}
	dir := "↓"
	if p.asc {
		dir = "↑"
	}
	return flowColumns[p.sort].Title + dir
}

// Selected returns the flow under the cursor.
func (p *flowsPane) Selected() *report.Flow {
	p.sync()
	if i := p.t.Cursor(); i >= 0 && i < len(p.v.rows) {
		return p.ctx.Data.Flows[p.v.rows[i]]
	}
	return nil
}

// sync catches the rows up with the data, keeping the cursor on the same
// flow when the order changes under it.
func (p *flowsPane) sync() {
	d := p.ctx.Data
	if p.filt != p.ctx.Filter {
		p.filt = p.ctx.Filter
		p.v.invalidate()
	}
	var keep *report.Flow
	// The old rows stay meaningful until the data is replaced wholesale,
	// even when a new filter or sort has invalidated them.
	if i := p.t.Cursor(); i >= 0 && i < len(p.v.rows) && p.v.epoch == d.Epoch && p.v.seen > 0 {
		keep = d.Flows[p.v.rows[i]]
	}
	before := len(p.v.rows)
	wasValid := p.v.valid && p.v.epoch == d.Epoch
	p.v.sync(len(d.Flows), d.Epoch, func(i int) bool {
		f := d.Flows[i]
		return p.filt.MatchFlow(d, f) && textMatchFlow(f, p.query)
	}, p.less())
	p.t.SetRows(len(p.v.rows))
	// Appending in capture order never moves the cursor's row; a rebuild or
	// a sorted merge may, so find it again.
	if keep != nil && (!wasValid || (p.sort >= 0 && len(p.v.rows) != before)) {
		for i, r := range p.v.rows {
			if d.Flows[r] == keep {
				p.t.SetCursor(i)
				break
			}
		}
	}
	p.t.SortCol, p.t.SortAsc = p.sort, p.asc
}

// less orders two flows (indices into Data.Flows) by the sort column, with
// capture order breaking ties so the order is stable.
func (p *flowsPane) less() func(a, b int) int {
	if p.sort < 0 {
		return nil
	}
	fl := p.ctx.Data.Flows
	col, asc := p.sort, p.asc
	if col == ccDur {
		// Parsing two timestamps per comparison would make sorting half a
		// million flows take seconds; parse each once.
		if p.durEp != p.ctx.Data.Epoch {
			p.durs, p.durEp = p.durs[:0], p.ctx.Data.Epoch
		}
		for i := len(p.durs); i < len(fl); i++ {
			p.durs = append(p.durs, int64(flowDuration(fl[i])))
		}
	}
	return func(a, b int) int {
		x, y := fl[a], fl[b]
		var c int
		switch col {
		case ccClient:
			c = cmp.Compare(x.Client, y.Client)
		case ccServer:
			c = cmp.Compare(x.Server, y.Server)
		case ccRoles:
			c = cmp.Compare(roles(x), roles(y))
		case ccApp:
			c = cmp.Compare(app(x), app(y))
		case ccRule:
			c = cmp.Compare(ruleOrFindings(x), ruleOrFindings(y))
		case ccPktsC2S:
			c = cmp.Compare(x.Packets.C2S, y.Packets.C2S)
		case ccPktsS2C:
			c = cmp.Compare(x.Packets.S2C, y.Packets.S2C)
		case ccBytesC2S:
			c = cmp.Compare(x.Bytes.C2S, y.Bytes.C2S)
		case ccBytesS2C:
			c = cmp.Compare(x.Bytes.S2C, y.Bytes.S2C)
		case ccDur:
			c = cmp.Compare(p.durs[a], p.durs[b])
		case ccPoint:
			c = cmp.Compare(x.Point, y.Point)
		}
		if !asc {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(a, b)
		}
		return c
	}
}

// Update handles the table's keys; it reports whether the user asked to
// open the selected flow.
func (p *flowsPane) Update(msg tea.Msg) (open bool) {
	p.sync()
	if navigate(&p.t, p.ctx.Keys, msg) {
		return false
	}
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return false
	}
	switch {
	case key.Matches(k, p.ctx.Keys.Open):
		return p.Selected() != nil
	case key.Matches(k, p.ctx.Keys.Sort):
		// capture order, then each column; numbers start largest first,
		// which is what one looks for, text A to Z.
		p.sort++
		if p.sort >= ccCount {
			p.sort = -1
		}
		p.asc = p.sort >= 0 && !flowColumns[p.sort].Right
		p.v.invalidate()
	case key.Matches(k, p.ctx.Keys.Reverse):
		if p.sort >= 0 {
			p.asc = !p.asc
			p.v.invalidate()
		}
	}
	return false
}

func (p *flowsPane) View() string {
	p.sync()
	st := &p.ctx.Styles
	p.t.Empty = emptyText(p.ctx, "flows", p.query)
	d := p.ctx.Data
	cell := func(r, c int) string { return P(flowCell(d.Flows[p.v.rows[r]], c)) }
	style := func(r, c int) lipgloss.Style {
		f := d.Flows[p.v.rows[r]]
		if c == ccRule && (f.Rule == nil || *f.Rule == "") && len(f.Findings) > 0 {
			return st.Severity(worstOf(d, f))
		}
		if (c == ccPktsS2C || c == ccBytesS2C) && f.Packets.S2C == 0 {
			return st.Warning // one-way: nothing came back
		}
		return lipgloss.NewStyle()
	}
	return p.t.View(table.Styles{Header: st.Header, Selected: st.Selected}, cell, style)
}

// flowCell is the plain text of one cell; the caller makes it printable.
func flowCell(f *report.Flow, c int) string {
	switch c {
	case ccClient:
		return f.Client
	case ccServer:
		return f.Server
	case ccRoles:
		return roles(f)
	case ccApp:
		return app(f)
	case ccRule:
		return ruleOrFindings(f)
	case ccPktsC2S:
		return short(f.Packets.C2S)
	case ccPktsS2C:
		return short(f.Packets.S2C)
	case ccBytesC2S:
		return short(f.Bytes.C2S)
	case ccBytesS2C:
		return short(f.Bytes.S2C)
	case ccDur:
		return durHuman(flowDuration(f))
	case ccPoint:
		return f.Point
	}
	return ""
}

// worstOf is the worst severity among a flow's findings.
func worstOf(d *Data, f *report.Flow) string {
	worst := ""
	for _, id := range f.Findings {
		if g := d.Finding(id); g != nil {
			switch {
			case g.Severity == "error":
				return "error"
			case g.Severity == "warning":
				worst = "warning"
			case worst == "":
				worst = "info"
			}
		}
	}
	return worst
}

// short abbreviates a count for a narrow cell: 999, 1.2k, 34M.
func short(n uint64) string {
	if n < 1000 {
		return strconv.FormatUint(n, 10)
	}
	units := "kMGTPE"
	f := float64(n)
	i := -1
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	if f >= 100 {
		s = strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strings.TrimSuffix(s, ".0") + string(units[i])
}
