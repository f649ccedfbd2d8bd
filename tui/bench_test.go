package tui

import (
	"strconv"
	"testing"
)

// bigBatch makes n synthetic flows, numbered from base.
func bigBatch(base, n int) batchMsg {
	var b batchMsg
	tmpl := fixtureFlows()
	for i := 0; i < n; i++ {
		f := tmpl[i%len(tmpl)]
		f.ID = "b" + strconv.Itoa(base+i)
		f.Bytes.C2S = uint64((base + i) * 7919 % 100000)
		f.Client = "203.0.113." + strconv.Itoa((base+i)%250) + ":" + strconv.Itoa(1024+(base+i)%60000)
		b.Flows = append(b.Flows, &f)
	}
	return b
}

// The UI goroutine's cost of one 100 ms batch of 5,000 flows arriving
// while the flows table (already 500,000 rows) is on screen sorted by
// bytes: a key press waits at most this long.
func BenchmarkBatchIntoSortedTable(b *testing.B) {
	m := newTestModel(160, 48)
	send(m, bigBatch(0, 500_000), press("3"))
	for i := 0; i < 8; i++ {
		send(m, press("o"))
	}
	_ = m.View()
	batches := make([]batchMsg, b.N)
	for i := range batches {
		batches[i] = bigBatch(500_000+i*5000, 5000)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.Update(batches[i])
		_ = m.View()
	}
}

// A key press on a loaded 500,000-row table: only the visible rows are
// drawn, so this does not grow with the table.
func BenchmarkKeyOnLargeTable(b *testing.B) {
	m := newTestModel(160, 48)
	send(m, bigBatch(0, 500_000), press("3"))
	_ = m.View()
	down, up := press("down"), press("up")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			m.Update(down)
		} else {
			m.Update(up)
		}
		_ = m.View()
	}
}
