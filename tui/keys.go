package tui

import "charm.land/bubbles/v2/key"

// KeyMap is every key the UI answers to. The help screen and the one-line
// hint are generated from it, so a key cannot work without being listed.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	Open, Back                              key.Binding
	Next, Prev, Overview, Findings, Flows   key.Binding
	Filter, Severity, Kind, App, Role       key.Binding
	Point, Clear                            key.Binding
	Sort, Reverse                           key.Binding
	Write, Copy                             key.Binding
	Help, Quit                              key.Binding
}

// DefaultKeys returns the key map. Quick filters use the initial of what
// they filter (s, k, a, r, p) and cycle through the values present.
func DefaultKeys() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	return KeyMap{
		Up:       b("↑/k", "up", "up", "k", "ctrl+p"),
		Down:     b("↓/j", "down", "down", "j", "ctrl+n"),
		PageUp:   b("pgup", "page up", "pgup", "ctrl+b", "ctrl+u"),
		PageDown: b("pgdn/space", "page down", "pgdown", "space", "ctrl+f", "ctrl+d"),
		Top:      b("home/g", "first", "home", "g"),
		Bottom:   b("end/G", "last", "end", "G"),
		Open:     b("enter", "open detail", "enter"),
		Back:     b("esc", "back", "esc", "backspace"),
		Next:     b("tab", "next screen", "tab"),
		Prev:     b("shift+tab", "previous screen", "shift+tab"),
		Overview: b("1", "overview", "1"),
		Findings: b("2", "findings", "2"),
		Flows:    b("3", "flows", "3"),
		Filter:   b("/", "filter by text", "/"),
		Severity: b("s", "cycle severity filter", "s"),
		Kind:     b("K", "cycle kind filter", "K"),
		App:      b("a", "cycle app filter", "a"),
		Role:     b("r", "cycle role filter", "r"),
		Point:    b("p", "cycle capture point filter", "p"),
		Clear:    b("c", "clear all filters", "c"),
		Sort:     b("o", "sort by next column", "o"),
		Reverse:  b("O", "reverse sort", "O"),
		Write:    b("w", "write packets to pcapng", "w"),
		Copy:     b("y", "copy Wireshark filter", "y"),
		Help:     b("?", "help", "?"),
		Quit:     b("q", "quit", "q", "ctrl+c"),
	}
}

// ShortHelp is the always-visible hint.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Quit, k.Help, k.Next, k.Open, k.Back, k.Filter, k.Severity, k.Write, k.Copy}
}

// FullHelp is the help screen, in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Open, k.Back},
		{k.Next, k.Prev, k.Overview, k.Findings, k.Flows, k.Sort, k.Reverse},
		{k.Filter, k.Severity, k.Kind, k.App, k.Role, k.Point, k.Clear},
		{k.Write, k.Copy, k.Help, k.Quit},
	}
}
