package tui

import (
	"slices"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/edgeaudit/edgeaudit/tui/table"
)

// view is the filtered, sorted list of row indices a list pane shows. It
// is kept up to date incrementally while a capture loads: new records are
// filtered once and merged into the sorted order, so a batch costs in
// proportion to its size plus one merge, not a re-sort of everything.
type view struct {
	rows  []int // indices into the Data slice
	seen  int   // records of the Data slice already considered
	epoch int   // Data.Epoch the rows refer to
	valid bool  // false: rebuild from scratch on the next sync
	spare []int // the previous rows' array, reused by the next merge
}

// sync brings v up to date with n records. keep decides whether record i
// passes the filters; less orders two records (nil: arrival order).
func (v *view) sync(n, epoch int, keep func(i int) bool, less func(a, b int) int) {
	if !v.valid || v.epoch != epoch || n < v.seen {
		v.rows, v.seen, v.epoch, v.valid = v.rows[:0], 0, epoch, true
	}
	if n == v.seen {
		return
	}
	var add []int
	for i := v.seen; i < n; i++ {
		if keep(i) {
			add = append(add, i)
		}
	}
	v.seen = n
	if less == nil || len(add) == 0 {
		v.rows = append(v.rows, add...)
		return
	}
	slices.SortStableFunc(add, less)
	if len(v.rows) == 0 {
		v.rows = add
		return
	}
	// Merge into the spare array (double buffering): a batch into half a
	// million sorted rows must not allocate megabytes every 100 ms.
	merged := v.spare[:0]
	if cap(merged) < len(v.rows)+len(add) {
		merged = make([]int, 0, (len(v.rows)+len(add))*5/4)
	}
	i, j := 0, 0
	for i < len(v.rows) && j < len(add) {
		if less(add[j], v.rows[i]) < 0 {
			merged = append(merged, add[j])
			j++
		} else {
			merged = append(merged, v.rows[i])
			i++
		}
	}
	merged = append(merged, v.rows[i:]...)
	v.rows, v.spare = append(merged, add[j:]...), v.rows
}

// invalidate forces a rebuild (filter or sort changed).
func (v *view) invalidate() { v.valid = false }

// navigate applies the movement keys and the mouse wheel to a table; it
// reports whether msg was one of them.
func navigate(t *table.Model, k KeyMap, msg tea.Msg) bool {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Up):
			t.Move(-1)
		case key.Matches(msg, k.Down):
			t.Move(1)
		case key.Matches(msg, k.PageUp):
			t.Move(-t.Page())
		case key.Matches(msg, k.PageDown):
			t.Move(t.Page())
		case key.Matches(msg, k.Top):
			t.SetCursor(0)
		case key.Matches(msg, k.Bottom):
			t.SetCursor(t.Rows() - 1)
		default:
			return false
		}
		return true
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			t.Scroll(-3)
		case tea.MouseWheelDown:
			t.Scroll(3)
		default:
			return false
		}
		return true
	}
	return false
}

// emptyText says why a list is empty: still loading, nothing found, or the
// filters hide everything.
func emptyText(ctx *Context, what, query string) string {
	switch {
	case query != "" || ctx.Filter.Active():
		return "no " + what + " match the filter (c clears it)"
	case ctx.Data.Loading():
		return "no " + what + " yet, still reading…"
	}
	return "no " + what
}

// lower lower-cases ASCII, the case folding containsFold expects.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
