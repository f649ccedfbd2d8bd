package tui

import (
	"cmp"
	"slices"
	"strconv"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/report"
	"github.com/edgeaudit/edgeaudit/tui/table"
)

// findingsPane is screen 2: the findings, worst first. There are few
// findings (repeats are aggregated), so the list is rebuilt whenever the
// data changes.
type findingsPane struct {
	ctx   *Context
	t     table.Model
	rows  []*report.Finding
	query string // lower-case text filter
	gen   int
	filt  Filter
}

const (
	fcID = iota
	fcSev
	fcKind
	fcReq
	fcMsg
	fcFlows
	fcCount
)

func newFindings(ctx *Context) *findingsPane {
	return &findingsPane{ctx: ctx, gen: -1, t: table.New([]table.Column{
		fcID:    {Title: "id", Min: 4, Drop: 2},
		fcSev:   {Title: "sev", Min: 5},
		fcKind:  {Title: "kind", Min: 17},
		fcReq:   {Title: "req", Min: 6},
		fcMsg:   {Title: "message", Min: 36, Flex: 1},
		fcFlows: {Title: "flows", Min: 5, Right: true},
		fcCount: {Title: "count", Min: 5, Right: true, Drop: 3},
	})}
}

func (p *findingsPane) SetSize(w, h int) { p.t.SetSize(w, h) }

// Selected returns the finding under the cursor.
func (p *findingsPane) Selected() *report.Finding {
	p.sync()
	if i := p.t.Cursor(); i >= 0 && i < len(p.rows) {
		return p.rows[i]
	}
	return nil
}

// SetQuery sets the text filter.
func (p *findingsPane) SetQuery(q string) { p.query, p.gen = lower(q), -1 }

// Query returns the text filter.
func (p *findingsPane) Query() string { return p.query }

// Count returns shown and total findings.
func (p *findingsPane) Count() (int, int) { p.sync(); return len(p.rows), len(p.ctx.Data.Findings) }

// sync rebuilds the rows when the data or a filter changed, keeping the
// cursor on the same finding.
func (p *findingsPane) sync() {
	d := p.ctx.Data
	if p.gen == d.Gen && p.filt == p.ctx.Filter {
		return
	}
	var keepID string
	if i := p.t.Cursor(); i >= 0 && i < len(p.rows) {
		keepID = p.rows[i].ID
	}
	p.gen, p.filt = d.Gen, p.ctx.Filter
	p.rows = p.rows[:0]
	for _, f := range d.Findings {
		if p.filt.MatchFinding(d, f) && textMatchFinding(f, p.query) {
			p.rows = append(p.rows, f)
		}
	}
	// The report's order: worst first, then kind, requirement, message.
	slices.SortStableFunc(p.rows, func(a, b *report.Finding) int {
		if c := cmp.Compare(sevRank(b), sevRank(a)); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Requirement, b.Requirement), cmp.Compare(a.Message, b.Message))
	})
	p.t.SetRows(len(p.rows))
	if keepID != "" && d.Report == nil { // IDs change in the final report
		for i, f := range p.rows {
			if f.ID == keepID {
				p.t.SetCursor(i)
				break
			}
		}
	}
}

func sevRank(f *report.Finding) policy.Severity { return f.SeverityOf() }

// Update handles the list's own keys; it reports whether the user asked to
// open the selected finding.
func (p *findingsPane) Update(msg tea.Msg) (open bool) {
	p.sync()
	if navigate(&p.t, p.ctx.Keys, msg) {
		return false
	}
	if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, p.ctx.Keys.Open) {
		return p.Selected() != nil
	}
	return false
}

func (p *findingsPane) View() string {
	p.sync()
	st := &p.ctx.Styles
	p.t.Empty = emptyText(p.ctx, "findings", p.query)
	// Every cell passes P: kinds and ids come from the pipeline, not from
	// packets, but a --policy file or a future detector could carry text.
	cell := func(r, c int) string { return P(p.cell(r, c)) }
	style := func(r, c int) lipgloss.Style {
		if c == fcSev {
			return st.Severity(p.rows[r].Severity)
		}
		return lipgloss.NewStyle()
	}
	return p.t.View(table.Styles{Header: st.Header, Selected: st.Selected}, cell, style)
}

func (p *findingsPane) cell(r, c int) string {
	f := p.rows[r]
	switch c {
	case fcID:
		return f.ID
	case fcSev:
		return sevShort(f.Severity)
	case fcKind:
		return f.Kind
	case fcReq:
		return f.Requirement
	case fcMsg:
		return f.Message
	case fcFlows:
		return strconv.Itoa(len(f.Flows))
	case fcCount:
		return strconv.Itoa(f.Count)
	}
	return ""
}
