// Command gen writes the sample captures and topologies of edgeaudit.
//
//	go run ./samples/gen [-o samples] [-only NAME] [-n N]
//
// Every scenario uses fixed seeds and fixed timestamps, so the same flags
// always produce byte-identical files (TestDeterministic checks it, and
// TestCommittedUpToDate checks the committed files equal a fresh run).
// -n N writes only the large "big" capture with N packets (for TUI and
// performance tests; not committed).
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
)

// scenario is one named group of output files.
type scenario struct {
	name string
	doc  string
	run  func(g *gen) error
}

// scenarios lists everything the default run writes, in order.
var scenarios = []scenario{
	{"topology", "topology files", genTopologies},
	{"edge-mixed", "mixed compliant Edge traffic outside the HLB, in every container/compression", genEdgeMixed},
	{"compliant", "compliant pool at outside, inside and edge1", genCompliant},
	{"snat-av", "HLB SNATs A/V (HLB-02/06)", genSnatAV},
	{"asymmetric", "Edge default route bypasses the HLB (HLB-03/10)", genAsymmetric},
	{"unexpected-ports", "ports and protocols the policy must reject", genUnexpected},
	{"one-way-sip", "one-way SIP and a one-direction SPAN", genOneWay},
	{"rules", "allowed flow and near misses for each of the 33 port rules", genRules},
}

type written struct {
	name    string
	size    int
	packets int
}

// gen carries the output directory and what has been written.
type gen struct {
	out     string
	n       int
	written []written
	notes   []string
}

// rngFor returns the fixed random source of a scenario: each scenario
// has its own seed so adding one never changes the bytes of another.
func rngFor(name string) *rand.Rand {
	var h uint64 = 14695981039346656037
	for _, c := range []byte(name) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return rand.New(rand.NewPCG(h, 0x5eed0edc))
}

func main() {
	out := flag.String("o", "samples", "output directory")
	only := flag.String("only", "", "comma-separated scenario names (big: the -n capture)")
	n := flag.Int("n", 0, "write the big capture with this many packets (implies -only big unless -only is given)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./samples/gen [-o DIR] [-only NAME,...] [-n N]\n\nscenarios:\n")
		for _, s := range scenarios {
			fmt.Fprintf(flag.CommandLine.Output(), "  %-17s %s\n", s.name, s.doc)
		}
		fmt.Fprintf(flag.CommandLine.Output(), "  %-17s %s\n\nflags:\n", "big", "large mixed capture of -n packets (default 100000), not committed")
		flag.PrintDefaults()
	}
	flag.Parse()
	g := &gen{out: *out, n: *n}
	if err := g.run(*only); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for _, w := range g.written {
		fmt.Printf("%-45s %9d bytes %7d packets\n", w.name, w.size, w.packets)
	}
	for _, s := range g.notes {
		fmt.Println("note:", s)
	}
}

func (g *gen) run(only string) error {
	want := map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	if g.n > 0 && len(want) == 0 {
		want["big"] = true
	}
	if want["big"] {
		if g.n <= 0 {
			g.n = 100000
		}
		if err := genBig(g); err != nil {
			return err
		}
	}
	for _, s := range scenarios {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		if err := s.run(g); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	sort.SliceStable(g.written, func(i, j int) bool { return g.written[i].name < g.written[j].name })
	return nil
}
