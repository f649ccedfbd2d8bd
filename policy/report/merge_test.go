package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func strp(s string) *string { return &s }

// groupReport is a small correlated group: two files, a flow at each,
// a finding involving both, one about the first, one about none.
func groupReport(g string) *Report {
	a, b := "/arc/"+g+"/outside.pcap", "/arc/"+g+"/inside.pcap"
	r := &Report{
		Inputs: []Input{
			{Path: a, Point: a, Format: "pcap", Compression: "none", Packets: 10, Bytes: 1000, First: "2026-03-10T09:15:00Z", Last: "2026-03-10T09:15:01Z"},
			{Path: b, Point: b, Format: "pcap", Compression: "gzip", Packets: 7, Bytes: 700, First: "2026-03-10T09:15:00.5Z", Last: "2026-03-10T09:15:01Z", Error: "damaged"},
		},
		Topology: Topology{Source: "inferred", Unchecked: []string{"x"}},
		Flows: []Flow{
			{ID: g + "/f0-1", Point: a, Transport: "udp", Client: "203.0.113.10:62623", Server: "198.51.100.13:3478", App: "stun", Rule: strp("EXT-N-09"),
				Packets: Dirs{3, 4}, Bytes: Dirs{300, 400}, First: "2026-03-10T09:15:00.25Z", Last: "2026-03-10T09:15:01Z", Findings: []string{g + "/F1"}},
			{ID: g + "/f1024-1", Point: b, Transport: "tcp", Client: "[2001:db8::1]:443", Server: "[2001:db8::2]:50000", App: "tls",
				Packets: Dirs{1, 0}, Bytes: Dirs{60, 0}, First: "2026-03-10T09:15:00.75Z", Last: "2026-03-10T09:15:00.75Z"},
		},
		Findings: []Finding{
			{ID: g + "/F1", Kind: "snat-av", Severity: "error", Requirement: "HLB-02", Message: "translated", Count: 1, Flows: []string{g + "/f0-1", g + "/f1024-1"},
				Evidence: []Evidence{{Point: a, Packet: 3, Time: "2026-03-10T09:15:00.3Z", Detail: "x"}}},
			{ID: g + "/F2", Kind: "input", Severity: "warning", Message: a + " is damaged", Count: 1, Flows: []string{}, Evidence: []Evidence{}},
			{ID: g + "/F3", Kind: "input", Severity: "info", Message: "the flow table was full", Count: 1, Flows: []string{}, Evidence: []Evidence{}},
		},
	}
	r.Summary = Summary{Packets: 17, Flows: 2}
	return r
}

func TestFileRows(t *testing.T) {
	rows := FileRows(groupReport("g1"), "g1")
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	a, b := rows[0], rows[1]
	if a.Packets != 10 || a.Flows != 1 || a.Error != 1 || a.Warning != 1 || a.Info != 0 {
		t.Errorf("outside row %+v: want the shared error and its own warning", a)
	}
	if b.Packets != 7 || b.Flows != 1 || b.Error != 1 || b.Warning != 0 || b.Info != 0 || b.Damaged == "" {
		t.Errorf("inside row %+v: want the shared error only, damaged", b)
	}
}

