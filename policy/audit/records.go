package audit

import (
	"container/heap"

	"github.com/edgeaudit/edgeaudit/policy/report"
)

// records holds the flow records a report keeps: all of them up to a
// bound, or only the busiest N. Every flow gets an index, kept or not, so
// verdicts made later (inferred roles) can find their record.
type records struct {
	all     []*report.Flow // by arrival; nil where not kept
	max     int
	top     int
	heap    byBytes // indices of kept records, least bytes first (top mode)
	count   uint64  // flows seen
	dropped uint64  // over max
}

// wants reports whether a flow with this many bytes would be kept.
func (rs *records) wants(bytes uint64) bool {
	if rs.top <= 0 {
		return len(rs.all)-int(rs.dropped) < rs.max
	}
	return rs.heap.Len() < rs.top || bytesOf(rs.all[rs.heap.idx[0]]) < bytes
}

// add keeps rec (copied) if it is wanted; nil stands for a flow whose
// record was not built because it would not be kept.
func (rs *records) add(rec *report.Flow) int {
	rs.count++
	i := len(rs.all)
	if rec == nil {
		if rs.top <= 0 {
			rs.dropped++
		}
		rs.all = append(rs.all, nil)
		return i
	}
	if rs.top <= 0 {
		if len(rs.all)-int(rs.dropped) >= rs.max {
			rs.dropped++
			rs.all = append(rs.all, nil)
			return i
		}
		c := *rec
		rs.all = append(rs.all, &c)
		return i
	}
	rs.heap.all = rs.all
	if rs.heap.Len() >= rs.top {
		least := rs.heap.idx[0]
		if bytesOf(rs.all[least]) >= bytesOf(rec) {
			rs.all = append(rs.all, nil)
			return i
		}
		heap.Pop(&rs.heap)
		rs.all[least] = nil
	}
	c := *rec
	rs.all = append(rs.all, &c)
	rs.heap.all = rs.all
	heap.Push(&rs.heap, i)
	return i
}

func (rs *records) get(i int) *report.Flow {
	if i < 0 || i >= len(rs.all) {
		return nil
	}
	return rs.all[i]
}

// list returns the kept records (Report.Finish orders them).
func (rs *records) list() []report.Flow {
	n := 0
	for _, r := range rs.all {
		if r != nil {
			n++
		}
	}
	out := make([]report.Flow, 0, n)
	for _, r := range rs.all {
		if r != nil {
			out = append(out, *r)
		}
	}
	return out
}

func bytesOf(r *report.Flow) uint64 { return r.Bytes.C2S + r.Bytes.S2C }

type byBytes struct {
	all []*report.Flow
	idx []int
}

func (h byBytes) Len() int           { return len(h.idx) }
func (h byBytes) Less(i, j int) bool { return bytesOf(h.all[h.idx[i]]) < bytesOf(h.all[h.idx[j]]) }
func (h byBytes) Swap(i, j int)      { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *byBytes) Push(x any)        { h.idx = append(h.idx, x.(int)) }
func (h *byBytes) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}
