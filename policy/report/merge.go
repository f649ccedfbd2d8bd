package report

// Combining reports: the groups of a batch audit, or the JSON reports of
// several shards, into one report and a per-file table. Flows can be
// spooled to a temporary file rather than kept, so a batch holds only the
// inputs, the findings, the busiest flows and one row per file.

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// FileRow is one file's line of a batch: what was read from it and the
// findings that involve it.
type FileRow struct {
	File     string `json:"file"`
	Group    string `json:"group,omitempty"`
	Packets  uint64 `json:"packets"`
	Bytes    uint64 `json:"bytes"`
	Flows    uint64 `json:"flows"`
	Error    int    `json:"error"`
	Warning  int    `json:"warning"`
	Info     int    `json:"info"`
	Damaged  string `json:"damaged,omitempty"`
	order    int
	position int
}

// FileIndex maps a report's points, flows and findings to its input files.
type FileIndex struct {
	paths   []string
	byPoint map[string]int
	byFlow  map[string]int
}

// NewFileIndex indexes r's inputs by point and its flows by id.
func NewFileIndex(r *Report) *FileIndex {
	x := &FileIndex{byPoint: map[string]int{}, byFlow: map[string]int{}}
	for i, in := range r.Inputs {
		x.paths = append(x.paths, in.Path)
		x.byPoint[in.Point] = i
		for _, p := range in.Points {
			x.byPoint[p] = i
		}
	}
	// Only flows that findings name are looked up by id.
	named := map[string]bool{}
	for i := range r.Findings {
		for _, id := range r.Findings[i].Flows {
			named[id] = true
		}
	}
	if len(named) > 0 {
		r.eachRef(func(id, point string) {
			if n, ok := x.byPoint[point]; ok && named[id] {
				x.byFlow[id] = n
			}
		})
	}
	return x
}

// FlowFile returns the input index of a flow, -1 if unknown.
func (x *FileIndex) FlowFile(f *Flow) int {
	if n, ok := x.byPoint[f.Point]; ok {
		return n
	}
	return -1
}

// FindingFiles returns the input indexes a finding involves: the files of
// its flows and evidence, else the file its message names.
func (x *FileIndex) FindingFiles(f *Finding) []int {
	var out []int
	add := func(n int) {
		for _, m := range out {
			if m == n {
				return
			}
		}
		out = append(out, n)
	}
	for _, id := range f.Flows {
		if n, ok := x.byFlow[id]; ok {
			add(n)
		}
	}
	for _, e := range f.Evidence {
		if n, ok := x.byPoint[e.Point]; ok {
			add(n)
		}
	}
	if len(out) == 0 {
		for i, p := range x.paths {
			if p != "-" && p != "" && strings.Contains(f.Message, p) {
				add(i)
			}
		}
	}
	sort.Ints(out)
	return out
}

// Path returns input i's path.
func (x *FileIndex) Path(i int) string { return x.paths[i] }

// FindingFileNames returns the paths a finding involves.
func (x *FileIndex) FindingFileNames(f *Finding) []string {
	var out []string
	for _, n := range x.FindingFiles(f) {
		out = append(out, x.paths[n])
	}
	return out
}

// FileRows computes the per-file rows of a report (one correlated group,
// or a whole merged report). A finding counts in the row of every file it
// involves; one that involves no file counts in no row, only in the total.
func FileRows(r *Report, group string) []FileRow { return fileRows(r, NewFileIndex(r), group) }

func fileRows(r *Report, x *FileIndex, group string) []FileRow {
	rows := make([]FileRow, len(r.Inputs))
	counted := false
	for i, in := range r.Inputs {
		rows[i] = FileRow{File: in.Path, Group: group, Packets: in.Packets, Bytes: in.Bytes, Flows: in.Flows, Damaged: in.Error, position: i}
		counted = counted || in.Flows > 0
	}
	// Reports that count flows per input (all since the count was added)
	// may keep only some flow records; older ones are counted by record.
	if !counted {
		r.eachRef(func(_, point string) {
			if n, ok := x.byPoint[point]; ok {
				rows[n].Flows++
			}
		})
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		for _, n := range x.FindingFiles(f) {
			switch f.Severity {
			case "error":
				rows[n].Error++
			case "warning":
				rows[n].Warning++
			default:
				rows[n].Info++
			}
		}
	}
	return rows
}

// Merger combines reports. The zero value keeps every flow in memory; set
// Spool to write them to a temporary file instead (for the JSON writer),
// or DropFlows to keep only the TopFlows busiest (for text and CSV).
type Merger struct {
	TopFlows  int
	DropFlows bool
	Spool     bool
	// TopologySource is the topology's source when no report was added
	// (the topology file, or "inferred").
	TopologySource string

	parts    []part
	findings []Finding
	top      busiest
	topo     Topology
	topoSet  bool
	flows    uint64
	spool    *Spool
	err      error

	extraFiles map[string]string
}

