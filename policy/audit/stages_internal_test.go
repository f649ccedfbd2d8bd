package audit

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// TestTwoStages: reading and analysis get goroutines of their own when
// there are cores for them, except that on two cores a slow decompressor
// (which has a goroutine of its own) leaves the analysis one goroutine,
// and the decompressor of such a run's only input keeps its thread.
func TestTwoStages(t *testing.T) {
	open := func(path string) *Input {
		f, err := decode.OpenWith(path, decode.ReaderOptions{ReadAhead: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return &Input{Path: path, File: f}
	}
	plain := open("../../samples/edge-mixed.pcap")
	gz := open("../../samples/edge-mixed.pcap.gz")
	xz := open("../../samples/edge-mixed.pcap.xz")
	lz4 := open("../../samples/edge-mixed.pcap.lz4")
	for _, c := range []struct {
		name  string
		procs int
		ins   []*Input
		want  bool // two stages
		keep  bool // the decompressor keeps its thread
	}{
		{"one core", 1, []*Input{plain}, false, false},
		{"plain", 2, []*Input{plain}, true, false},
		{"gzip", 2, []*Input{gz}, false, true},
		{"gzip and xz", 2, []*Input{gz, xz}, false, false},
		{"gzip and plain", 2, []*Input{gz, plain}, true, false},
		{"lz4 is fast", 2, []*Input{lz4}, true, false},
		{"gzip, four cores", 4, []*Input{gz}, true, false},
	} {
		r := &run{}
		for _, in := range c.ins {
			r.srcs = append(r.srcs, &source{in: in})
		}
		if got := r.twoStages(c.procs); got != c.want {
			t.Errorf("%s: twoStages = %v, want %v", c.name, got, c.want)
		}
		if got := r.soleSlowFile(c.procs) != nil; got != c.keep {
			t.Errorf("%s: decompressor keeps its thread = %v, want %v", c.name, got, c.keep)
		}
		r.o.SingleStage = true // a batch's parallel job
		if r.soleSlowFile(c.procs) != nil {
			t.Errorf("%s: a parallel job's decompressor keeps its thread", c.name)
		}
	}
	f, err := decode.OpenWith("../../samples/edge-mixed.pcap.gz", decode.ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.DecompressionBound() {
		t.Error("gzip read without read-ahead is not decompressed on a goroutine of its own")
	}
}

// TestCoresAgree: a run on four cores (two stages, records loaded ahead on
// several goroutines at the end) writes exactly what a run on one core
// writes, with enough flows for many load-ahead batches, with a topology
// and with roles inferred.
func TestCoresAgree(t *testing.T) {
	path := synFlood(t, 20*loadBatch, 5061)
	top, err := policy.LoadTopology("../../samples/topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, topo := range []*policy.Topology{top, nil} {
		var out [2]bytes.Buffer
		for i, procs := range []int{1, 4} {
			prev := runtime.GOMAXPROCS(procs)
			inputs, problems := OpenFiles([]string{path})
			rep, err := Run(context.Background(), inputs, problems, Options{Topology: topo, LazyFlows: true})
			if err == nil {
				err = report.WriteJSON(&out[i], rep)
				closeResult(&GroupResult{Report: rep})
			}
			runtime.GOMAXPROCS(prev)
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
			t.Fatalf("topology %v: four cores and one differ", topo != nil)
		}
		if n := bytes.Count(out[0].Bytes(), []byte(`"community_id"`)); n != 20*loadBatch {
			t.Fatalf("%d flows in the report", n)
		}
	}
}

// TestEarlyInference: past maxPending flows, roles are inferred from those
// and later flows are judged with them as they end; the report says so.
func TestEarlyInference(t *testing.T) {
	defer func(n int) { maxPending = n }(maxPending)
	var reps [2]*report.Report
	for i, bound := range []int{maxPending, 20} {
		maxPending = bound
		inputs, problems := OpenFiles([]string{"../../samples/rules/external.pcap"})
		rep, err := Run(context.Background(), inputs, problems, Options{})
		if err != nil {
			t.Fatal(err)
		}
		reps[i] = rep
	}
	all, early := reps[0], reps[1]
	if len(early.Flows) != len(all.Flows) || len(all.Flows) <= 20 {
		t.Fatalf("%d flows, %d without the bound", len(early.Flows), len(all.Flows))
	}
	if len(early.Topology.Unchecked) == 0 || !strings.Contains(early.Topology.Unchecked[0], "first 20 flows") {
		t.Fatalf("unchecked: %q", early.Topology.Unchecked)
	}
	judged := 0
	for _, f := range early.Flows[20:] {
		if f.ServerRole != "" && f.ServerRole != "any" {
			judged++
		}
	}
	if judged == 0 {
		t.Fatal("no flow after the bound was judged with the inferred roles")
	}
}
