package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

const samples = "../../samples"

// execute runs the command line in-process and returns its output and
// exit status.
func execute(t testing.TB, stdin string, args ...string) (string, string, int) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	err := root.Execute()
	code := exitOK
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
			if ee.err != nil {
				errb.WriteString(ee.err.Error())
			}
		} else {
			code = exitUsage
			errb.WriteString(err.Error())
		}
	}
	return out.String(), errb.String(), code
}

func cp(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// archive builds a nested archive of plain and compressed captures: every
// sample capture in archive/site1/<year>/, the snat-av points in
// archive/site2/snat-av/, the damaged sample alone in archive/damaged/,
// and a text file that is not a capture. It returns the root and the
// capture files in it.
func archive(t testing.TB) (string, []string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(samples, "snat-av", "outside.pcap")); err != nil {
		t.Skip("samples not generated: run `go run ./samples/gen`")
	}
	root := filepath.Join(t.TempDir(), "archive")
	var caps []string
	top, _ := filepath.Glob(filepath.Join(samples, "*.pcap*"))
	for i, src := range top {
		if strings.Contains(src, "truncated") {
			continue
		}
		// Spread over two levels so that no two overlap in one directory
		// except where meant.
		dst := filepath.Join(root, "site1", "2026", "m"+string(rune('a'+i)), filepath.Base(src))
		cp(t, src, dst)
		caps = append(caps, dst)
	}
	for _, n := range []string{"edge1.pcap", "inside.pcap", "outside.pcap"} {
		dst := filepath.Join(root, "site2", "snat-av", n)
		cp(t, filepath.Join(samples, "snat-av", n), dst)
		caps = append(caps, dst)
	}
	dmg := filepath.Join(root, "damaged", "edge-mixed-truncated.pcap")
	cp(t, filepath.Join(samples, "edge-mixed-truncated.pcap"), dmg)
	caps = append(caps, dmg)
	if err := os.WriteFile(filepath.Join(root, "site2", "README.txt"), []byte("captures of site 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sort.Strings(caps)
	return root, caps
}

func decodeReport(t testing.TB, js string) *report.Report {
	t.Helper()
	var r report.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("report: %v\n%.500s", err, js)
	}
	return &r
}

func inputPaths(r *report.Report) []string {
	var out []string
	for _, in := range r.Inputs {
		out = append(out, in.Path)
	}
	sort.Strings(out)
	return out
}

func TestAuditArchive(t *testing.T) {
	root, caps := archive(t)
	topo := filepath.Join(samples, "topology.yaml")

	js, stderr, code := execute(t, "", "audit", "--topology", topo, "--format", "json", "--jobs", "2", root)
	if code != exitFindings && code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rep := decodeReport(t, js)
	if got := inputPaths(rep); strings.Join(got, "\n") != strings.Join(caps, "\n") {
		t.Fatalf("inputs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(caps, "\n"))
	}
	var packets uint64
	for _, in := range rep.Inputs {
		if in.Packets == 0 {
			t.Errorf("%s: no packets", in.Path)
		}
		packets += in.Packets
	}
	if rep.Summary.Packets != packets || packets == 0 {
		t.Errorf("summary %d packets, inputs sum to %d", rep.Summary.Packets, packets)
	}
	if rep.Summary.Flows != uint64(len(rep.Flows)) {
		t.Errorf("summary %d flows, %d records", rep.Summary.Flows, len(rep.Flows))
	}
	ids := map[string]bool{}
	for _, f := range rep.Flows {
		if ids[f.ID] {
			t.Fatalf("flow id %s twice", f.ID)
		}
		ids[f.ID] = true
	}
	for _, f := range rep.Findings {
		if ids[f.ID] {
			t.Fatalf("finding id %s twice", f.ID)
		}
		ids[f.ID] = true
		for _, ref := range f.Flows {
			if !ids[ref] {
				t.Errorf("finding %s names unknown flow %s", f.ID, ref)
			}
		}
	}
	var damaged, note bool
	for _, f := range rep.Findings {
		if f.Kind == "input" && strings.Contains(f.Message, "edge-mixed-truncated.pcap is damaged at frame") {
			damaged = true
		}
		if f.Kind == "input" && f.Severity == "info" && strings.Contains(f.Message, "README.txt") {
			note = true
		}
	}
	if !damaged {
		t.Error("no input finding for the damaged file")
	}
	if !note {
		t.Error("no info note for the text file")
	}
	// The snat-av directory is one correlated group: its three points'
	// flows share a group prefix.
	groupOf := map[string]string{}
	for _, f := range rep.Flows {
		g, _, _ := strings.Cut(f.ID, "/")
		groupOf[f.Point] = g
	}
	snat := filepath.Join(root, "site2", "snat-av")
	g1, g2, g3 := groupOf[filepath.Join(snat, "outside.pcap")], groupOf[filepath.Join(snat, "inside.pcap")], groupOf[filepath.Join(snat, "edge1.pcap")]
	if g1 == "" || g1 != g2 || g2 != g3 {
		t.Errorf("snat-av points in groups %q %q %q, want one", g1, g2, g3)
	}
	// What one run of the directory alone finds (the SNAT on A/V of
	// HLB-02 when the detectors report it), the batch finds.
	alone, _, _ := execute(t, "", "audit", "--topology", topo, "--format", "json", snat)
	for _, f := range decodeReport(t, alone).Findings {
		found := false
		for _, g := range rep.Findings {
			// Messages name points: base names alone, paths in a batch.
			if g.Kind == f.Kind && g.Requirement == f.Requirement && g.Severity == f.Severity &&
				strings.Contains(g.Message, snat) == strings.Contains(f.Message, "outside.pcap") {
				found = true
			}
		}
		if !found {
			t.Errorf("finding of the snat-av run missing in the batch: %s %s %s", f.Kind, f.Requirement, f.Message)
		}
	}

	// Text: the per-file table and a total.
	text, _, _ := execute(t, "", "audit", "--topology", topo, root)
	_, table, ok := strings.Cut(text, "\nFILES\n")
	if !ok {
		t.Fatalf("no FILES table:\n%s", text)
	}
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != len(caps)+2 {
		t.Fatalf("FILES table has %d lines, want header + %d + total:\n%s", len(lines), len(caps), table)
	}
	for _, c := range caps {
		if !strings.Contains(table, c) {
			t.Errorf("no row for %s", c)
		}
	}
	total := strings.Fields(lines[len(lines)-1])
	if total[0] != jsonNumber(rep.Summary.Packets) || !strings.Contains(lines[len(lines)-1], "TOTAL") {
		t.Errorf("total row %q, want %d packets", lines[len(lines)-1], rep.Summary.Packets)
	}
	if !strings.Contains(table, "edge-mixed-truncated.pcap  (damaged)") {
		t.Error("damaged file not marked in the table")
	}

	// NDJSON: every record names its file; one input record per file.
	nd, _, _ := execute(t, "", "audit", "--topology", topo, "--format", "ndjson", root)
	sc := bufio.NewScanner(strings.NewReader(nd))
	sc.Buffer(nil, 1<<20)
	inputs := 0
	types := map[string]int{}
	for sc.Scan() {
		var rec struct {
			Type, File, Group string
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		types[rec.Type]++
		if rec.File == "" && !(rec.Type == "finding" && rec.Group != "") {
			t.Errorf("record without file: %s", sc.Text())
		}
		if rec.Type == "input" {
			inputs++
		}
	}
	if inputs != len(caps) || types["flow"] != len(rep.Flows) || types["finding"] != len(rep.Findings) {
		t.Errorf("ndjson records %v, want %d inputs, %d flows, %d findings", types, len(caps), len(rep.Flows), len(rep.Findings))
	}

	// CSV: the findings with a file column.
	cs, _, _ := execute(t, "", "audit", "--topology", topo, "--format", "csv", root)
	rows, err := csv.NewReader(strings.NewReader(cs)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][len(rows[0])-1] != "file" || len(rows) != len(rep.Findings)+1 {
		t.Errorf("csv header %v, %d rows, want a file column and %d findings", rows[0], len(rows)-1, len(rep.Findings))
	}
	for _, r := range rows[1:] {
		if strings.Contains(r[6], "truncated.pcap is damaged") && !strings.HasSuffix(r[len(r)-1], "edge-mixed-truncated.pcap") {
			t.Errorf("damaged finding's file column %q", r[len(r)-1])
		}
	}
}

func jsonNumber(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// TestShardsCoverAndMerge: --shard 1/2 and 2/2 cover every file exactly
// once, and merge gives the totals of one run.
func TestShardsCoverAndMerge(t *testing.T) {
	root, caps := archive(t)
	topo := filepath.Join(samples, "topology.yaml")
	one, _, code := execute(t, "", "audit", "--topology", topo, "--format", "json", root)
	if code == exitUsage {
		t.Fatal("audit failed")
	}
	whole := decodeReport(t, one)

	dir := t.TempDir()
	seen := map[string]int{}
	var parts []string
	for _, s := range []string{"1/2", "2/2"} {
		out := filepath.Join(dir, "report-"+strings.ReplaceAll(s, "/", "of")+".json")
		_, stderr, code := execute(t, "", "audit", "--topology", topo, "--format", "json", "--shard", s, "-o", out, root)
		if code == exitUsage {
			t.Fatalf("shard %s: %s", s, stderr)
		}
		parts = append(parts, out)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range inputPaths(decodeReport(t, string(b))) {
			seen[p]++
		}
	}
	for _, c := range caps {
		if seen[c] != 1 {
			t.Errorf("%s in %d shards, want 1", c, seen[c])
		}
	}
	if len(seen) != len(caps) {
		t.Errorf("shards read %d files, the archive has %d", len(seen), len(caps))
	}

	js, stderr, code := execute(t, "", append([]string{"merge"}, parts...)...)
	if code == exitUsage {
		t.Fatalf("merge: %s", stderr)
	}
	merged := decodeReport(t, js)
	if a, b := merged.Summary, whole.Summary; a.Packets != b.Packets || a.Flows != b.Flows ||
		a.Findings["error"] != b.Findings["error"] || a.Findings["warning"] != b.Findings["warning"] || a.Findings["info"] != b.Findings["info"] {
		t.Errorf("merged summary %+v, one run %+v", a, b)
	}
	if strings.Join(inputPaths(merged), " ") != strings.Join(inputPaths(whole), " ") {
		t.Error("merged inputs differ from one run's")
	}
	// Same per-file rows and total in the text form.
	mt, _, _ := execute(t, "", append([]string{"merge", "--format", "text"}, parts...)...)
	wt, _, _ := execute(t, "", "audit", "--topology", topo, root)
	if rowsOf(mt) != rowsOf(wt) {
		t.Errorf("per-file rows differ:\nmerged:\n%s\none run:\n%s", rowsOf(mt), rowsOf(wt))
	}
}

// rowsOf returns a text report's FILES table, rows sorted.
func rowsOf(text string) string {
	_, table, _ := strings.Cut(text, "\nFILES\n")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestShardAutoFromJobIndex(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "JOB_COMPLETION_INDEX" {
				return v
			}
			return ""
		}
	}
	s, err := parseShard("auto/4", env("2"))
	if err != nil || s.Index != 3 || s.Count != 4 {
		t.Errorf("auto/4 with index 2: %+v %v, want 3/4", s, err)
	}
	for _, bad := range []string{"0/2", "3/2", "x/2", "1/0", "2"} {
		if _, err := parseShard(bad, env("")); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := parseShard("auto/2", env("")); err == nil {
		t.Error("auto without JOB_COMPLETION_INDEX accepted")
	}
	if _, err := parseShard("auto/2", env("2")); err == nil {
		t.Error("index 2 of 2 accepted (0-based)")
	}
}

// TestExplicitInputs: a named non-capture is an error finding; files from
// --files-from; nothing readable at all is exit 2.
func TestExplicitInputs(t *testing.T) {
	root, caps := archive(t)
	txt := filepath.Join(root, "site2", "README.txt")
	js, _, code := execute(t, "", "audit", "--format", "json", caps[0], txt)
	if code != exitFindings {
		t.Errorf("exit %d with a named non-capture, want 1", code)
	}
	found := false
	for _, f := range decodeReport(t, js).Findings {
		if f.Kind == "input" && f.Severity == "error" && strings.Contains(f.Message, "README.txt is not a capture") {
			found = true
		}
	}
	if !found {
		t.Error("no error finding for the named non-capture")
	}
	if _, _, code := execute(t, "", "audit", txt, filepath.Join(root, "missing.pcap")); code != exitUsage {
		t.Errorf("exit %d with nothing readable, want 2", code)
	}
	list := strings.Join(caps[:3], "\n") + "\n\n"
	js, stderr, code := execute(t, list, "audit", "--format", "json", "--files-from", "-")
	if code == exitUsage {
		t.Fatalf("--files-from: %s", stderr)
	}
	if got := inputPaths(decodeReport(t, js)); len(got) != 3 {
		t.Errorf("--files-from read %v", got)
	}
}

// TestParquet: the three files open with the documented columns, the
// schema version in the metadata, and as many flow rows as the JSON
// report has flows. With the duckdb CLI on the PATH, DuckDB reads them.
func TestParquet(t *testing.T) {
	root, _ := archive(t)
	topo := filepath.Join(samples, "topology.yaml")
	js, _, _ := execute(t, "", "audit", "--topology", topo, "--format", "json", root)
	rep := decodeReport(t, js)
	out := filepath.Join(t.TempDir(), "pq")
	if _, stderr, code := execute(t, "", "audit", "--topology", topo, "--format", "parquet", "-o", out, root); code == exitUsage {
		t.Fatalf("parquet: %s", stderr)
	}
	want := map[string][]string{
		report.ParquetFlows: {"schema_version", "file", "group", "point", "id", "community_id", "transport", "client", "server",
			"client_ip", "client_port", "server_ip", "server_port", "app", "app_detail", "client_role", "server_role", "rule",
			"packets_c2s", "packets_s2c", "bytes_c2s", "bytes_s2c", "first", "last", "end_reason", "findings"},
		report.ParquetFindings: {"schema_version", "file", "files", "group", "id", "kind", "severity", "requirement", "rule",
			"message", "consequence", "fix", "count", "flows", "evidence", "first_evidence", "wireshark_filter"},
		report.ParquetFiles: {"schema_version", "file", "group", "point", "format", "compression", "packets", "bytes", "flows",
			"errors", "warnings", "infos", "first", "last", "decode_errors", "damaged"},
	}
	rowsWant := map[string]int64{report.ParquetFlows: int64(len(rep.Flows)), report.ParquetFindings: int64(len(rep.Findings)), report.ParquetFiles: int64(len(rep.Inputs))}
	for name, cols := range want {
		fh, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := fh.Stat()
		pf, err := parquet.OpenFile(fh, st.Size())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, f := range pf.Schema().Fields() {
			got = append(got, f.Name())
		}
		if strings.Join(got, ",") != strings.Join(cols, ",") {
			t.Errorf("%s columns:\n%v\nwant\n%v", name, got, cols)
		}
		if v, ok := pf.Lookup(report.ParquetSchemaKey); !ok || v != report.ParquetSchema {
			t.Errorf("%s: metadata %s = %q", name, report.ParquetSchemaKey, v)
		}
		if pf.NumRows() != rowsWant[name] {
			t.Errorf("%s: %d rows, want %d", name, pf.NumRows(), rowsWant[name])
		}
		fh.Close()
	}
	// Read the flows back as rows.
	fh, _ := os.Open(filepath.Join(out, report.ParquetFlows))
	defer fh.Close()
	rd := parquet.NewGenericReader[report.FlowRow](fh)
	rows := make([]report.FlowRow, len(rep.Flows))
	n, err := rd.Read(rows)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	apps := map[string]int{}
	for _, r := range rows[:n] {
		if r.SchemaVersion != report.ParquetSchemaVersion || r.File == "" || r.First == 0 {
			t.Fatalf("row %+v", r)
		}
		apps[r.App]++
	}
	jsApps := map[string]int{}
	for _, f := range rep.Flows {
		jsApps[f.App]++
	}
	if b1, _ := json.Marshal(apps); string(b1) != func() string { b2, _ := json.Marshal(jsApps); return string(b2) }() {
		t.Errorf("apps in parquet %v, in json %v", apps, jsApps)
	}

	duck, err := exec.LookPath("duckdb")
	if err != nil {
		t.Log("duckdb CLI not on the PATH: DuckDB query not checked")
		return
	}
	q := "SELECT app, count(*) FROM '" + filepath.Join(out, report.ParquetFlows) + "' GROUP BY app ORDER BY app"
	res, err := exec.Command(duck, "-csv", "-noheader", "-c", q).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, res)
	}
	for app, n := range jsApps {
		if !strings.Contains(string(res), app+","+jsonNumber(uint64(n))) {
			t.Errorf("duckdb: no %s,%d in\n%s", app, n, res)
		}
	}
}

func TestProgressLine(t *testing.T) {
	got := progressLine(audit.BatchProgress{Files: 40, FilesDone: 12, Bytes: 4_000_000_000, BytesDone: 1_000_000_000}, 10*time.Second)
	want := "edgeaudit: 12/40 files  1.0 GB/4.0 GB  100.0 MB/s  ETA 30s"
	if got != want {
		t.Errorf("progress %q, want %q", got, want)
	}
	// Standard input: total unknown, no ETA.
	got = progressLine(audit.BatchProgress{Files: 1, Bytes: -1, BytesDone: 500}, time.Second)
	if want := "edgeaudit: 0/1 files  500 B  500 B/s"; got != want {
		t.Errorf("progress %q, want %q", got, want)
	}
	// Not a terminal: no progress line at all.
	var buf bytes.Buffer
	stop := startProgress(&buf, "auto", &audit.Batch{})
	stop()
	if buf.Len() != 0 {
		t.Errorf("progress written to a non-terminal: %q", buf.String())
	}
}

// TestOutputToFIFO: -o naming a pipe or device (as -o /dev/null does)
// writes into it rather than renaming a file over it.
func TestOutputToFIFO(t *testing.T) {
	if _, err := os.Stat(filepath.Join(samples, "edge-mixed.pcap")); err != nil {
		t.Skip("samples not generated")
	}
	fifo := filepath.Join(t.TempDir(), "out")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan []byte)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- b
	}()
	if _, stderr, code := execute(t, "", "audit", "--format", "json", "-o", fifo, filepath.Join(samples, "edge-mixed.pcap")); code == exitUsage {
		t.Fatal(stderr)
	}
	if b := <-got; !bytes.Contains(b, []byte(`"schema": "edgeaudit.report/v1"`)) {
		t.Errorf("read %d bytes from the pipe", len(b))
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced: %v %v", st.Mode(), err)
	}
}

// TestEmptyShard: a shard whose share holds no capture writes an empty
// report and succeeds (an Indexed Job's index must not fail for it).
func TestEmptyShard(t *testing.T) {
	path := filepath.Join(samples, "edge-mixed.pcap")
	if _, err := os.Stat(path); err != nil {
		t.Skip("samples not generated")
	}
	empty := 0
	for i := 1; i <= 4; i++ {
		js, stderr, code := execute(t, "", "audit", "--format", "json", "--shard", jsonNumber(uint64(i))+"/4", path)
		rep := decodeReport(t, js)
		if len(rep.Inputs) == 0 {
			empty++
			if code != exitOK || !strings.Contains(stderr, "no captures") {
				t.Errorf("empty shard %d/4: exit %d, %q", i, code, stderr)
			}
		}
	}
	if empty != 3 {
		t.Errorf("%d empty shards of 4 for one file, want 3", empty)
	}
}
