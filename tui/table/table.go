// Package table is a windowed, keyboard-driven table: it draws only the rows
// on screen, so a list of half a million flows costs the same to render as a
// list of ten. Rows are not stored here; the owner hands a cell function to
// View, which keeps filtering and sorting in the pane that knows the data.
package table

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Column describes one column. Widths are in terminal cells.
type Column struct {
	Title string
	Min   int  // width the column needs to be useful
	Max   int  // widest it grows to; 0 means no limit
	Flex  int  // share of spare width; 0 keeps it at Min
	Right bool // right-align (numbers)
	// Drop orders which columns disappear first on a narrow terminal:
	// higher drops first, 0 never drops.
	Drop int
}

// Styles are the table's styles; the owner passes its shared ones.
type Styles struct {
	Header   lipgloss.Style
	Selected lipgloss.Style
}

// Model is the table's state: size, cursor and scroll offset.
type Model struct {
	cols    []Column
	widths  []int // 0 for a dropped column
	width   int
	height  int // rows of body, header excluded
	rows    int
	cursor  int
	offset  int
	SortCol int  // column index showing the sort mark, -1 for none
	SortAsc bool // the direction the mark shows
	// Empty is drawn in place of the rows when there are none.
	Empty string
}

// New returns a table with the given columns.
func New(cols []Column) Model {
	m := Model{cols: cols, SortCol: -1}
	m.layout()
	return m
}

// SetSize sets the width and the total height, header line included.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = max(w, 1), max(h-1, 1)
	m.layout()
	m.clamp()
}

// SetRows tells the table how many rows there are now; the cursor stays on
// its index (clamped), which keeps it still while rows are appended.
func (m *Model) SetRows(n int) {
	m.rows = n
	m.clamp()
}

// Rows returns the row count.
func (m Model) Rows() int { return m.rows }

// Cursor returns the selected row index, -1 when the table is empty.
func (m Model) Cursor() int {
	if m.rows == 0 {
		return -1
	}
	return m.cursor
}

// SetCursor moves the cursor to row i (clamped) and scrolls it into view.
func (m *Model) SetCursor(i int) {
	m.cursor = i
	m.clamp()
}

// Move moves the cursor by d rows.
func (m *Model) Move(d int) { m.SetCursor(m.cursor + d) }

// Page returns the number of body rows, the distance of a page move.
func (m Model) Page() int { return m.height }

// Scroll moves the window by d rows without losing the cursor, as a mouse
// wheel does.
func (m *Model) Scroll(d int) {
	m.offset = max(0, min(m.offset+d, m.rows-m.height))
	m.cursor = max(m.offset, min(m.cursor, m.offset+m.height-1))
	m.clamp()
}

// Visible reports whether column i is drawn at the current width.
func (m Model) Visible(i int) bool { return m.widths[i] > 0 }

func (m *Model) clamp() {
	if m.rows == 0 {
		m.cursor, m.offset = 0, 0
		return
	}
	m.cursor = max(0, min(m.cursor, m.rows-1))
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+m.height {
		m.offset = m.cursor - m.height + 1
	}
	m.offset = max(0, min(m.offset, max(0, m.rows-m.height)))
}

// layout gives every column its width: all at Min, drop the most droppable
// until they fit, then share what is left by Flex.
func (m *Model) layout() {
	m.widths = make([]int, len(m.cols))
	shown := make([]bool, len(m.cols))
	for i := range m.cols {
		shown[i] = true
	}
	need := func() int {
		n, k := 0, 0
		for i, c := range m.cols {
			if shown[i] {
				n += c.Min
				k++
			}
		}
		return n + max(k-1, 0)
	}
	for need() > m.width {
		worst := -1
		for i, c := range m.cols {
			if shown[i] && c.Drop > 0 && (worst < 0 || c.Drop > m.cols[worst].Drop) {
				worst = i
			}
		}
		if worst < 0 {
			break
		}
		shown[worst] = false
	}
	spare := m.width - need()
	flex := 0
	for i, c := range m.cols {
		if shown[i] {
			m.widths[i] = c.Min
			flex += c.Flex
		}
	}
	// Hand out spare cells one at a time in Flex proportion so rounding
	// never overflows the line and Max is respected.
	for spare > 0 && flex > 0 {
		gave := false
		for i, c := range m.cols {
			if !shown[i] || c.Flex == 0 || (c.Max > 0 && m.widths[i] >= c.Max) {
				continue
			}
			for k := 0; k < c.Flex && spare > 0; k++ {
				if c.Max > 0 && m.widths[i] >= c.Max {
					break
				}
				m.widths[i]++
				spare--
				gave = true
			}
		}
		if !gave {
			break
		}
	}
	if need() > m.width { // nothing left to drop: squeeze the last column
		for i := len(m.cols) - 1; i >= 0; i-- {
			if shown[i] {
				m.widths[i] = max(1, m.widths[i]-(need()-m.width))
				break
			}
		}
	}
}

// View draws the header and the visible rows. cell returns the plain text
// of a cell (already made printable by the caller); style, when not nil,
// styles a cell of an unselected row.
func (m Model) View(st Styles, cell func(row, col int) string, style func(row, col int) lipgloss.Style) string {
	var b strings.Builder
	head := make([]string, len(m.cols))
	for i, c := range m.cols {
		t := c.Title
		if i == m.SortCol {
			if m.SortAsc {
				t += "↑"
			} else {
				t += "↓"
			}
		}
		head[i] = t
	}
	b.WriteString(st.Header.Render(m.line(func(i int) string { return head[i] })))
	end := min(m.offset+m.height, m.rows)
	drawn := end - m.offset
	if m.rows == 0 && m.Empty != "" {
		b.WriteString("\n" + Fit("  "+m.Empty, m.width, false))
		drawn = 1
	}
	for r := m.offset; r < end; r++ {
		b.WriteByte('\n')
		if r == m.cursor {
			b.WriteString(st.Selected.Render(m.line(func(i int) string { return cell(r, i) })))
			continue
		}
		b.WriteString(m.styledLine(r, cell, style))
	}
	for r := drawn; r < m.height; r++ {
		b.WriteByte('\n')
	}
	return b.String()
}

// line lays plain cells out to exactly the table's width.
func (m Model) line(text func(i int) string) string {
	var b strings.Builder
	first := true
	for i, c := range m.cols {
		if m.widths[i] == 0 {
			continue
		}
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(Fit(text(i), m.widths[i], c.Right))
	}
	return Fit(b.String(), m.width, false)
}

func (m Model) styledLine(r int, cell func(row, col int) string, style func(row, col int) lipgloss.Style) string {
	if style == nil {
		return m.line(func(i int) string { return cell(r, i) })
	}
	var b strings.Builder
	first, used := true, 0
	for i, c := range m.cols {
		if m.widths[i] == 0 {
			continue
		}
		if !first {
			b.WriteByte(' ')
			used++
		}
		first = false
		b.WriteString(style(r, i).Render(Fit(cell(r, i), m.widths[i], c.Right)))
		used += m.widths[i]
	}
	if used < m.width {
		b.WriteString(strings.Repeat(" ", m.width-used))
	}
	return b.String()
}

// Fit truncates s to w cells (with an ellipsis) or pads it to w.
func Fit(s string, w int, right bool) string {
	if w <= 0 {
		return ""
	}
	n := ansi.StringWidth(s)
	if n > w {
		return ansi.Truncate(s, w, "…")
	}
	pad := strings.Repeat(" ", w-n)
	if right {
		return pad + s
	}
	return s + pad
}
