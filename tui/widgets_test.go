package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/edgeaudit/edgeaudit/tui/input"
	"github.com/edgeaudit/edgeaudit/tui/table"
)

func TestTableDropsColumnsToFit(t *testing.T) {
	tb := table.New(flowColumns)
	for _, w := range []int{60, 80, 100, 120, 160, 250} {
		tb.SetSize(w, 10)
		tb.SetRows(1)
		v := tb.View(table.Styles{}, func(r, c int) string { return strings.Repeat("x", 30) }, nil)
		for _, l := range strings.Split(v, "\n") {
			if n := ansi.StringWidth(l); n > w {
				t.Errorf("width %d: line of %d cells", w, n)
			}
		}
		if !tb.Visible(ccClient) || !tb.Visible(ccServer) || !tb.Visible(ccRule) {
			t.Errorf("width %d: client, server and rule must always show", w)
		}
		if w >= 160 && !tb.Visible(ccDur) {
			t.Errorf("width %d: every column should fit", w)
		}
	}
}

func TestTableCursorAndScroll(t *testing.T) {
	tb := table.New([]table.Column{{Title: "n", Min: 5}})
	tb.SetSize(10, 6) // header + 5 rows
	tb.SetRows(100)
	tb.Move(7)
	if tb.Cursor() != 7 {
		t.Fatalf("cursor %d", tb.Cursor())
	}
	v := tb.View(table.Styles{}, func(r, c int) string { return string(rune('0' + r%10)) }, nil)
	if lines := strings.Split(v, "\n"); len(lines) != 6 || strings.TrimSpace(lines[5]) != "7" {
		t.Fatalf("the cursor row is not the last visible one:\n%s", v)
	}
	tb.Scroll(50)
	if c := tb.Cursor(); c < 50 || c > 57 {
		t.Errorf("wheel scroll left the cursor off screen: %d", c)
	}
	tb.SetRows(3)
	if tb.Cursor() != 2 {
		t.Errorf("cursor not clamped: %d", tb.Cursor())
	}
	tb.SetRows(0)
	if tb.Cursor() != -1 {
		t.Errorf("empty table cursor %d", tb.Cursor())
	}
}

func TestInputEditing(t *testing.T) {
	in := input.New()
	for _, r := range "hlb 02" {
		in.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	in.Update(tea.KeyPressMsg{Code: tea.KeyLeft})
	in.Update(tea.KeyPressMsg{Code: tea.KeyLeft})
	in.Update(tea.KeyPressMsg{Code: '-', Text: "-"})
	if in.Value() != "hlb -02" {
		t.Fatalf("value %q", in.Value())
	}
	in.Update(tea.KeyPressMsg{Code: 'w', Mod: tea.ModCtrl})
	if in.Value() != "hlb 02" {
		t.Fatalf("ctrl+w: %q", in.Value())
	}
	if !in.Update(tea.PasteMsg{Content: "x\x1b[31my"}) || in.Value() != "hlb x[31my02" {
		t.Fatalf("paste must drop control characters: %q", in.Value())
	}
	if strings.ContainsRune(ansi.Strip(in.View()), 0x1b) {
		t.Fatal("escape in the field")
	}
}

func TestMouseWheelScrolls(t *testing.T) {
	m := newTestModel(80, 24)
	send(m, bigBatch(0, 200), press("3"))
	send(m, tea.MouseWheelMsg{Button: tea.MouseWheelDown}, tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if c := m.flows.t.Cursor(); c != 6 {
		t.Errorf("two wheel notches: cursor %d, want 6", c)
	}
	send(m, press("?"), tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if m.help.vp.YOffset() != 3 {
		t.Errorf("help did not scroll: offset %d", m.help.vp.YOffset())
	}
}
