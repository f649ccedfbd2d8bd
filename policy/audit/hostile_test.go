package audit

// In-process hostile inputs (issue 11): the bounds of the pipeline each
// reported as an input finding when hit, with the knobs set small so the
// floods stay small. cmd/edgeaudit/hostile_test.go drives the binary with
// full-size floods and measures memory and time.

import (
	"bufio"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// synFlood writes n SYNs from random sources to 198.51.100.100:port (port
// 0: a different port each) as a pcap and returns its path.
func synFlood(t testing.TB, n int, port uint16) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flood.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], 1)
	w.Write(h[:])
	r := rand.New(rand.NewPCG(1, uint64(n)))
	fr := make([]byte, 54)
	copy(fr, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0})
	ip := fr[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], 40)
	copy(ip[16:], []byte{198, 51, 100, 100})
	tcp := fr[34:]
	tcp[12], tcp[13] = 5<<4, 0x02
	for i := 0; i < n; i++ {
		v := r.Uint32()
		copy(ip[12:], []byte{byte(20 + v%180), byte(v >> 8), byte(v >> 16), byte(v>>24) | 1})
		binary.BigEndian.PutUint16(tcp[0:], uint16(1024+r.IntN(60000)))
		p := port
		if p == 0 {
			p = uint16(1 + i%65535)
		}
		binary.BigEndian.PutUint16(tcp[2:], p)
		binary.BigEndian.PutUint32(tcp[4:], r.Uint32())
		var rh [16]byte
		binary.LittleEndian.PutUint32(rh[0:], uint32(1_700_000_000+i/1_000_000))
		binary.LittleEndian.PutUint32(rh[4:], uint32(i%1_000_000))
		binary.LittleEndian.PutUint32(rh[8:], uint32(len(fr)))
		binary.LittleEndian.PutUint32(rh[12:], uint32(len(fr)))
		w.Write(rh[:])
		w.Write(fr)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

func runHostile(t testing.TB, path string, o Options) *report.Report {
	t.Helper()
	top, err := policy.LoadTopology("../../samples/topology.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o.Topology = top
	inputs, problems := OpenFiles([]string{path})
	rep, err := Run(context.Background(), inputs, problems, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func inputFinding(rep *report.Report, substr string) *report.Finding {
	for i := range rep.Findings {
		if f := &rep.Findings[i]; f.Kind == "input" && strings.Contains(f.Message, substr) {
			return f
		}
	}
	return nil
}

// TestHostileFloodBounds: a SYN flood hits MaxFlows and the SYN pairing
// bound, a port scan the bound on findings per kind; each is reported.
func TestHostileFloodBounds(t *testing.T) {
	n := 20_000
	rep := runHostile(t, synFlood(t, n, 8080), Options{Flows: flows.Config{MaxFlows: 2000}, TopFlows: 100})
	if f := inputFinding(rep, "flow table was full (2000 flows)"); f == nil {
		t.Errorf("MaxFlows hit but not reported: %+v", rep.Findings)
	}
	if f := inputFinding(rep, "cross-flow detectors forgot"); f == nil || !strings.Contains(f.Message, "SYNs") {
		t.Errorf("SYN bound hit but not reported")
	}
	var flood *report.Finding
	for i := range rep.Findings {
		if rep.Findings[i].Kind == "unexpected-port" {
			if flood != nil {
				t.Errorf("flood to one port gave several findings")
			}
			flood = &rep.Findings[i]
		}
	}
	if flood == nil || flood.Count < n/2 {
		t.Fatalf("flood not aggregated into one counted finding: %+v", flood)
	}
	if len(flood.Flows) > maxFlowsPerFinding || len(flood.Evidence) > maxEvidencePerFinding {
		t.Errorf("aggregated finding lists %d flows, %d evidence", len(flood.Flows), len(flood.Evidence))
	}

	// A scan of every port: distinct subjects, bounded per kind.
	const ports = 3000
	rep = runHostile(t, synFlood(t, ports, 0), Options{TopFlows: 100})
	kinds := map[string]int{}
	for _, f := range rep.Findings {
		kinds[f.Kind]++
	}
	if kinds["unexpected-port"] > maxFindingsPerKind {
		t.Errorf("%d unexpected-port findings, bound %d", kinds["unexpected-port"], maxFindingsPerKind)
	}
	f := inputFinding(rep, "distinct findings of kind unexpected-port")
	if f == nil {
		t.Fatalf("findings-per-kind bound not reported")
	}
	total := f.Count
	for _, g := range rep.Findings {
		if g.Kind == "unexpected-port" {
			total += g.Count
		}
	}
	if total < ports-10 { // 443 is allowed on the access VIP
		t.Errorf("folded and listed findings count %d occurrences, want every scanned port", total)
	}
	if f.Severity == "" {
		t.Errorf("overflow finding without a severity")
	}
}

// TestHostileAggregatorIDs: a finding folded by the per-kind bound still
// has an id to link flows to (flowrec's judgeFlow looks keys up by id).
func TestHostileAggregatorIDs(t *testing.T) {
	a := newAggregator(nil)
	var last string
	for i := 0; i < maxFindingsPerKind+10; i++ {
		f := &policy.Finding{Kind: policy.KindUnexpectedPort, Severity: policy.Error, Subject: "s" + string(rune('a'+i%26)) + strings.Repeat("x", i)}
		last = aggregateKey(f)
		id := a.add(f)
		if got := a.id(last); got != id {
			t.Fatalf("finding %d: id(key) = %q, add returned %q", i, got, id)
		}
	}
	if a.len() != maxFindingsPerKind+1 {
		t.Fatalf("%d findings kept", a.len())
	}
	o := a.overflow[policy.KindUnexpectedPort]
	if o.Count != 10 || o.Severity != policy.Error || o.Kind != policy.KindInput {
		t.Fatalf("overflow %+v", o)
	}
}

// TestHostileFloodMemory keeps an eye on the heap of a flood of distinct
// flows with the text report's flow bound (TopFlows).
func TestHostileFloodMemory(t *testing.T) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("EDGEAUDIT_FLOOD_N")); err == nil {
		n = v
	} else if testing.Short() {
		n = 50_000
	}
	path := synFlood(t, n, 8080)
	runtime.GC()
	rep := runHostile(t, path, Options{TopFlows: 20, Flows: flows.Config{MaxFlows: 20000}})
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if p := os.Getenv("EDGEAUDIT_HEAPPROFILE"); p != "" {
		f, _ := os.Create(p)
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	t.Logf("%d SYN flows: heap in use after the run %d MB, %d findings", n, ms.HeapInuse>>20, len(rep.Findings))
	_ = rep
}
