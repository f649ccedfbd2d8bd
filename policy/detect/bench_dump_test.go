package detect

import (
	"os"
	"testing"
)

func TestDumpWorkload(t *testing.T) {
	path := os.Getenv("EDGEAUDIT_BENCH_PCAP")
	if path == "" {
		t.Skip()
	}
	_, fs, _ := play(t, os.Getenv("EDGEAUDIT_TOPO"), true, path)
	seen := map[string]int{}
	for _, f := range fs {
		k := string(f.Kind) + " " + f.Severity.String() + " " + f.Subject
		if seen[k] == 0 {
			t.Logf("%s: %s | %v", k, f.Message, f.Evidence)
		}
		seen[k]++
	}
	t.Logf("%d distinct of %d", len(seen), len(fs))
}
