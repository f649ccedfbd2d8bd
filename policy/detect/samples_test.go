package detect

import (
	"cmp"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/flows/classify"
	"github.com/edgeaudit/edgeaudit/policy"
)

// runCaptures plays capture files through the project's decoder and flow
// table into a Detector, the way the audit pipeline wires it: the STUN
// hook, SYN/RST packets from the Packet hook, ICMP errors, the End hook,
// then Flush and Finish.
func runCaptures(t testing.TB, topoFile string, files ...string) (*Detector, []*policy.Finding) {
	d, fs, _ := play(t, topoFile, true, files...)
	return d, fs
}

// play runs the pipeline; without the detector it measures the rest.
func play(t testing.TB, topoFile string, detect bool, files ...string) (*Detector, []*policy.Finding, uint64) {
	t.Helper()
	var top *policy.Topology
	if topoFile != "" {
		var err error
		if top, err = policy.LoadTopology(topoFile); err != nil {
			t.Fatal(err)
		}
	}
	type src struct {
		f     *decode.File
		dec   *decode.Decoder
		p     decode.Packet
		ready bool
	}
	var srcs []*src
	for i, name := range files {
		f, err := decode.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.BasePoint = i * 1024
		srcs = append(srcs, &src{f: f, dec: decode.NewDecoder(decode.DecoderOptions{})})
	}
	var findings []*policy.Finding
	d := New(Config{Topology: top,
		PointName: func(p int) string { return filepath.Base(files[p/1024]) },
		Emit:      func(f *policy.Finding) { findings = append(findings, f) }})
	hooks := flows.Hooks{
		STUN: d.STUN,
		Packet: func(f *flows.Flow, dir flows.Dir, p *decode.Packet) {
			if p.Proto == decode.ProtoTCP && p.TCPFlags&(decode.TCPSyn|decode.TCPRst) != 0 {
				d.TCP(f, dir, p)
			}
		},
		End: func(f *flows.Flow) { d.FlowEnd(f, f.ID()) },
	}
	if !detect {
		hooks = flows.Hooks{STUN: func(*flows.Flow, flows.Dir, uint64, int64, *classify.STUNMessage) {},
			End: func(f *flows.Flow) { _ = f.ID() }}
	}
	table := flows.NewTable(flows.Config{}, hooks)
	var packets uint64
	advance := func(s *src) {
		for {
			err := s.f.Next(&s.p)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Logf("%s: %v", s.f.Path, err)
				}
				s.ready = false
				return
			}
			if s.dec.Decode(&s.p) == nil {
				s.ready = true
				return
			}
		}
	}
	for _, s := range srcs {
		advance(s)
	}
	for {
		var next *src
		for _, s := range srcs {
			if s.ready && (next == nil || s.p.Time < next.p.Time) {
				next = s
			}
		}
		if next == nil {
			break
		}
		p := &next.p
		packets++
		if p.Proto == decode.ProtoICMP || p.Proto == decode.ProtoICMPv6 {
			if detect {
				d.ICMP(p)
			}
		} else {
			table.Packet(p)
		}
		advance(next)
	}
	table.Flush()
	if detect {
		d.Finish(func(f *policy.Finding) { findings = append(findings, f) })
	}
	return d, findings, packets
}

// BenchmarkWorkloadShare measures what the detectors add to decode and
// flows on the benchmark workload (../shared/bench), when
// EDGEAUDIT_BENCH_PCAP names a capture of it.
func BenchmarkWorkloadShare(b *testing.B) {
	path := os.Getenv("EDGEAUDIT_BENCH_PCAP")
	if path == "" {
		b.Skip("set EDGEAUDIT_BENCH_PCAP to a capture of the benchmark workload")
	}
	for _, detect := range []bool{false, true} {
		name := "without"
		if detect {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			var n uint64
			for i := 0; i < b.N; i++ {
				d, fs, p := play(b, "", detect, path)
				n = p
				if detect && i == 0 {
					b.Logf("%d findings, stats %+v", len(fs), d.Stats())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(uint64(b.N)*n), "ns/packet")
		})
	}
}

func samplesDir(t *testing.T) string {
	dir := filepath.Join("..", "..", "samples")
	if _, err := os.Stat(filepath.Join(dir, "topology.yaml")); err != nil {
		t.Skip("samples/ not generated (go run ./samples/gen)")
	}
	return dir
}

var hlbKinds = []policy.Kind{policy.KindSNATAV, policy.KindAsymmetricReturn, policy.KindOneWaySIP, policy.KindDefaultGateway, policy.KindInternalRouting}

