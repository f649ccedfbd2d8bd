package duckdbcheck

import (
	"bufio"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

const root = "../../.."

// documented reads the column names of each file's table in PARQUET.md.
func documented(t *testing.T) map[string][]string {
	f, err := os.Open(filepath.Join(root, "policy/report/PARQUET.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cols := map[string][]string{}
	file := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "## "); ok && strings.HasSuffix(name, ".parquet") {
			file = name
			continue
		}
		if strings.HasPrefix(line, "## ") {
			file = ""
		}
		if file == "" || !strings.HasPrefix(line, "| ") {
			continue
		}
		cell := strings.TrimSpace(strings.Split(line, "|")[1])
		if cell == "column" || strings.HasPrefix(cell, "---") {
			continue
		}
		for _, c := range strings.Split(cell, ",") {
			cols[file] = append(cols[file], strings.TrimSpace(c))
		}
	}
	return cols
}

func TestParquetOpensInDuckDB(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "edgeaudit")
	build := exec.Command("go", "build", "-o", bin, "./cmd/edgeaudit")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "pq")
	audit := exec.Command(bin, "audit", "--topology", "samples/topology.yaml", "--format", "parquet", "-o", out,
		"samples/compliant", "samples/snat-av", "samples/unexpected-ports.pcap", "samples/edge-mixed-truncated.pcap")
	audit.Dir = root
	if b, err := audit.CombinedOutput(); err != nil {
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("audit: %v\n%s", err, b)
		}
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for file, want := range documented(t) {
		path := filepath.Join(out, file)
		rows, err := db.Query("SELECT column_name FROM (DESCRIBE SELECT * FROM '" + path + "')")
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var got []string
		for rows.Next() {
			var c string
			rows.Scan(&c)
			got = append(got, c)
		}
		rows.Close()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s columns:\n got %v\nwant %v (PARQUET.md)", file, got, want)
		}
	}
	// The README's queries.
	var apps, snat int
	if err := db.QueryRow("SELECT count(DISTINCT app) FROM '" + filepath.Join(out, "flows.parquet") + "'").Scan(&apps); err != nil || apps < 5 {
		t.Errorf("flows by app: %d apps, %v", apps, err)
	}
	q := "SELECT count(*) FROM '" + filepath.Join(out, "findings.parquet") + "' WHERE kind = 'snat-av' AND requirement = 'HLB-02'"
	if err := db.QueryRow(q).Scan(&snat); err != nil || snat == 0 {
		t.Errorf("snat-av findings: %d, %v", snat, err)
	}
	var damaged int
	q = "SELECT count(*) FROM '" + filepath.Join(out, "files.parquet") + "' WHERE damaged <> ''"
	if err := db.QueryRow(q).Scan(&damaged); err != nil || damaged != 1 {
		t.Errorf("damaged files: %d, %v", damaged, err)
	}
}
