package tui

import (
	"context"
	"log"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/edgeaudit/edgeaudit/tui/input"
)

// screen is what fills the body.
type screen int

const (
	scrOverview screen = iota
	scrFindings
	scrFlows
	scrDetail
	scrHelp
)

// chrome is the lines around the body: header, progress, status, hint.
const chrome = 4

// Model is the root of the UI. It owns the layout and the Context, routes
// messages to the panes, and handles the keys that mean the same on every
// screen; each pane handles its own.
type Model struct {
	ctx      *Context
	cfg      Config
	next     tea.Cmd // reads the next batch from the pipeline; nil in tests
	screen   screen
	back     screen // where Esc leaves the detail view to
	beneath  screen // what the help screen covers
	overview *overviewPane
	findings *findingsPane
	flows    *flowsPane
	detail   *detailPane
	help     *helpPane
	input    input.Model
	editing  bool
	notice   string
	problem  bool // notice is an error
	hints    help.Model
	quitting bool
	sized    bool
}

// New builds the model. feed may be nil when messages are sent by hand
// (tests); otherwise Init starts reading batches from it.
func New(cfg Config, feed *Feed) *Model {
	ctx := &Context{Width: 80, Height: 24, Styles: NewStyles(true), Keys: DefaultKeys(), Data: newData(),
		Topology: cfg.Topology, Rules: cfg.Rules, Points: cfg.Points}
	if cfg.Styles != nil {
		ctx.Styles = *cfg.Styles
	}
	// The findings list comes first: in an outage, what is wrong matters
	// before how much was read.
	m := &Model{ctx: ctx, cfg: cfg, screen: scrFindings, back: scrFindings, beneath: scrFindings, overview: newOverview(ctx), findings: newFindings(ctx), flows: newFlows(ctx),
		detail: newDetail(ctx), help: newHelp(ctx), hints: help.New()}
	if feed != nil {
		m.next = feed.Next
	}
	m.input = input.New()
	m.input.Prompt = "/"
	m.input.Placeholder = "text to look for (enter keeps, esc clears)"
	m.restyle()
	m.layout()
	return m
}

// Init starts reading the pipeline and asks the terminal for its
// background so the styles can suit it.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	if m.next != nil {
		cmds = append(cmds, m.next)
	}
	return tea.Batch(cmds...)
}

// Context exposes the shared context (tests inspect it).
func (m *Model) Context() *Context { return m.ctx }

// Update routes a message. Data messages update the Data and the panes
// catch up lazily; keys go to the input, the global keys, or the pane.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.ctx.Width, m.ctx.Height, m.sized = msg.Width, msg.Height, true
		m.layout()
	case tea.BackgroundColorMsg:
		if m.cfg.Styles == nil {
			m.ctx.Styles = NewStyles(msg.IsDark())
			m.restyle()
		}
	case batchMsg:
		m.ctx.Data.apply(msg)
		return m, m.next
	case doneMsg:
		m.ctx.Data.finish(msg)
		if msg.Err != nil && msg.Err != context.Canceled {
			log.Printf("audit stopped: %v", msg.Err)
		}
	case timelineMsg:
		return m, m.detail.Update(msg)
	case writtenMsg:
		m.setNotice(msg.text(), msg.err != nil)
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.MouseWheelMsg:
		m.paneUpdate(msg)
	}
	return m, nil
}

func (m *Model) setNotice(s string, problem bool) { m.notice, m.problem = s, problem }

// key handles a key press.
func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	keys := &m.ctx.Keys
	if m.editing {
		return m.editKey(k)
	}
	m.notice = "" // a message lasts until the next key
	switch {
	case key.Matches(k, keys.Quit):
		m.quitting = true
		if m.cfg.Cancel != nil {
			m.cfg.Cancel() // Run waits for the pipeline after the program ends
		}
		return tea.Quit
	case m.screen == scrHelp:
		if key.Matches(k, keys.Help, keys.Back) {
			m.screen = m.beneath
		} else {
			m.help.Update(k)
		}
		return nil
	case key.Matches(k, keys.Help):
		m.beneath, m.screen = m.screen, scrHelp
	case key.Matches(k, keys.Next):
		m.switchTo((m.listScreen() + 1) % 3)
	case key.Matches(k, keys.Prev):
		m.switchTo((m.listScreen() + 2) % 3)
	case key.Matches(k, keys.Overview):
		m.switchTo(scrOverview)
	case key.Matches(k, keys.Findings):
		m.switchTo(scrFindings)
	case key.Matches(k, keys.Flows):
		m.switchTo(scrFlows)
	case key.Matches(k, keys.Back) && m.screen == scrDetail:
		m.detail.close()
		m.screen = m.back
	case key.Matches(k, keys.Filter):
		return m.startFilter()
	case key.Matches(k, keys.Severity, keys.Kind, keys.App, keys.Role, keys.Point, keys.Clear):
		m.quickFilter(k)
	case key.Matches(k, keys.Write):
		return m.write()
	case key.Matches(k, keys.Copy):
		return m.copyFilter()
	default:
		return m.paneUpdate(k)
	}
	return nil
}

// listScreen is the screen tab/shift+tab count from: the detail view
// counts as the list it was opened from.
func (m *Model) listScreen() screen {
	switch m.screen {
	case scrDetail:
		return m.back
	case scrHelp:
		return m.beneath
	}
	return m.screen
}

