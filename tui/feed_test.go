package tui

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// The pipeline side of the feed never waits for the UI, whatever the UI
// does; the UI side gets everything, in batches, then the final report.
func TestFeedBatchesWithoutBlocking(t *testing.T) {
	f := NewFeed()
	f.interval = 20 * time.Millisecond
	const n = 50_000
	var wg sync.WaitGroup
	wg.Add(1)
	var slowest time.Duration
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			start := time.Now()
			fl := report.Flow{ID: "f" + strconv.Itoa(i), Details: map[string]string{"k": "v"}}
			f.Flow(&fl)
			fl.Details["k"] = "changed" // the pipeline reuses its records
			if i%1000 == 0 {
				f.Finding(&report.Finding{ID: "F" + strconv.Itoa(i/1000), Flows: []string{fl.ID}})
				f.Progress(audit.Progress{Packets: uint64(i)})
			}
			if d := time.Since(start); d > slowest {
				slowest = d
			}
		}
		f.Finish(&report.Report{}, nil)
	}()
	seen, batches, findings := 0, 0, 0
	for {
		switch m := f.Next().(type) {
		case batchMsg:
			batches++
			seen += len(m.Flows)
			findings += len(m.Findings)
			for _, fl := range m.Flows {
				if fl.Details["k"] != "v" {
					t.Fatalf("flow %s was not copied: %q", fl.ID, fl.Details["k"])
				}
			}
			time.Sleep(5 * time.Millisecond) // a slow UI
			continue
		case doneMsg:
			if m.Report == nil {
				t.Fatal("no report")
			}
		}
		break
	}
	wg.Wait()
	if seen != n || findings != n/1000 {
		t.Fatalf("got %d flows and %d findings, want %d and %d", seen, findings, n, n/1000)
	}
	if batches > n/100 {
		t.Errorf("%d batches for %d flows: not batching", batches, n)
	}
	t.Logf("%d flows in %d batches; slowest sink call %v", n, batches, slowest)
}
