package report

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Formats the writers support.
var Formats = []string{"text", "json", "ndjson", "csv"}

// Write writes the report in the named format.
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "json":
		return WriteJSON(w, r)
	case "ndjson":
		return WriteNDJSON(w, r)
	case "csv":
		return WriteCSV(w, r)
	case "text", "":
		return WriteText(w, r, TextOptions{})
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// WriteJSON writes the whole report as one JSON document. Control characters
// in packet-derived strings are escaped as JSON escapes them, and C1 and
// bidi controls as \uXXXX too (jsonSafe).
func WriteJSON(w io.Writer, r *Report) error {
	return writeJSONStream(jsonSafe(w), r, func(bw *bufio.Writer) (int, error) { return encodeFlowsJSON(bw, r) })
}

// Record is one NDJSON line: an input, a flow or a finding.
type Record struct {
	Type    string   `json:"type"`
	Input   *Input   `json:"-"`
	Flow    *Flow    `json:"-"`
	Finding *Finding `json:"-"`
}

// MarshalJSON flattens the record: the object's own fields plus "type".
func (rec Record) MarshalJSON() ([]byte, error) {
	var v any
	switch {
	case rec.Input != nil:
		v = struct {
			Type string `json:"type"`
			*Input
		}{rec.Type, rec.Input}
	case rec.Flow != nil:
		v = struct {
			Type string `json:"type"`
			*Flow
		}{rec.Type, rec.Flow}
	case rec.Finding != nil:
		v = struct {
			Type string `json:"type"`
			*Finding
		}{rec.Type, rec.Finding}
	default:
		return nil, fmt.Errorf("empty %s record", rec.Type)
	}
	return json.Marshal(v)
}

// NDJSONWriter streams records one per line, for live and batch runs.
type NDJSONWriter struct{ enc *json.Encoder }

// NewNDJSONWriter returns a writer of one JSON object per line.
func NewNDJSONWriter(w io.Writer) *NDJSONWriter {
	return &NDJSONWriter{enc: json.NewEncoder(jsonSafe(w))}
}

// Input writes an input record.
func (n *NDJSONWriter) Input(in *Input) error { return n.enc.Encode(Record{Type: "input", Input: in}) }

// Flow writes a flow record.
func (n *NDJSONWriter) Flow(f *Flow) error { return n.enc.Encode(Record{Type: "flow", Flow: f}) }

// Finding writes a finding record.
func (n *NDJSONWriter) Finding(f *Finding) error {
	return n.enc.Encode(Record{Type: "finding", Finding: f})
}

// WriteNDJSON writes the report as input, flow and finding lines.
func WriteNDJSON(w io.Writer, r *Report) error {
	n := NewNDJSONWriter(w)
	for i := range r.Inputs {
		if err := n.Input(&r.Inputs[i]); err != nil {
			return err
		}
	}
	if err := r.EachFlow(n.Flow); err != nil {
		return err
	}
	for i := range r.Findings {
		if err := n.Finding(&r.Findings[i]); err != nil {
			return err
		}
	}
	return nil
}

// CSVHeader is the header row of the CSV findings table.
var CSVHeader = []string{"id", "severity", "kind", "requirement", "rule", "count", "message", "flows", "evidence", "wireshark_filter", "fix"}

// WriteCSV writes the findings, one row each, with a header row.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for i := range r.Findings {
		if err := cw.Write(CSVRow(&r.Findings[i])); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// CSVRow is a finding's CSV row, in CSVHeader's order.
func CSVRow(f *Finding) []string {
	ev := make([]string, 0, len(f.Evidence))
	for _, e := range f.Evidence {
		ev = append(ev, e.Point+"#"+strconv.FormatUint(e.Packet, 10))
	}
	// Spreadsheets execute cells starting with = + - @: packet text must not.
	return []string{f.ID, f.Severity, f.Kind, f.Requirement, f.Rule, strconv.Itoa(f.Count),
		csvSafe(Printable(f.Message)), strings.Join(f.Flows, " "), strings.Join(ev, " "),
		csvSafe(f.WiresharkFilter), csvSafe(Printable(f.Fix))}
}

func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// TextTopFlows is how many of the busiest flows the text report lists.
const TextTopFlows = 10

// TextOptions tunes the text report.
type TextOptions struct {
	TopFlows int // busiest flows listed; 0 means TextTopFlows
}

// WriteText writes the report for a person at a terminal: what was read,
// the findings worst first with their evidence, and the busiest flows.
// Every string passes Printable.
func WriteText(w io.Writer, r *Report, o TextOptions) error {
	return buffered(w, func(w io.Writer) error { return writeText(w, r, o) })
}