func TestSamples(t *testing.T) {
	dir := samplesDir(t)
	s := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
		return out
	}
	topo := filepath.Join(dir, "topology.yaml")
	cases := []struct {
		name  string
		topo  string
		files []string
		want  map[policy.Kind]int // raw findings of the HLB kinds; -1: at least one
		input int                 // input findings (one-direction capture)
	}{
		{"compliant all points", topo, s("compliant/outside.pcap", "compliant/inside.pcap", "compliant/edge1.pcap"), nil, 0},
		{"compliant outside", topo, s("compliant/outside.pcap"), nil, 0},
		{"compliant inside", topo, s("compliant/inside.pcap"), nil, 0},
		{"compliant edge1", topo, s("compliant/edge1.pcap"), nil, 0},
		{"compliant, no topology", "", s("compliant/outside.pcap", "compliant/inside.pcap", "compliant/edge1.pcap"), nil, 0},
		{"edge-mixed", topo, s("edge-mixed.pcap"), nil, 0},
		{"snat-av all points", topo, s("snat-av/outside.pcap", "snat-av/inside.pcap", "snat-av/edge1.pcap"), map[policy.Kind]int{policy.KindSNATAV: -1}, 0},
		{"snat-av edge1", topo, s("snat-av/edge1.pcap"), map[policy.Kind]int{policy.KindSNATAV: -1}, 0},
		{"snat-av inside", topo, s("snat-av/inside.pcap"), map[policy.Kind]int{policy.KindSNATAV: -1}, 0},
		{"snat-av outside", topo, s("snat-av/outside.pcap"), map[policy.Kind]int{policy.KindSNATAV: -1}, 0},
		{"snat-av outside, no topology", "", s("snat-av/outside.pcap"), map[policy.Kind]int{policy.KindSNATAV: -1}, 0},
		{"snat-av inside, no topology", "", s("snat-av/inside.pcap"), map[policy.Kind]int{policy.KindSNATAV: -1}, 0},
		{"asymmetric both", topo, s("asymmetric/client.pcap", "asymmetric/edge1.pcap"), map[policy.Kind]int{policy.KindAsymmetricReturn: -1, policy.KindDefaultGateway: -1}, 0},
		{"asymmetric client", topo, s("asymmetric/client.pcap"), map[policy.Kind]int{policy.KindAsymmetricReturn: 4}, 0},
		{"asymmetric client, no topology", "", s("asymmetric/client.pcap"), map[policy.Kind]int{policy.KindAsymmetricReturn: 4}, 0},
		{"asymmetric edge1", topo, s("asymmetric/edge1.pcap"), map[policy.Kind]int{policy.KindAsymmetricReturn: -1, policy.KindDefaultGateway: 1}, 0},
		{"one-way-sip", topo, s("one-way-sip.pcap"), map[policy.Kind]int{policy.KindOneWaySIP: 4}, 0},
		{"one-direction span", topo, s("one-direction-span.pcap"), nil, 1},
		{"one-way-sip, no topology (443 only when classified SIP)", "", s("one-way-sip.pcap"), map[policy.Kind]int{policy.KindOneWaySIP: 3}, 0},
		{"one-direction span, no topology", "", s("one-direction-span.pcap"), nil, 1},
		{"asymmetric both, no topology", "", s("asymmetric/client.pcap", "asymmetric/edge1.pcap"), map[policy.Kind]int{policy.KindAsymmetricReturn: 4}, 0},
		{"edge-mixed, no topology", "", s("edge-mixed.pcap"), nil, 0},
		{"edge-mixed two interfaces", topo, s("edge-mixed-2if.pcapng"), nil, 0},
		{"unexpected ports", topo, s("unexpected-ports.pcap"), map[policy.Kind]int{policy.KindInternalRouting: 1}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, f := range c.files {
				if _, err := os.Stat(f); err != nil {
					t.Skipf("%s missing", f)
				}
			}
			d, fs := runCaptures(t, c.topo, c.files...)
			got := kinds(fs)
			bad := false
			for _, k := range hlbKinds {
				w := c.want[k]
				if (w == -1 && got[k] == 0) || (w >= 0 && got[k] != w) {
					bad = true
					t.Errorf("%s: got %d, want %d", k, got[k], w)
				}
			}
			if got[policy.KindInput] != c.input {
				bad = true
				t.Errorf("input findings: got %d, want %d", got[policy.KindInput], c.input)
			}
			if bad || testing.Verbose() {
				for _, f := range fs {
					t.Logf("%s %s %s: %s [%s] subject %q", f.Kind, f.Severity, f.Requirement, f.Message, f.Filter, f.Subject)
					for _, e := range f.Evidence {
						t.Logf("    %s#%d %s: %s", e.Point, e.Packet, e.Time.Format(time.RFC3339Nano), e.Detail)
					}
				}
				t.Logf("stats %+v offsets %+v unchecked %q", d.Stats(), d.Offsets(), d.Unchecked())
			}
			if strings.HasPrefix(c.name, "compliant all") || c.name == "asymmetric both" {
				var edge1 time.Duration
				found := false
				for _, o := range d.Offsets() {
					if o.B == "edge1.pcap" && o.Samples >= 3 {
						edge1, found = o.Offset, true
					}
				}
				if !found || edge1 < 1400*time.Millisecond || edge1 > 1600*time.Millisecond {
					t.Errorf("edge1 clock offset %v (found %v), want about +1.5 s: %+v", edge1, found, d.Offsets())
				}
			}
		})
	}
}

