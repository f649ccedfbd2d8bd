package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

func loadTopology(t *testing.T, path string) *policy.Topology {
	t.Helper()
	topo, err := policy.LoadTopology(path)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func auditFiles(t *testing.T, topo *policy.Topology, paths ...string) *report.Report {
	t.Helper()
	inputs, problems := audit.OpenFiles(paths)
	if len(problems) > 0 {
		t.Fatalf("open: %s", problems[0].Message)
	}
	rep, err := audit.Run(context.Background(), inputs, nil, audit.Options{Topology: topo, TopologyPath: "topology.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestSameFlowsInEveryForm checks that compression and the pcapng container
// change nothing in the analysis, and that standard input reads the same.
func TestSameFlowsInEveryForm(t *testing.T) {
	base := "../../samples/edge-mixed.pcap"
	if _, err := os.Stat(base); err != nil {
		t.Skip("samples not generated: run `go run ./samples/gen`")
	}
	topo := loadTopology(t, "../../samples/topology.yaml")
	want := auditFiles(t, topo, base)
	if len(want.Flows) == 0 {
		t.Fatal("no flows in the plain sample")
	}
	forms := map[string]string{".gz": "gzip", ".zst": "zstd", ".lz4": "lz4", ".bz2": "bzip2", ".xz": "xz"}
	for ext, name := range forms {
		path := base + ext
		t.Run(ext, func(t *testing.T) {
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s not generated", path)
			}
			got := auditFiles(t, topo, path)
			compareFlows(t, want, got)
			if got.Inputs[0].Compression != name {
				t.Errorf("compression %q for %s, want %s", got.Inputs[0].Compression, ext, name)
			}
		})
	}
	t.Run("pcapng", func(t *testing.T) {
		got := auditFiles(t, topo, "../../samples/edge-mixed.pcapng")
		compareFlows(t, want, got)
	})
	t.Run("stdin", func(t *testing.T) {
		// The same bytes through a pipe: no size, no seeking.
		data, err := os.ReadFile(base + ".zst")
		if err != nil {
			t.Skip("zstd sample missing")
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		go func() { w.Write(data); w.Close() }()
		f, err := decode.NewReader(r, "-", -1)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := audit.Run(context.Background(), []*audit.Input{{Src: f, File: f, Path: "-", Name: "edge-mixed.pcap"}}, nil,
			audit.Options{Topology: topo, TopologyPath: "topology.yaml"})
		if err != nil {
			t.Fatal(err)
		}
		compareFlows(t, want, rep)
	})
}

// compareFlows compares what the analysis found, ignoring where the bytes
// came from.
func compareFlows(t *testing.T, want, got *report.Report) {
	t.Helper()
	if len(got.Flows) != len(want.Flows) {
		t.Fatalf("%d flows, want %d", len(got.Flows), len(want.Flows))
	}
	for i := range want.Flows {
		w, g := want.Flows[i], got.Flows[i]
		g.Point, w.Point = "", ""
		if !reflect.DeepEqual(w, g) {
			t.Errorf("flow %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if !reflect.DeepEqual(got.Summary, want.Summary) {
		t.Errorf("summary %+v, want %+v", got.Summary, want.Summary)
	}
}

// TestBinaryFromStdin runs the real command with the capture on stdin.
func TestBinaryFromStdin(t *testing.T) {
	base := "../../samples/edge-mixed.pcap.gz"
	if _, err := os.Stat(base); err != nil {
		t.Skip("samples not generated")
	}
	bin := filepath.Join(t.TempDir(), "edgeaudit")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/edgeaudit").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	in, err := os.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := exec.Command(bin, "audit", "--format", "json", "--topology", "../../samples/topology.yaml", "-")
	cmd.Stdin = in
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("audit -: %v", err)
		}
	}
	if !strings.Contains(string(out), `"compression": "gzip"`) {
		t.Fatalf("unexpected report:\n%.400s", out)
	}
}

// TestTopFlows keeps only the busiest flows' records while counting and
// judging every flow, as the text report does to bound memory.
func TestTopFlows(t *testing.T) {
	path := "../../samples/unexpected-ports.pcap"
	if _, err := os.Stat(path); err != nil {
		t.Skip("samples not generated")
	}
	topo := loadTopology(t, "../../samples/topology.yaml")
	all := auditFiles(t, topo, path)
	inputs, _ := audit.OpenFiles([]string{path})
	top, err := audit.Run(context.Background(), inputs, nil, audit.Options{Topology: topo, TopFlows: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Flows) != 3 || top.Summary.Flows != all.Summary.Flows {
		t.Fatalf("%d records, summary %d flows; want 3 and %d", len(top.Flows), top.Summary.Flows, all.Summary.Flows)
	}
	busiest := append([]report.Flow(nil), all.Flows...)
	sort.SliceStable(busiest, func(i, j int) bool {
		return busiest[i].Bytes.C2S+busiest[i].Bytes.S2C > busiest[j].Bytes.C2S+busiest[j].Bytes.S2C
	})
	want := map[string]bool{}
	for _, f := range busiest[:3] {
		want[f.ID] = true
	}
	for _, f := range top.Flows {
		if !want[f.ID] {
			t.Errorf("kept %s (%d bytes), not one of the 3 busiest", f.ID, f.Bytes.C2S+f.Bytes.S2C)
		}
	}
	if !reflect.DeepEqual(top.Summary.Findings, all.Summary.Findings) || len(top.Findings) != len(all.Findings) {
		t.Errorf("findings differ: %v vs %v", top.Summary.Findings, all.Summary.Findings)
	}
}

// TestStagesAgree: the two-stage pipeline must give exactly the report of
// the single-goroutine run, on every sample scenario.
func TestStagesAgree(t *testing.T) {
	if _, err := os.Stat(samples + "edge-mixed.pcap"); err != nil {
		t.Skip("samples not generated")
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var topo *policy.Topology
			if sc.topology != "" {
				topo = loadTopology(t, samples+sc.topology)
			}
			var out [2]bytes.Buffer
			for i, single := range []bool{true, false} {
				inputs, _ := audit.OpenFiles(samplePaths(sc.inputs))
				rep, err := audit.Run(context.Background(), inputs, nil, audit.Options{Topology: topo, SingleStage: single})
				if err != nil {
					t.Fatal(err)
				}
				report.WriteJSON(&out[i], rep)
			}
			if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
				t.Errorf("two-stage report differs:\n%s", firstDiff(out[1].String(), out[0].String()))
			}
		})
	}
}

// TestLazyFlowsAgree: a report whose flow records stay in the run's spool
// until written (LazyFlows, as `audit` runs) must write exactly what the
// report holding them writes, in every format, with ids prefixed as in a
// batch, and keeping only the busiest too.
func TestLazyFlowsAgree(t *testing.T) {
	if _, err := os.Stat(samples + "edge-mixed.pcap"); err != nil {
		t.Skip("samples not generated")
	}
	for _, sc := range scenarios {
		for _, top := range []int{0, 2} {
			t.Run(fmt.Sprintf("%s/top%d", sc.name, top), func(t *testing.T) {
				var topo *policy.Topology
				if sc.topology != "" {
					topo = loadTopology(t, samples+sc.topology)
				}
				var out [2]bytes.Buffer
				for i, lazy := range []bool{false, true} {
					inputs, _ := audit.OpenFiles(samplePaths(sc.inputs))
					rep, err := audit.Run(context.Background(), inputs, nil, audit.Options{Topology: topo, LazyFlows: lazy, TopFlows: top})
					if err != nil {
						t.Fatal(err)
					}
					if lazy != (rep.Source != nil) || lazy && len(rep.Flows) > 0 {
						t.Fatalf("lazy=%v: Source %v, %d flows held", lazy, rep.Source != nil, len(rep.Flows))
					}
					rep.PrefixIDs("g1/")
					for _, format := range []string{"json", "ndjson", "text", "csv"} {
						if err := report.Write(&out[i], rep, format); err != nil {
							t.Fatal(err)
						}
					}
					if err := report.NewBatchNDJSON(&out[i]).Group(rep, "g1"); err != nil {
						t.Fatal(err)
					}
					if c, ok := rep.Source.(io.Closer); ok {
						c.Close()
					}
				}
				if out[0].Len() < 100 || !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
					t.Errorf("lazy report differs:\n%s", firstDiff(out[1].String(), out[0].String()))
				}
			})
		}
	}
}