func mergedJSON(t *testing.T, spool bool, order []int) string {
	t.Helper()
	m := &Merger{Spool: spool}
	defer m.Close()
	for _, i := range order {
		g := []string{"g1", "g2", "g3"}[i]
		if err := m.Add(i, groupReport(g), g); err != nil {
			t.Fatal(err)
		}
	}
	m.AddFinding(Finding{ID: "p00000001", Kind: "input", Severity: "error", Message: "/arc/x could not be read", Flows: []string{}, Evidence: []Evidence{}}, "/arc/x")
	var buf bytes.Buffer
	if err := m.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestMergerOrderAndSpool: the combined report does not depend on the
// order groups finished in, and spooling flows writes the same document
// as keeping them.
func TestMergerOrderAndSpool(t *testing.T) {
	want := mergedJSON(t, false, []int{0, 1, 2})
	for _, spool := range []bool{false, true} {
		for _, order := range [][]int{{0, 1, 2}, {2, 0, 1}, {1, 2, 0}} {
			if got := mergedJSON(t, spool, order); got != want {
				t.Fatalf("spool %v order %v differs:\n%s\nwant\n%s", spool, order, got, want)
			}
		}
	}
	var r Report
	if err := json.Unmarshal([]byte(want), &r); err != nil {
		t.Fatal(err)
	}
	if r.Summary.Packets != 51 || r.Summary.Flows != 6 || len(r.Inputs) != 6 || len(r.Flows) != 6 {
		t.Errorf("summary %+v, %d inputs, %d flows", r.Summary, len(r.Inputs), len(r.Flows))
	}
	if f := r.Summary.Findings; f["error"] != 4 || f["warning"] != 3 || f["info"] != 3 {
		t.Errorf("findings %v", f)
	}
	if r.Findings[0].SeverityOf() < r.Findings[len(r.Findings)-1].SeverityOf() {
		t.Error("findings not worst first")
	}
}

func TestMergerTextTable(t *testing.T) {
	m := &Merger{DropFlows: true}
	for i, g := range []string{"g1", "g2"} {
		m.Add(i, groupReport(g), g)
	}
	var buf bytes.Buffer
	if err := m.WriteText(&buf, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(buf.String(), "\nFILES\n")
	if !ok {
		t.Fatal("no FILES table")
	}
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 6 || !strings.Contains(lines[5], "TOTAL (4 files)") || strings.Fields(lines[5])[0] != "34" {
		t.Errorf("table:\n%s", table)
	}
	if !strings.Contains(table, "/arc/g1/inside.pcap  (damaged)") {
		t.Error("damaged file not marked")
	}
}

func TestParquetRoundTrip(t *testing.T) {
	var fl, fi, fs bytes.Buffer
	w := NewParquetWriter(&fl, &fi, &fs)
	if err := w.Group(groupReport("g1"), "g1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Finding(&Finding{ID: "p1", Kind: "input", Severity: "error", Message: "m"}, "/arc/x"); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	flows := readAll[FlowRow](t, fl.Bytes())
	if len(flows) != 2 {
		t.Fatalf("%d flow rows", len(flows))
	}
	f0, f1 := flows[0], flows[1]
	if f0.File != "/arc/g1/outside.pcap" || f0.ClientIP != "203.0.113.10" || f0.ClientPort != 62623 || f0.Rule == nil || *f0.Rule != "EXT-N-09" ||
		f0.PacketsS2C != 4 || f0.BytesC2S != 300 || f0.First != 1773134100250000000 || len(f0.Findings) != 1 || f0.SchemaVersion != 1 {
		t.Errorf("flow row %+v", f0)
	}
	if f1.Rule != nil || f1.ServerIP != "2001:db8::2" || f1.ServerPort != 50000 || f1.Group != "g1" {
		t.Errorf("flow row %+v", f1)
	}
	finds := readAll[FindingRow](t, fi.Bytes())
	if len(finds) != 4 || len(finds[0].Files) != 2 || finds[0].FirstEvidence == 0 || finds[3].File != "/arc/x" || finds[2].File != "" {
		t.Errorf("finding rows %+v", finds)
	}
	files := readAll[FileParquetRow](t, fs.Bytes())
	if len(files) != 2 || files[1].Compression != "gzip" || files[1].Damaged != "damaged" || files[0].Errors != 1 || files[0].Warnings != 1 {
		t.Errorf("file rows %+v", files)
	}
	pf, err := parquet.OpenFile(bytes.NewReader(fl.Bytes()), int64(fl.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := pf.Lookup(ParquetSchemaKey); v != ParquetSchema {
		t.Errorf("schema metadata %q", v)
	}
}

func readAll[T any](t *testing.T, b []byte) []T {
	t.Helper()
	r := parquet.NewGenericReader[T](bytes.NewReader(b))
	defer r.Close()
	out := make([]T, r.NumRows())
	n, err := r.Read(out)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return out[:n]
}

// TestSpoolWithoutTempDir: where no temporary file can be made (a
// read-only file system), spools hold their bytes in memory and the
// merged report is the same.
func TestSpoolWithoutTempDir(t *testing.T) {
	want := mergedJSON(t, true, []int{0, 1, 2})
	t.Setenv("TMPDIR", "/nonexistent/edgeaudit-test")
	sp := NewSpool()
	defer sp.Close()
	if sp.f != nil {
		t.Fatal("spool made a file in a directory that does not exist")
	}
	io.WriteString(sp, "hello, ")
	io.WriteString(sp, "spool")
	var b bytes.Buffer
	if _, err := sp.WriteTo(&b); err != nil || b.String() != "hello, spool" {
		t.Fatalf("WriteTo: %q, %v", b.String(), err)
	}
	if got := mergedJSON(t, true, []int{0, 1, 2}); got != want {
		t.Errorf("merged report differs with the spool in memory:\n%s\nwant\n%s", got, want)
	}
}

func TestNaturalLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"F2", "F10", true}, {"F10", "F2", false}, {"F2", "F2", false},
		{"g2/F7", "g10/F1", true}, {"g1/F10", "g2/F1", true}, {"g1/F2", "g1/F10", true},
		{"F", "F1", true}, {"F01", "F2", true}, {"a", "b", true},
	} {
		if got := naturalLess(c.a, c.b); got != c.want {
			t.Errorf("naturalLess(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

// TestBusiest: keeping the busiest flows as they come gives what sorting
// all of them (stably) and taking the first n gives, ties included.
func TestBusiest(t *testing.T) {
	var all []Flow
	b := busiest{n: 5}
	for i := range 103 {
		f := Flow{ID: fmt.Sprint(i)}
		f.Bytes.C2S, f.Bytes.S2C = uint64(i*7%11), uint64(i%3)
		all = append(all, f)
		b.add(&f)
		if len(b.top) >= 4*b.n {
			t.Fatalf("%d flows held", len(b.top))
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		return all[i].Bytes.C2S+all[i].Bytes.S2C > all[j].Bytes.C2S+all[j].Bytes.S2C
	})
	got := b.flows()
	for i := range 5 {
		if got[i].ID != all[i].ID {
			t.Fatalf("busiest %d is %s, want %s", i, got[i].ID, all[i].ID)
		}
	}
}

// sliceSource is a FlowSource over flows held in a slice, rendered afresh
// for every call as the audit's is.
type sliceSource []Flow

func (s sliceSource) Len() int { return len(s) }
func (s sliceSource) Each(fn func(*Flow) error) error {
	for _, f := range s {
		f.Findings = append([]string(nil), f.Findings...)
		if err := fn(&f); err != nil {
			return err
		}
	}
	return nil
}
func (s sliceSource) Refs(fn func(id, point string)) {
	for _, f := range s {
		fn(f.ID, f.Point)
	}
}

// TestRenumberTwice: findings renumbered twice (and then prefixed) are
// still what the source's flows point at.
func TestRenumberTwice(t *testing.T) {
	r := &Report{Source: sliceSource{{ID: "f0-1", Findings: []string{"F2"}}},
		Findings: []Finding{{ID: "F1", Severity: "info", Kind: "a"}, {ID: "F2", Severity: "error", Kind: "b"}}}
	r.Finish() // the error first: F2 is now F1
	r.Findings[0], r.Findings[1] = r.Findings[1], r.Findings[0]
	r.renumber() // and now F2 again
	r.PrefixIDs("g1/")
	var got []string
	r.EachFlow(func(f *Flow) error { got = f.Findings; return nil })
	if len(got) != 1 || got[0] != "g1/F2" || r.Findings[1].Kind != "b" || r.Findings[1].ID != "g1/F2" {
		t.Fatalf("flow points at %v; findings %+v", got, r.Findings)
	}
}
