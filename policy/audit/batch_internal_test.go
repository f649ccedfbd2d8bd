package audit

import (
	"context"
	"os"
	"testing"
)

// TestLastTimeStopsAtBound: the pre-scan reads only as far as it must.
func TestLastTimeStopsAtBound(t *testing.T) {
	path := "../../samples/edge-mixed.pcap.gz"
	if _, err := os.Stat(path); err != nil {
		t.Skip("samples not generated")
	}
	full, _ := sniff(BatchFile{Path: path, Explicit: true})
	lastTime(context.Background(), full, 0)
	if !full.lastKnown || full.Last <= full.First {
		t.Fatalf("full read: last %d first %d known %v", full.Last, full.First, full.lastKnown)
	}
	part, _ := sniff(BatchFile{Path: path, Explicit: true})
	lastTime(context.Background(), part, part.First+1)
	if part.lastKnown || part.Last < part.First+1 || part.Last >= full.Last {
		t.Errorf("bounded read: last %d (full %d), known %v: want to stop early", part.Last, full.Last, part.lastKnown)
	}
}
