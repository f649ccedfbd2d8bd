package audit_test

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeaudit/edgeaudit/policy/report"
)

var update = flag.Bool("update", false, "rewrite the golden reports in samples/")

const samples = "../../samples/"

// scenarios are the sample captures with a golden report: the inputs of one
// run (capture points of the same moment) and the topology they were made for.
var scenarios = []struct {
	name     string
	inputs   []string
	topology string
}{
	{"edge-mixed", []string{"edge-mixed.pcap"}, "topology.yaml"},
	{"edge-mixed-2if", []string{"edge-mixed-2if.pcapng"}, "topology.yaml"},
	{"edge-mixed-truncated", []string{"edge-mixed-truncated.pcap"}, "topology.yaml"},
	{"compliant", []string{"compliant/outside.pcap", "compliant/inside.pcap", "compliant/edge1.pcap"}, "topology.yaml"},
	{"snat-av", []string{"snat-av/outside.pcap", "snat-av/inside.pcap", "snat-av/edge1.pcap"}, "topology.yaml"},
	{"asymmetric", []string{"asymmetric/client.pcap", "asymmetric/edge1.pcap"}, "topology.yaml"},
	{"unexpected-ports", []string{"unexpected-ports.pcap"}, "topology.yaml"},
	{"unexpected-ports-noxmpp", []string{"unexpected-ports.pcap"}, "topology-noxmpp.yaml"},
	{"one-way-sip", []string{"one-way-sip.pcap"}, "topology.yaml"},
	{"one-direction-span", []string{"one-direction-span.pcap"}, "topology.yaml"},
	{"rules-external", []string{"rules/external.pcap"}, "topology.yaml"},
	{"rules-internal", []string{"rules/internal.pcap"}, "topology.yaml"},
	{"rules-ocs2007", []string{"rules/ocs2007.pcap"}, "topology-ocs2007.yaml"},
	{"edge-mixed-inferred", []string{"edge-mixed.pcap"}, ""},
}

func samplePaths(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = samples + n
	}
	return out
}

// TestGoldenReports compares each scenario's JSON report with the one
// committed in samples/golden/ (go test ./policy/audit -update rewrites
// them; review the diff).
func TestGoldenReports(t *testing.T) {
	if _, err := os.Stat(samples + "edge-mixed.pcap"); err != nil {
		t.Skip("samples not generated: run `go run ./samples/gen`")
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var rep *report.Report
			if sc.topology == "" {
				rep = auditFiles(t, nil, samplePaths(sc.inputs)...)
			} else {
				rep = auditFiles(t, loadTopology(t, samples+sc.topology), samplePaths(sc.inputs)...)
				rep.Topology.Source = sc.topology
			}
			for i := range rep.Inputs {
				rep.Inputs[i].Path = strings.TrimPrefix(rep.Inputs[i].Path, samples)
			}
			var got bytes.Buffer
			if err := report.WriteJSON(&got, rep); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(samples, "golden", sc.name+".json")
			if *update {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./policy/audit -run TestGoldenReports -update)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("report differs from %s (rerun with -update and review the diff):\n%s", path, firstDiff(got.String(), string(want)))
			}
		})
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var a, b string
		if i < len(g) {
			a = g[i]
		}
		if i < len(w) {
			b = w[i]
		}
		if a != b {
			return "line " + itoa(i+1) + ":\n got: " + a + "\nwant: " + b
		}
	}
	return ""
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

// TestManifestVerdicts checks every flow the generator lists in a manifest
// against the verdict edgeaudit gives it: the rule that allows it, or the
// finding it must raise. The manifests were written from a separate reading
// of the policy document, so this does not trust the golden files.
func TestManifestVerdicts(t *testing.T) {
	for _, m := range []string{"rules/manifest.tsv", "unexpected-ports.tsv"} {
		f, err := os.Open(samples + m)
		if err != nil {
			t.Skipf("%s: %v (run go run ./samples/gen)", m, err)
		}
		reports := map[string]*report.Report{}
		sc := bufio.NewScanner(f)
		header := true
		for sc.Scan() {
			if header {
				header = false
				continue
			}
			c := strings.Split(sc.Text(), "\t")
			if len(c) < 11 {
				continue
			}
			file, topo, transport, client, server, expRule, expFinding, note := c[0], c[1], c[2], c[3], c[4], c[8], c[9], c[10]
			key := file + "|" + topo
			rep := reports[key]
			if rep == nil {
				rep = auditFiles(t, loadTopology(t, samples+topo), samples+file)
				reports[key] = rep
			}
			name := file + " " + transport + " " + client + "->" + server
			var flow *report.Flow
			for i := range rep.Flows {
				fl := &rep.Flows[i]
				if fl.Transport == transport && fl.Client == client && fl.Server == server {
					flow = fl
					break
				}
			}
			if flow == nil {
				t.Errorf("%s (%s): flow not found", name, note)
				continue
			}
			rule := "-"
			if flow.Rule != nil {
				rule = *flow.Rule
			}
			if !oneOf(rule, strings.Split(expRule, "|")) {
				t.Errorf("%s (%s): rule %s, want %s", name, note, rule, expRule)
			}
			if expFinding == "-" {
				for _, id := range flow.Findings {
					if fd := findingByID(rep, id); fd != nil && fd.Kind != "input" {
						t.Errorf("%s (%s): unexpected finding %s %s: %s", name, note, fd.Kind, fd.Requirement, fd.Message)
					}
				}
				continue
			}
			kind, id, _ := strings.Cut(expFinding, ":")
			found := false
			for _, fid := range flow.Findings {
				if fd := findingByID(rep, fid); fd != nil && fd.Kind == kind && (fd.Requirement == id || fd.Rule == id) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s (%s): no %s finding; flow has %v", name, note, expFinding, describe(rep, flow))
			}
		}
		f.Close()
	}
}

func oneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func findingByID(rep *report.Report, id string) *report.Finding {
	for i := range rep.Findings {
		if rep.Findings[i].ID == id {
			return &rep.Findings[i]
		}
	}
	return nil
}

func describe(rep *report.Report, f *report.Flow) []string {
	var out []string
	for _, id := range f.Findings {
		if fd := findingByID(rep, id); fd != nil {
			out = append(out, fd.Kind+":"+fd.Requirement+"/"+fd.Rule)
		}
	}
	return out
}
