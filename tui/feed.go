package tui

import (
	"maps"
	"slices"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// batchInterval is how often the UI takes what the pipeline produced: often
// enough that findings appear as they are found, rarely enough that a
// multi-GB capture does not flood the event loop with a message per flow.
const batchInterval = 100 * time.Millisecond

// Feed is the audit.Sink between the pipeline goroutine and the UI. The
// pipeline's calls only copy under a mutex and poke a channel without
// blocking, so a slow terminal never slows the audit; the UI drains what
// piled up at most every batchInterval through the command Next returns.
type Feed struct {
	mu       sync.Mutex
	pending  batchMsg
	final    *doneMsg
	notify   chan struct{} // capacity 1: "there is something to take"
	lastTake time.Time
	interval time.Duration
}

// batchMsg carries what the pipeline produced since the previous batch.
type batchMsg struct {
	Flows    []*report.Flow
	Findings []*report.Finding // replace by ID: a finding that grew comes again
	Progress audit.Progress
	HasProg  bool
}

// doneMsg carries the final report (IDs renumbered) when the run ends.
type doneMsg struct {
	Report *report.Report
	Err    error
}

// NewFeed returns an empty feed.
func NewFeed() *Feed {
	return &Feed{notify: make(chan struct{}, 1), interval: batchInterval}
}

var _ audit.Sink = (*Feed)(nil)

func (f *Feed) poke() {
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

// Flow implements audit.Sink. The record is copied: the pipeline may reuse it.
func (f *Feed) Flow(fl *report.Flow) {
	c := *fl
	c.Details = maps.Clone(fl.Details)
	c.Findings = slices.Clone(fl.Findings)
	f.mu.Lock()
	f.pending.Flows = append(f.pending.Flows, &c)
	f.mu.Unlock()
	f.poke()
}

// Finding implements audit.Sink.
func (f *Feed) Finding(fd *report.Finding) {
	c := *fd
	c.Flows = slices.Clone(fd.Flows)
	c.Evidence = slices.Clone(fd.Evidence)
	f.mu.Lock()
	f.pending.Findings = append(f.pending.Findings, &c)
	f.mu.Unlock()
	f.poke()
}

// Progress implements audit.Sink.
func (f *Feed) Progress(p audit.Progress) {
	f.mu.Lock()
	f.pending.Progress, f.pending.HasProg = p, true
	f.mu.Unlock()
	f.poke()
}

// Finish hands over the run's result; the UI gets it after the last batch.
func (f *Feed) Finish(rep *report.Report, err error) {
	f.mu.Lock()
	f.final = &doneMsg{Report: rep, Err: err}
	f.mu.Unlock()
	f.poke()
}

// Next is a command that waits for the next batch (or the final report).
// The model issues it again after every batchMsg, the pattern of Bubble
// Tea's realtime example; after the doneMsg it is not issued again.
func (f *Feed) Next() tea.Msg {
	for {
		<-f.notify
		if wait := f.interval - time.Since(f.lastTake); wait > 0 {
			time.Sleep(wait) // let more pile up: one batch per interval
		}
		f.mu.Lock()
		b := f.pending
		f.pending = batchMsg{}
		fin := f.final
		f.lastTake = time.Now()
		f.mu.Unlock()
		if len(b.Flows) > 0 || len(b.Findings) > 0 || b.HasProg {
			if fin != nil {
				f.poke() // the final report follows on the next call
			}
			return b
		}
		if fin != nil {
			return *fin
		}
	}
}
