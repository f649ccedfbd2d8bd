package audit_test

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// BenchmarkAudit is the whole analysis of the capture named by
// $EDGEAUDIT_BENCH_PCAP (make bench generates the Edge workload there):
// read, decode, flows, classification, verdicts, detectors, report. One
// op is one whole file, as edgeaudit audit runs it (flow records spooled,
// the text report written); pkts/s is the figure to compare with the bare loop.
func BenchmarkAudit(b *testing.B) {
	path := os.Getenv("EDGEAUDIT_BENCH_PCAP")
	if path == "" {
		b.Skip("EDGEAUDIT_BENCH_PCAP not set: run `make bench` to generate the Edge workload")
	}
	defer audit.TuneGC(1)() // as edgeaudit audit does
	var packets uint64
	for i := 0; i < b.N; i++ {
		inputs, problems := audit.OpenFiles([]string{path})
		if len(problems) > 0 {
			b.Fatal(problems[0].Message)
		}
		rep, err := audit.Run(context.Background(), inputs, nil, audit.Options{LazyFlows: true, TopFlows: report.TextTopFlows})
		if err != nil {
			b.Fatal(err)
		}
		if err := report.Write(io.Discard, rep, "text"); err != nil {
			b.Fatal(err)
		}
		if c, ok := rep.Source.(io.Closer); ok {
			c.Close()
		}
		packets += rep.Summary.Packets
	}
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "pkts/s")
}
