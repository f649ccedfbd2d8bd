package tui

import "github.com/edgeaudit/edgeaudit/policy"

// Context is what every pane may read and only the root model writes: the
// terminal size, styles, keys, the data loaded so far and the quick
// filters. Panes hold a pointer to the one Context, so a resize, a new
// background colour or a new batch reaches them without being threaded
// through every call (gh-dash's ProgramContext).
type Context struct {
	Width, Height int // the whole terminal
	Styles        Styles
	Keys          KeyMap
	Data          *Data
	Filter        Filter
	Topology      *policy.Topology // nil when inferred
	Rules         *policy.RuleSet  // the rules in force, for naming a flow's rule
	Points        []PointSource    // capture points and the files behind them
}

// PointSource names a capture point and the file its packets are in, so
// that evidence (point, frame) can be read back for `w` and the flow
// timeline. File is empty for a live interface.
type PointSource struct {
	Point string
	File  string
	Iface int // interface index inside File for pcapng files with several
}

// pane is one screen: it draws into the size the root gives it and handles
// the keys the root does not.
type pane interface {
	SetSize(w, h int)
	View() string
}
