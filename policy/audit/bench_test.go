package audit_test

import (
	"context"
	"os"
	"testing"

	"github.com/edgeaudit/edgeaudit/policy/audit"
)

// BenchmarkAudit is the whole analysis of the capture named by
// $EDGEAUDIT_BENCH_PCAP (make bench generates the Edge workload there):
// read, decode, flows, classification, verdicts, detectors, report. One
// op is one whole file; pkts/s is the figure to compare with the bare loop.
func BenchmarkAudit(b *testing.B) {
	path := os.Getenv("EDGEAUDIT_BENCH_PCAP")
	if path == "" {
		b.Skip("EDGEAUDIT_BENCH_PCAP not set: run `make bench` to generate the Edge workload")
	}
	var packets uint64
	for i := 0; i < b.N; i++ {
		inputs, problems := audit.OpenFiles([]string{path})
		if len(problems) > 0 {
			b.Fatal(problems[0].Message)
		}
		rep, err := audit.Run(context.Background(), inputs, nil, audit.Options{})
		if err != nil {
			b.Fatal(err)
		}
		packets += rep.Summary.Packets
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "pkts/s")
}