// recorded is one detector event, as a sharded pipeline would carry it.
type recorded struct {
	t    int64
	kind int
	stun STUNEvent
	tcp  TCPEvent
	icmp ICMPEvent
	flow FlowEvent
}

// TestOrderIndependence replays the samples' events with the capture
// points interleaved differently (as merging sharded workers may do):
// the findings must be the same.
func TestOrderIndependence(t *testing.T) {
	dir := samplesDir(t)
	topo := filepath.Join(dir, "topology.yaml")
	for _, set := range [][]string{
		{"asymmetric/client.pcap", "asymmetric/edge1.pcap"},
		{"snat-av/outside.pcap", "snat-av/inside.pcap", "snat-av/edge1.pcap"},
		{"compliant/outside.pcap", "compliant/inside.pcap", "compliant/edge1.pcap"},
		{"one-way-sip.pcap"},
	} {
		var files []string
		for _, f := range set {
			files = append(files, filepath.Join(dir, f))
		}
		t.Run(set[0], func(t *testing.T) {
			_, base := runCaptures(t, topo, files...)
			evs := recordEvents(t, files)
			// Perturb: within 50 ms buckets, later points first.
			slices.SortStableFunc(evs, func(a, b recorded) int {
				ba, bb := a.t/int64(50*time.Millisecond), b.t/int64(50*time.Millisecond)
				if ba != bb {
					return cmp.Compare(ba, bb)
				}
				return cmp.Compare(pointOf(b), pointOf(a))
			})
			var got []*policy.Finding
			top, _ := policy.LoadTopology(topo)
			d := New(Config{Topology: top, PointName: func(p int) string { return filepath.Base(files[p/1024]) },
				Emit: func(f *policy.Finding) { got = append(got, f) }})
			for i := range evs {
				switch e := &evs[i]; e.kind {
				case 0:
					d.ObserveSTUN(&e.stun)
				case 1:
					d.ObserveTCP(&e.tcp)
				case 2:
					d.ObserveICMP(&e.icmp)
				case 3:
					d.ObserveFlow(&e.flow)
				}
			}
			d.Finish(func(f *policy.Finding) { got = append(got, f) })
			if a, b := findingSet(base), findingSet(got); !slices.Equal(a, b) {
				t.Errorf("findings differ with another event order:\nin order:\n%s\nperturbed:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
			}
		})
	}
}

func pointOf(e recorded) int32 {
	switch e.kind {
	case 0:
		return e.stun.Point
	case 1:
		return e.tcp.Point
	case 2:
		return e.icmp.Point
	}
	return e.flow.Point
}

func findingSet(fs []*policy.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Kind)+" | "+f.Subject+" | "+f.Message)
	}
	slices.Sort(out)
	return out
}

// recordEvents plays the files once more, recording the events instead of
// observing them; FlowEvents take the time of the event before them.
func recordEvents(t *testing.T, files []string) []recorded {
	var evs []recorded
	var last int64
	add := func(r recorded) {
		if r.kind == 3 {
			r.t = last
		} else {
			last = r.t
		}
		evs = append(evs, r)
	}
	type src struct {
		f   *decode.File
		dec *decode.Decoder
		p   decode.Packet
		ok  bool
	}
	var srcs []*src
	for i, name := range files {
		f, err := decode.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.BasePoint = i * 1024
		srcs = append(srcs, &src{f: f, dec: decode.NewDecoder(decode.DecoderOptions{})})
	}
	table := flows.NewTable(flows.Config{}, flows.Hooks{
		STUN: func(f *flows.Flow, dir flows.Dir, frame uint64, ts int64, m *classify.STUNMessage) {
			if Wanted(m) {
				add(recorded{t: ts, kind: 0, stun: MakeSTUNEvent(f, dir, frame, ts, m)})
			}
		},
		Packet: func(f *flows.Flow, dir flows.Dir, p *decode.Packet) {
			if p.Proto == decode.ProtoTCP && p.TCPFlags&(decode.TCPSyn|decode.TCPRst) != 0 {
				add(recorded{t: p.Time, kind: 1, tcp: MakeTCPEvent(f, p)})
			}
		},
		End: func(f *flows.Flow) { add(recorded{kind: 3, flow: MakeFlowEvent(f, f.ID())}) },
	})
	next := func(s *src) {
		for {
			if s.f.Next(&s.p) != nil {
				s.ok = false
				return
			}
			if s.dec.Decode(&s.p) == nil {
				s.ok = true
				return
			}
		}
	}
	for _, s := range srcs {
		next(s)
	}
	for {
		var n *src
		for _, s := range srcs {
			if s.ok && (n == nil || s.p.Time < n.p.Time) {
				n = s
			}
		}
		if n == nil {
			break
		}
		if n.p.Proto == decode.ProtoICMP || n.p.Proto == decode.ProtoICMPv6 {
			if n.p.Inner.Valid {
				add(recorded{t: n.p.Time, kind: 2, icmp: MakeICMPEvent(&n.p)})
			}
		} else {
			table.Packet(&n.p)
		}
		next(n)
	}
	table.Flush()
	return evs
}