func (m *Model) switchTo(s screen) {
	if m.screen == scrDetail {
		m.detail.close()
	}
	m.screen = s
}

// paneUpdate hands a message to the pane on screen.
func (m *Model) paneUpdate(msg tea.Msg) tea.Cmd {
	switch m.screen {
	case scrOverview:
		return m.overview.Update(msg)
	case scrFindings:
		if m.findings.Update(msg) {
			m.detail.ShowFinding(m.findings.Selected())
			m.back, m.screen = scrFindings, scrDetail
		}
	case scrFlows:
		if m.flows.Update(msg) {
			m.back, m.screen = scrFlows, scrDetail
			return m.detail.ShowFlow(m.flows.Selected())
		}
	case scrDetail:
		return m.detail.Update(msg)
	case scrHelp:
		m.help.Update(msg)
	}
	return nil
}

// startFilter opens the text filter for the list on screen (the overview
// and the detail view filter the list they lead to).
func (m *Model) startFilter() tea.Cmd {
	switch m.screen {
	case scrOverview:
		m.screen = scrFindings
	case scrDetail:
		m.screen = m.back
	}
	m.editing = true
	m.input.SetValue(m.query())
	return nil
}

func (m *Model) query() string {
	if m.screen == scrFlows {
		return m.flows.Query()
	}
	return m.findings.Query()
}

func (m *Model) setQuery(q string) {
	if m.screen == scrFlows {
		m.flows.SetQuery(q)
	} else {
		m.findings.SetQuery(q)
	}
}

// editKey handles keys while the filter input has focus: the list follows
// every keystroke, Enter keeps the filter, Esc drops it.
func (m *Model) editKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "ctrl+c":
		m.editing = false
		return m.key(k)
	case "esc":
		m.editing = false
		m.setQuery("")
		return nil
	case "enter":
		m.editing = false
		return nil
	}
	if m.input.Update(k) {
		m.setQuery(m.input.Value())
	}
	return nil
}

// quickFilter steps one quick filter through the values present.
func (m *Model) quickFilter(k tea.KeyPressMsg) {
	keys, d, f := &m.ctx.Keys, m.ctx.Data, &m.ctx.Filter
	switch {
	case key.Matches(k, keys.Severity):
		f.Severity = cycle(f.Severity, []string{"error", "warning", "info"})
	case key.Matches(k, keys.Kind):
		f.Kind = cycle(f.Kind, sortedKeys(d.Kinds))
	case key.Matches(k, keys.App):
		f.App = cycle(f.App, sortedKeys(d.Apps))
	case key.Matches(k, keys.Role):
		f.Role = cycle(f.Role, sortedKeys(d.Roles))
	case key.Matches(k, keys.Point):
		f.Point = cycle(f.Point, sortedKeys(d.Points))
	case key.Matches(k, keys.Clear):
		*f = Filter{}
		m.findings.SetQuery("")
		m.flows.SetQuery("")
	}
	if m.screen == scrOverview {
		m.screen = scrFindings // a filter with nothing to show it is confusing
	}
}

// restyle hands the current styles to the widgets that copy them.
func (m *Model) restyle() {
	st := &m.ctx.Styles
	hs := help.DefaultStyles(true)
	hs.ShortKey, hs.ShortDesc, hs.ShortSeparator, hs.Ellipsis = st.Key, st.Dim, st.Dim, st.Dim
	m.hints.Styles = hs
	m.input.PromptStyle, m.input.HintStyle, m.input.CursorStyle = st.Key, st.Dim, st.Selected
	m.help.Restyle()
	m.detail.render()
	m.overview.gen = -1
}

// layout gives every pane its size: the body is what the chrome leaves.
func (m *Model) layout() {
	w, h := max(m.ctx.Width, 20), max(m.ctx.Height-chrome, 1)
	for _, p := range []pane{m.overview, m.findings, m.flows, m.detail, m.help} {
		p.SetSize(w, h)
	}
	m.hints.SetWidth(w)
	m.input.SetWidth(max(w-20, 10))
}

// View draws header, progress, body, status bar and key hint.
func (m *Model) View() tea.View {
	var body string
	switch m.screen {
	case scrOverview:
		body = m.overview.View()
	case scrFindings:
		body = m.findings.View()
	case scrFlows:
		body = m.flows.View()
	case scrDetail:
		body = m.detail.View()
	case scrHelp:
		body = m.help.View()
	}
	w, h := max(m.ctx.Width, 20), max(m.ctx.Height-chrome, 1)
	body = lipgloss.NewStyle().Width(w).Height(h).MaxHeight(h).MaxWidth(w).Render(body)
	content := strings.Join([]string{m.header(), m.progressLine(), body, m.statusLine(), m.hintLine()}, "\n")
	v := tea.NewView(content)
	v.AltScreen = true
	v.WindowTitle = "edgeaudit " + P(m.cfg.Title) // file names can hold control characters too
	if m.cfg.Mouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	if pr := m.ctx.Data.Progress; m.ctx.Data.Loading() && pr.BytesTotal > 0 {
		v.ProgressBar = tea.NewProgressBar(tea.ProgressBarDefault, int(100*pr.BytesRead/pr.BytesTotal))
	} else if m.ctx.Data.Loading() {
		v.ProgressBar = tea.NewProgressBar(tea.ProgressBarIndeterminate, 0)
	}
	return v
}