type part struct {
	order  int
	inputs []Input
	rows   []FileRow
	flows  []Flow // when kept
	off, n int64  // spooled flows: byte range
	count  int
	fileOf map[string]string // finding id -> paths joined by NUL
}

// Add merges a report (a group of a batch, or a shard's report). order
// places it in the combined report, so the result does not depend on the
// order in which groups finished. group labels its per-file rows.
func (m *Merger) Add(order int, r *Report, group string) error {
	return m.AddEncoded(order, r, group, nil)
}

// EncodeFlowsJSON encodes a report's flows as the spooling Merger writes
// them, into a spool; it may run on any goroutine, so groups can be
// encoded in parallel and handed to AddEncoded.
func EncodeFlowsJSON(r *Report) (*Spool, error) {
	sp := NewSpool()
	if _, err := encodeFlowsJSON(sp, r); err != nil {
		sp.Close()
		return nil, err
	}
	return sp, nil
}

// AddEncoded is Add with the flows already encoded by EncodeFlowsJSON
// (nil: encode them here). The encoding is used only when spooling; it is
// closed once copied.
func (m *Merger) AddEncoded(order int, r *Report, group string, flowsJSON *Spool) error {
	if flowsJSON != nil {
		defer flowsJSON.Close()
	}
	if m.err != nil {
		return m.err
	}
	x := NewFileIndex(r)
	p := part{order: order, inputs: append([]Input(nil), r.Inputs...), rows: fileRows(r, x, group), count: r.FlowCount(),
		fileOf: map[string]string{}}
	for i := range r.Findings {
		if names := x.FindingFileNames(&r.Findings[i]); len(names) > 0 {
			p.fileOf[r.Findings[i].ID] = strings.Join(names, "\x00")
		}
	}
	m.flows += r.Summary.Flows
	m.mergeTopology(&r.Topology)
	m.findings = append(m.findings, r.Findings...)
	switch {
	case m.Spool:
		if err := m.spoolFlows(&p, r, flowsJSON); err != nil {
			m.err = err
			return err
		}
	case m.DropFlows:
		m.top.n = max(m.TopFlows, 10)
		if err := r.EachFlow(m.top.add); err != nil {
			m.err = err
			return err
		}
	default:
		if err := r.EachFlow(func(f *Flow) error {
			p.flows = append(p.flows, *f)
			return nil
		}); err != nil {
			m.err = err
			return err
		}
	}
	m.parts = append(m.parts, p)
	return nil
}

// AddFinding adds a finding that belongs to no report (a file that could
// not be read, or files that are not captures); path is the file (or
// directory) it is about.
func (m *Merger) AddFinding(f Finding, path string) {
	m.findings = append(m.findings, f)
	if path != "" {
		if m.extraFiles == nil {
			m.extraFiles = map[string]string{}
		}
		m.extraFiles[f.ID] = path
	}
}

func (m *Merger) mergeTopology(t *Topology) {
	if !m.topoSet {
		m.topo = Topology{Source: t.Source}
		m.topoSet = true
	} else if m.topo.Source != t.Source {
		if t.Source == "inferred" || m.topo.Source == "inferred" {
			m.topo.Source = "inferred"
		}
	}
	m.topo.Inferred = union(m.topo.Inferred, t.Inferred)
	m.topo.Unchecked = union(m.topo.Unchecked, t.Unchecked)
}

func union(a, b []string) []string {
	for _, s := range b {
		found := false
		for _, t := range a {
			if s == t {
				found = true
				break
			}
		}
		if !found {
			a = append(a, s)
		}
	}
	return a
}

// spoolFlows appends a part's encoded flows to the spool file (encoding
// them here when enc is nil).
func (m *Merger) spoolFlows(p *part, r *Report, enc *Spool) error {
	if m.spool == nil {
		m.spool = NewSpool()
	}
	p.off = m.spool.Len()
	var err error
	if enc != nil {
		_, err = enc.WriteTo(m.spool)
	} else {
		_, err = encodeFlowsJSON(m.spool, r)
	}
	p.n = m.spool.Len() - p.off
	return err
}

// Close releases the spool file.
func (m *Merger) Close() error {
	if m.spool != nil {
		err := m.spool.Close()
		m.spool = nil
		return err
	}
	return nil
}

func (m *Merger) sortParts() {
	sort.SliceStable(m.parts, func(i, j int) bool { return m.parts[i].order < m.parts[j].order })
}