// buffered runs write through a buffer, since text reports are thousands of
// short lines (unbuffered, a system call each), and writes out what was
// written even when write fails. A write error sticks in the buffer and
// Flush returns it.
func buffered(w io.Writer, write func(io.Writer) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	err := write(bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

func writeText(w io.Writer, r *Report, o TextOptions) error {
	if o.TopFlows == 0 {
		o.TopFlows = TextTopFlows
	}
	p := &printer{w: w}
	s := r.Summary
	p.f("edgeaudit: %d packets, %d flows, %d inputs; topology: %s\n", s.Packets, s.Flows, len(r.Inputs), P(r.Topology.Source))
	p.f("findings: %d error, %d warning, %d info\n", s.Findings["error"], s.Findings["warning"], s.Findings["info"])
	if len(r.Topology.Unchecked) > 0 {
		p.f("\nchecks that could not be made, or only in part:\n")
		for _, u := range r.Topology.Unchecked {
			p.f("  - %s\n", P(u))
		}
	}
	if len(r.Topology.Inferred) > 0 {
		p.f("\nroles inferred from the packets:\n")
		for _, u := range r.Topology.Inferred {
			p.f("  - %s\n", P(u))
		}
	}

	p.f("\nINPUTS\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  point\tformat\tcompression\tpackets\tbytes\tdecode errors\tfirst\tlast\n")
	for _, in := range r.Inputs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", P(in.Point), in.Format, in.Compression, in.Packets, in.Bytes, in.DecodeErrors, in.First, in.Last)
	}
	tw.Flush()
	for _, in := range r.Inputs {
		if in.Error != "" {
			p.f("  ! %s: %s\n", P(in.Path), P(in.Error))
		}
	}

	p.f("\nFINDINGS\n")
	if len(r.Findings) == 0 {
		p.f("  none\n")
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		count := ""
		if f.Count > 1 {
			count = fmt.Sprintf(" (x%d)", f.Count)
		}
		p.f("  %-4s %-7s %-17s %-9s %s%s\n", f.ID, strings.ToUpper(f.Severity), f.Kind, f.Requirement, P(f.Message), count)
		if f.Rule != "" {
			p.f("       rule: %s\n", f.Rule)
		}
		for j, e := range f.Evidence {
			if j == 5 {
				p.f("       ... %d more evidence packets\n", len(f.Evidence)-5)
				break
			}
			p.f("       evidence: %s#%d %s %s\n", P(e.Point), e.Packet, e.Time, P(e.Detail))
		}
		if f.Consequence != "" {
			p.f("       consequence: %s\n", P(f.Consequence))
		}
		if f.Fix != "" {
			p.f("       fix: %s\n", P(f.Fix))
		}
		if f.WiresharkFilter != "" {
			p.f("       wireshark: %s\n", P(f.WiresharkFilter))
		}
		if n := len(f.Flows); n > 0 {
			show := f.Flows
			more := ""
			if n > 6 {
				show, more = show[:6], fmt.Sprintf(" (+%d more)", n-6)
			}
			p.f("       flows: %s%s\n", strings.Join(show, " "), more)
		}
	}

	top := busiest{n: o.TopFlows}
	if err := r.EachFlow(top.add); err != nil {
		return err
	}
	flows := top.flows()
	p.f("\nBUSIEST FLOWS\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  id\tpoint\tproto\tclient\t\tserver\tapp\troles\trule\tpkts c>s/s>c\tbytes c>s/s>c\n")
	for i := range flows {
		f := &flows[i]
		rule := "-"
		if f.Rule != nil {
			rule = *f.Rule
		} else if len(f.Findings) > 0 {
			rule = strings.Join(f.Findings, ",")
		}
		app := f.App
		if f.AppDetail != "" && !strings.HasPrefix(f.AppDetail, f.App+"/") {
			app += "/" + f.AppDetail
		} else if f.AppDetail != "" {
			app = f.AppDetail
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t->\t%s\t%s\t%s>%s\t%s\t%d/%d\t%d/%d\n", f.ID, P(f.Point), f.Transport, f.Client, f.Server,
			P(app), orDash(f.ClientRole), orDash(f.ServerRole), rule, f.Packets.C2S, f.Packets.S2C, f.Bytes.C2S, f.Bytes.S2C)
	}
	tw.Flush()
	return p.err
}

// P is short for Printable, for the many call sites in text output.
func P(s string) string { return Printable(s) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// busiest keeps the n flows with the most bytes (both directions) of those
// added, ties in the order added, holding at most 4n at a time.
type busiest struct {
	n   int
	top []Flow
}

func (b *busiest) add(f *Flow) error {
	b.top = append(b.top, *f)
	if len(b.top) >= 4*b.n {
		b.trim()
	}
	return nil
}

func (b *busiest) trim() {
	sort.SliceStable(b.top, func(i, j int) bool {
		return b.top[i].Bytes.C2S+b.top[i].Bytes.S2C > b.top[j].Bytes.C2S+b.top[j].Bytes.S2C
	})
	if len(b.top) > b.n {
		b.top = append([]Flow(nil), b.top[:b.n]...)
	}
}

// flows returns the busiest, busiest first.
func (b *busiest) flows() []Flow {
	b.trim()
	return b.top
}
