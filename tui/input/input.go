// Package input is a one-line text field for the filter prompt: type,
// move, delete, nothing more. (bubbles' textinput would pull the system
// clipboard library in for paste, which this field does not need.)
package input

import (
	"strings"
	"unicode"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Model is the field's state.
type Model struct {
	Prompt      string
	Placeholder string
	PromptStyle lipgloss.Style
	CursorStyle lipgloss.Style // the cell under the cursor (reverse video by default)
	HintStyle   lipgloss.Style // the placeholder
	value       []rune
	pos         int
	width       int
}

// New returns an empty field.
func New() Model {
	return Model{CursorStyle: lipgloss.NewStyle().Reverse(true), width: 40}
}

// SetWidth sets the cells the field may use, prompt included.
func (m *Model) SetWidth(w int) { m.width = max(w, 1) }

// SetValue replaces the text and puts the cursor at its end.
func (m *Model) SetValue(s string) {
	m.value = []rune(s)
	m.pos = len(m.value)
}

// Value returns the text.
func (m Model) Value() string { return string(m.value) }

// Update edits the text for a key press. It reports whether the text
// changed.
func (m *Model) Update(msg tea.Msg) bool {
	switch msg := msg.(type) {
	case tea.PasteMsg:
		return m.insert(msg.Content)
	case tea.KeyPressMsg:
		switch msg.String() {
		case "left", "ctrl+b":
			m.pos = max(0, m.pos-1)
		case "right", "ctrl+f":
			m.pos = min(len(m.value), m.pos+1)
		case "home", "ctrl+a":
			m.pos = 0
		case "end", "ctrl+e":
			m.pos = len(m.value)
		case "backspace", "ctrl+h":
			if m.pos > 0 {
				m.value = append(m.value[:m.pos-1], m.value[m.pos:]...)
				m.pos--
				return true
			}
		case "delete", "ctrl+d":
			if m.pos < len(m.value) {
				m.value = append(m.value[:m.pos], m.value[m.pos+1:]...)
				return true
			}
		case "ctrl+u":
			changed := m.pos > 0
			m.value = m.value[m.pos:]
			m.pos = 0
			return changed
		case "ctrl+w":
			i := m.pos
			for i > 0 && m.value[i-1] == ' ' {
				i--
			}
			for i > 0 && m.value[i-1] != ' ' {
				i--
			}
			changed := i != m.pos
			m.value = append(m.value[:i], m.value[m.pos:]...)
			m.pos = i
			return changed
		default:
			if msg.Text != "" {
				return m.insert(msg.Text)
			}
		}
	}
	return false
}

// insert adds printable text at the cursor; control characters (from a
// paste) are dropped, so the field can never echo an escape sequence.
func (m *Model) insert(s string) bool {
	var add []rune
	for _, r := range s {
		if unicode.IsPrint(r) {
			add = append(add, r)
		}
	}
	if len(add) == 0 {
		return false
	}
	v := make([]rune, 0, len(m.value)+len(add))
	v = append(v, m.value[:m.pos]...)
	v = append(v, add...)
	m.value = append(v, m.value[m.pos:]...)
	m.pos += len(add)
	return true
}

// View draws prompt, text and cursor, scrolled so the cursor is visible.
func (m Model) View() string {
	prompt := m.PromptStyle.Render(m.Prompt)
	room := max(m.width-ansi.StringWidth(m.Prompt)-1, 1)
	if len(m.value) == 0 {
		hint := ansi.Truncate(m.Placeholder, room, "…")
		return prompt + m.CursorStyle.Render(" ") + m.HintStyle.Render(hint)
	}
	start := 0
	if m.pos > room {
		start = m.pos - room
	}
	end := min(len(m.value), start+room)
	var b strings.Builder
	b.WriteString(prompt)
	b.WriteString(string(m.value[start:m.pos]))
	if m.pos < len(m.value) {
		b.WriteString(m.CursorStyle.Render(string(m.value[m.pos])))
		if m.pos+1 < end {
			b.WriteString(string(m.value[m.pos+1 : end]))
		}
	} else {
		b.WriteString(m.CursorStyle.Render(" "))
	}
	return b.String()
}