// Report returns the combined report: inputs and flows in part order,
// findings in the report's order (worst first), the summary over all.
// Spooled flows are not in it (WriteJSON streams them); with DropFlows
// only the busiest are.
func (m *Merger) Report() *Report {
	m.sortParts()
	r := &Report{Schema: Schema, Topology: m.topo, Inputs: []Input{}, Flows: []Flow{}}
	if !m.topoSet {
		r.Topology.Source = m.TopologySource
	}
	for _, p := range m.parts {
		r.Inputs = append(r.Inputs, p.inputs...)
		r.Flows = append(r.Flows, p.flows...)
	}
	if m.DropFlows {
		m.top.n = max(m.TopFlows, 10)
		r.Flows = append(r.Flows, m.top.flows()...)
	}
	r.Findings = append([]Finding{}, m.findings...)
	sortFindings(r.Findings)
	r.Summary.Findings = map[string]int{"error": 0, "warning": 0, "info": 0}
	for _, f := range r.Findings {
		r.Summary.Findings[f.Severity]++
	}
	for _, in := range r.Inputs {
		r.Summary.Packets += in.Packets
	}
	r.Summary.Flows = m.flows
	return r
}

// sortFindings orders findings as Finish does, ids breaking ties.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := &fs[i], &fs[j]
		if sa, sb := a.SeverityOf(), b.SeverityOf(); sa != sb {
			return sa > sb
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Requirement != b.Requirement {
			return a.Requirement < b.Requirement
		}
		if a.Message != b.Message {
			return a.Message < b.Message
		}
		return naturalLess(a.ID, b.ID)
	})
}

// naturalLess orders ids with their numbers as numbers: F2 before F10,
// g2/F7 before g10/F1.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		na, nb := numPrefix(a), numPrefix(b)
		switch {
		case na > 0 && nb > 0:
			x, y := strings.TrimLeft(a[:na], "0"), strings.TrimLeft(b[:nb], "0")
			if len(x) != len(y) {
				return len(x) < len(y)
			}
			if x != y {
				return x < y
			}
			a, b = a[na:], b[nb:]
		case a[0] != b[0]:
			return a[0] < b[0]
		default:
			a, b = a[1:], b[1:]
		}
	}
	return len(a) < len(b)
}

func numPrefix(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// Rows returns the per-file rows in part order.
func (m *Merger) Rows() []FileRow {
	m.sortParts()
	var out []FileRow
	for _, p := range m.parts {
		out = append(out, p.rows...)
	}
	return out
}

// WriteJSON writes the combined report as one JSON document, byte for
// byte as WriteJSON writes a report, streaming spooled flows.
func (m *Merger) WriteJSON(w io.Writer) error {
	w = jsonSafe(w) // C1 and bidi controls as \uXXXX (issue 11)
	r := m.Report()
	if !m.Spool {
		return WriteJSON(w, r)
	}
	if m.err != nil {
		return m.err
	}
	return writeJSONStream(w, r, func(bw *bufio.Writer) (int, error) {
		n := 0
		for _, p := range m.parts {
			if p.count == 0 {
				continue
			}
			if n > 0 {
				bw.WriteString(",")
			}
			n += p.count
			if m.spool == nil {
				return n, errors.New("flows spool missing")
			}
			r, err := m.spool.section(p.off, p.n)
			if err != nil {
				return n, err
			}
			if _, err := io.Copy(bw, r); err != nil {
				return n, err
			}
		}
		return n, nil
	})
}

func marshalIndent(v any, prefix string) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(sb.String(), "\n")), nil
}

// WriteText writes the text report of the combined report followed by
// the per-file table and the total.
func (m *Merger) WriteText(w io.Writer, o TextOptions) error {
	r := m.Report()
	return buffered(w, func(w io.Writer) error {
		if err := writeText(w, r, o); err != nil {
			return err
		}
		return WriteFileTable(w, m.Rows(), r.Summary)
	})
}

