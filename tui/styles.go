package tui

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// Styles are every style the panes draw with. They are built once per
// background (light or dark) and shared read-only through the Context, so a
// pane never picks its own colours and the whole UI changes together when
// the terminal reports its background.
type Styles struct {
	Title     lipgloss.Style // program name in the header
	Tab       lipgloss.Style // an inactive screen tab
	TabActive lipgloss.Style // the current screen's tab
	Header    lipgloss.Style // table headers and section titles
	Selected  lipgloss.Style // the cursor row: reverse video, visible without colour
	Dim       lipgloss.Style // secondary text
	Key       lipgloss.Style // a key in hints and help
	Status    lipgloss.Style // the status bar
	Notice    lipgloss.Style // a transient message (file written, filter copied)
	Problem   lipgloss.Style // an error message
	Error     lipgloss.Style // severity error
	Warning   lipgloss.Style // severity warning
	Info      lipgloss.Style // severity info
	Label     lipgloss.Style // field names in the detail view
	BarFull   color.Color    // progress bar fill
	BarEmpty  color.Color    // progress bar track
}

// NewStyles returns the styles for a dark or light background. Colours are
// chosen per background so that text keeps its contrast; NO_COLOR and
// terminals without colour are handled by Bubble Tea's renderer, which
// downsamples to the detected colour profile, so every distinction that
// matters also has a non-colour cue (reverse video, bold, a text label).
func NewStyles(dark bool) Styles {
	ld := lipgloss.LightDark(dark)
	accent := ld(lipgloss.Color("#005FAF"), lipgloss.Color("#5FAFFF"))
	dim := ld(lipgloss.Color("#6C6C6C"), lipgloss.Color("#8A8A8A"))
	red := ld(lipgloss.Color("#AF0000"), lipgloss.Color("#FF5F5F"))
	yellow := ld(lipgloss.Color("#875F00"), lipgloss.Color("#FFD75F"))
	blue := ld(lipgloss.Color("#005F87"), lipgloss.Color("#87AFD7"))
	green := ld(lipgloss.Color("#005F00"), lipgloss.Color("#87D787"))
	barBg := ld(lipgloss.Color("#D0D0D0"), lipgloss.Color("#3A3A3A"))
	return Styles{
		Title:     lipgloss.NewStyle().Bold(true).Foreground(accent),
		Tab:       lipgloss.NewStyle().Foreground(dim),
		TabActive: lipgloss.NewStyle().Bold(true).Underline(true),
		Header:    lipgloss.NewStyle().Bold(true),
		Selected:  lipgloss.NewStyle().Reverse(true),
		Dim:       lipgloss.NewStyle().Foreground(dim),
		Key:       lipgloss.NewStyle().Bold(true).Foreground(accent),
		Status:    lipgloss.NewStyle(),
		Notice:    lipgloss.NewStyle().Foreground(green),
		Problem:   lipgloss.NewStyle().Bold(true).Foreground(red),
		Error:     lipgloss.NewStyle().Bold(true).Foreground(red),
		Warning:   lipgloss.NewStyle().Foreground(yellow),
		Info:      lipgloss.NewStyle().Foreground(blue),
		Label:     lipgloss.NewStyle().Bold(true),
		BarFull:   accent,
		BarEmpty:  barBg,
	}
}

// PlainStyles draws without any attribute or colour. Tests use it so that
// a View holds no escape sequence at all unless one leaked from data.
func PlainStyles() Styles {
	p := lipgloss.NewStyle()
	return Styles{Title: p, Tab: p, TabActive: p, Header: p, Selected: p, Dim: p, Key: p,
		Status: p, Notice: p, Problem: p, Error: p, Warning: p, Info: p, Label: p}
}

// Severity returns the style of a severity name.
func (s *Styles) Severity(sev string) lipgloss.Style {
	switch sev {
	case "error":
		return s.Error
	case "warning":
		return s.Warning
	default:
		return s.Info
	}
}
