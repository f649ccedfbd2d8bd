package tui

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// TestMeasureBigCapture measures the UI on a large capture with the real
// pipeline: time to the first batch and the first finding, and how long
// the UI goroutine is busy per message (a key press waits at most that
// long). It is a measurement, not a pass/fail timing test, and runs only
// when EDGEAUDIT_BIG names a capture:
//
//	go run ./samples/gen -only big -n 1000000 -o /tmp/big
//	EDGEAUDIT_BIG=/tmp/big/big.pcap go test -run '^$' -bench MeasureBig -benchtime 1x -v ./tui/
func BenchmarkMeasureBigCapture(b *testing.B) {
	t := b // a measurement of one load: run with -benchtime 1x
	path := os.Getenv("EDGEAUDIT_BIG")
	if path == "" {
		t.Skip("set EDGEAUDIT_BIG to a large capture to measure")
	}
	inputs, problems := audit.OpenFiles([]string{path})
	if len(inputs) == 0 {
		t.Fatalf("%s: %v", path, problems)
	}
	feed := NewFeed()
	start := time.Now()
	sink := &timingSink{Feed: feed, start: start}
	go func() {
		rep, err := audit.Run(context.Background(), inputs, problems, audit.Options{Sink: sink})
		feed.Finish(rep, err)
	}()
	m := newTestModel(160, 48)
	send(m, press("3"), press("o"), press("o"), press("o"), press("o"), press("o"), press("o"), press("o"), press("o")) // flows by bytes: the costliest screen to keep sorted
	var firstBatch, firstFinding time.Duration
	var busy, keys []time.Duration
	batches := 0
	for {
		msg := feed.Next()
		t0 := time.Now()
		m.Update(msg)
		_ = m.View()
		busy = append(busy, time.Since(t0))
		if _, ok := msg.(doneMsg); ok {
			break
		}
		batches++
		if firstBatch == 0 {
			firstBatch = time.Since(start)
		}
		if firstFinding == 0 && len(m.ctx.Data.Findings) > 0 {
			firstFinding = time.Since(start)
		}
		// a key press between batches, as a user scrolling would send
		k0 := time.Now()
		m.Update(press("down"))
		_ = m.View()
		keys = append(keys, time.Since(k0))
	}
	total := time.Since(start)
	d := m.ctx.Data
	slices.Sort(busy)
	slices.Sort(keys)
	pct := func(s []time.Duration, p float64) time.Duration {
		if len(s) == 0 {
			return 0
		}
		return s[min(len(s)-1, int(float64(len(s))*p))]
	}
	t.Logf("%s: %d packets, %d flows, %d findings in %v (%d batches)", path, d.Progress.Packets, len(d.Flows), len(d.Findings), total, batches)
	t.Logf("first batch after %v, first finding on screen after %v (the pipeline emitted it after %v)", firstBatch, firstFinding, sink.firstFinding)
	t.Logf("UI busy per batch (Update+View): median %v, p99 %v, max %v", pct(busy, 0.5), pct(busy, 0.99), busy[len(busy)-1])
	t.Logf("key press (Update+View) while loading: median %v, max %v", pct(keys, 0.5), pct(keys, 1))
	// After loading, on the flows table sorted by bytes: a key, a re-sort.
	k0 := time.Now()
	m.Update(press("down"))
	_ = m.View()
	t.Logf("key press on %d flows after loading: %v", len(d.Flows), time.Since(k0))
	k0 = time.Now()
	m.Update(press("O"))
	_ = m.View()
	t.Logf("reverse sort of %d flows: %v", len(d.Flows), time.Since(k0))
	k0 = time.Now()
	send(m, press("/"), press("1"))
	_ = m.View()
	t.Logf("text filter keystroke over %d flows: %v", len(d.Flows), time.Since(k0))
}

// timingSink notes when the pipeline emits its first finding, to tell the
// pipeline's latency from the UI's.
type timingSink struct {
	*Feed
	start        time.Time
	firstFinding time.Duration
}

func (s *timingSink) Finding(f *report.Finding) {
	if s.firstFinding == 0 {
		s.firstFinding = time.Since(s.start)
	}
	s.Feed.Finding(f)
}