// WriteFileTable writes the per-file table and its total row: numbers
// right-aligned, the file last.
func WriteFileTable(w io.Writer, rows []FileRow, s Summary) error {
	head := []string{"packets", "flows", "error", "warning", "info"}
	cells := make([][5]string, 0, len(rows)+1)
	for _, r := range rows {
		cells = append(cells, [5]string{fmt.Sprint(r.Packets), fmt.Sprint(r.Flows), fmt.Sprint(r.Error), fmt.Sprint(r.Warning), fmt.Sprint(r.Info)})
	}
	cells = append(cells, [5]string{fmt.Sprint(s.Packets), fmt.Sprint(s.Flows), fmt.Sprint(s.Findings["error"]), fmt.Sprint(s.Findings["warning"]), fmt.Sprint(s.Findings["info"])})
	var width [5]int
	for i, h := range head {
		width[i] = len(h)
		for _, c := range cells {
			width[i] = max(width[i], len(c[i]))
		}
	}
	p := &printer{w: w}
	line := func(c [5]string, file string) {
		p.f(" ")
		for i := range c {
			p.f(" %*s", width[i], c[i])
		}
		p.f("  %s\n", file)
	}
	p.f("\nFILES\n")
	line([5]string(head), "file")
	for i, r := range rows {
		name := P(r.File)
		if r.Damaged != "" {
			name += "  (damaged)"
		}
		line(cells[i], name)
	}
	line(cells[len(rows)], fmt.Sprintf("TOTAL (%d files)", len(rows)))
	return p.err
}

// CSVBatchHeader is CSVHeader with the file column added.
var CSVBatchHeader = append(append([]string{}, CSVHeader...), "file")

// WriteCSV writes the combined findings, with the files each involves.
func (m *Merger) WriteCSV(w io.Writer) error {
	r := m.Report()
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVBatchHeader); err != nil {
		return err
	}
	files := m.findingFiles()
	for i := range r.Findings {
		f := &r.Findings[i]
		if err := cw.Write(append(CSVRow(f), csvSafe(Printable(strings.Join(files[f.ID], " "))))); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// findingFiles maps finding ids to the paths they involve.
func (m *Merger) findingFiles() map[string][]string {
	out := map[string][]string{}
	for _, p := range m.parts {
		for id, f := range p.fileOf {
			out[id] = strings.Split(f, "\x00")
		}
	}
	for id, f := range m.extraFiles {
		out[id] = []string{f}
	}
	return out
}

// BatchNDJSON streams the records of a batch, one group at a time, each
// record naming its file ("file"; "files" when a finding involves several)
// and its correlated group ("group").
type BatchNDJSON struct {
	w   io.Writer
	enc *json.Encoder
}

// NewBatchNDJSON returns a batch NDJSON writer.
func NewBatchNDJSON(w io.Writer) *BatchNDJSON {
	w = jsonSafe(w) // C1 and bidi controls as \uXXXX (issue 11)
	return &BatchNDJSON{w: w, enc: json.NewEncoder(w)}
}

// EncodeGroupNDJSON encodes a group's records as BatchNDJSON.Group writes
// them, into a spool; it may run on any goroutine (WriteEncoded writes the
// result).
func EncodeGroupNDJSON(r *Report, group string) (*Spool, error) {
	sp := NewSpool()
	if err := NewBatchNDJSON(sp).Group(r, group); err != nil {
		sp.Close()
		return nil, err
	}
	return sp, nil
}

// WriteEncoded writes records encoded by EncodeGroupNDJSON, and closes
// the spool.
func (n *BatchNDJSON) WriteEncoded(sp *Spool) error {
	defer sp.Close()
	_, err := sp.WriteTo(n.w)
	return err
}

type batchHead struct {
	Type  string   `json:"type"`
	File  string   `json:"file"`
	Files []string `json:"files,omitempty"`
	Group string   `json:"group,omitempty"`
}

// Group writes a group's input, flow and finding records.
func (n *BatchNDJSON) Group(r *Report, group string) error {
	x := NewFileIndex(r)
	for i := range r.Inputs {
		v := struct {
			batchHead
			*Input
		}{batchHead{Type: "input", File: r.Inputs[i].Path, Group: group}, &r.Inputs[i]}
		if err := n.enc.Encode(v); err != nil {
			return err
		}
	}
	if err := r.EachFlow(func(f *Flow) error {
		h := batchHead{Type: "flow", Group: group}
		if k := x.FlowFile(f); k >= 0 {
			h.File = x.Path(k)
		}
		return n.enc.Encode(struct {
			batchHead
			*Flow
		}{h, f})
	}); err != nil {
		return err
	}
	for i := range r.Findings {
		h := batchHead{Type: "finding", Group: group}
		if names := x.FindingFileNames(&r.Findings[i]); len(names) > 0 {
			h.File = names[0]
			if len(names) > 1 {
				h.Files = names
			}
		}
		if err := n.enc.Encode(struct {
			batchHead
			*Finding
		}{h, &r.Findings[i]}); err != nil {
			return err
		}
	}
	return nil
}

// Finding writes a finding that belongs to no group, about path.
func (n *BatchNDJSON) Finding(f *Finding, path string) error {
	return n.enc.Encode(struct {
		batchHead
		*Finding
	}{batchHead{Type: "finding", File: path}, f})
}
