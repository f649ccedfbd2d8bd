// Package report is the audit's output: the contract's report model and the
// text, JSON, NDJSON and CSV writers.
package report

import (
	"sort"
	"strconv"
	"time"

	"github.com/edgeaudit/edgeaudit/policy"
)

// Schema is the report's schema identifier.
const Schema = "edgeaudit.report/v1"

// Report is the whole result of an audit, shaped as CONTRACT.md's JSON.
type Report struct {
	Schema   string    `json:"schema"`
	Inputs   []Input   `json:"inputs"`
	Topology Topology  `json:"topology"`
	Flows    []Flow    `json:"flows"`
	Findings []Finding `json:"findings"`
	Summary  Summary   `json:"summary"`

	// Source, when set, yields the flow records instead of Flows (which
	// is then empty): a run keeps them compactly until they are written.
	Source FlowSource `json:"-"`

	renames map[string]string // Source's finding ids -> renumbered ids
	prefix  string            // put before Source's ids
}

// Input describes one capture file (or live interface) that was read.
type Input struct {
	Path         string   `json:"path"`
	Point        string   `json:"point"`
	Points       []string `json:"points,omitempty"` // one per pcapng interface when there are several
	Format       string   `json:"format"`
	Compression  string   `json:"compression"`
	Packets      uint64   `json:"packets"`
	Bytes        uint64   `json:"bytes"`
	Flows        uint64   `json:"flows"` // conversations seen at this input's points
	First        string   `json:"first"`
	Last         string   `json:"last"`
	DecodeErrors uint64   `json:"decode_errors"`
	Error        string   `json:"error,omitempty"` // why reading stopped early, if it did
}

// Topology says where roles came from.
type Topology struct {
	Source    string   `json:"source"`              // the file, or "inferred"
	Inferred  []string `json:"inferred,omitempty"`  // roles learnt from the packets
	Unchecked []string `json:"unchecked,omitempty"` // checks that need a topology file
}

// Dirs holds a per-direction counter.
type Dirs struct {
	C2S uint64 `json:"c2s"`
	S2C uint64 `json:"s2c"`
}

// Flow is one conversation's record.
type Flow struct {
	ID          string            `json:"id"`
	CommunityID string            `json:"community_id"`
	Point       string            `json:"point"`
	Transport   string            `json:"transport"`
	Client      string            `json:"client"`
	Server      string            `json:"server"`
	App         string            `json:"app"`
	AppDetail   string            `json:"app_detail"`
	ClientRole  string            `json:"client_role"`
	ServerRole  string            `json:"server_role"`
	Rule        *string           `json:"rule"`
	Packets     Dirs              `json:"packets"`
	Bytes       Dirs              `json:"bytes"`
	First       string            `json:"first"`
	Last        string            `json:"last"`
	End         string            `json:"end,omitempty"`      // why the flow ended
	Evidence    string            `json:"evidence,omitempty"` // why it was classified so
	Details     map[string]string `json:"details,omitempty"`  // protocol facts: sni, sip_method...
	Findings    []string          `json:"findings,omitempty"` // ids of findings about this flow

	// Sorting keys, not serialised.
	FirstNS    int64  `json:"-"`
	PointIndex int    `json:"-"`
	FirstFrame uint64 `json:"-"`
}

// Evidence is one packet that proves a finding.
type Evidence struct {
	Point  string `json:"point"`
	Packet uint64 `json:"packet"`
	Time   string `json:"time"`
	Detail string `json:"detail"`
}

// Finding is one finding as the report writes it.
type Finding struct {
	ID              string     `json:"id"`
	Kind            string     `json:"kind"`
	Severity        string     `json:"severity"`
	Requirement     string     `json:"requirement"`
	Rule            string     `json:"rule"`
	Message         string     `json:"message"`
	Consequence     string     `json:"consequence,omitempty"`
	Fix             string     `json:"fix,omitempty"`
	Count           int        `json:"count"`
	Flows           []string   `json:"flows"`
	Evidence        []Evidence `json:"evidence"`
	WiresharkFilter string     `json:"wireshark_filter"`

	sev policy.Severity
}

// Summary totals the report.
type Summary struct {
	Packets  uint64         `json:"packets"`
	Flows    uint64         `json:"flows"`
	Findings map[string]int `json:"findings"`
}

// TimeString formats a packet time as the report does (RFC 3339, ns, UTC).
func TimeString(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// FromFinding converts a policy finding for the report.
func FromFinding(f *policy.Finding) Finding {
	out := Finding{
		ID: f.ID, Kind: string(f.Kind), Severity: f.Severity.String(), Requirement: f.Requirement,
		Rule: f.Rule, Message: f.Message, Consequence: f.Consequence, Fix: f.Fix, Count: f.Count,
		Flows: append([]string{}, f.Flows...), WiresharkFilter: f.Filter, sev: f.Severity,
		Evidence: make([]Evidence, 0, len(f.Evidence)),
	}
	if out.Count == 0 {
		out.Count = 1
	}
	for _, e := range f.Evidence {
		ts := ""
		if !e.Time.IsZero() {
			ts = e.Time.UTC().Format(time.RFC3339Nano)
		}
		out.Evidence = append(out.Evidence, Evidence{Point: e.Point, Packet: e.Packet, Time: ts, Detail: e.Detail})
	}
	return out
}

// SeverityOf returns the finding's severity as a comparable value.
func (f *Finding) SeverityOf() policy.Severity {
	if f.sev == 0 && f.Severity != "info" {
		s, _ := policy.ParseSeverity(f.Severity)
		return s
	}
	return f.sev
}

// Finish sorts flows and findings into their stable order and fills the
// summary. Flows go by first packet time, then point and frame; findings by
// severity (worst first), kind, requirement and message.
func (r *Report) Finish() {
	r.Schema = Schema
	// A Source yields its records in this order already.
	sort.SliceStable(r.Flows, func(i, j int) bool {
		a, b := &r.Flows[i], &r.Flows[j]
		if a.FirstNS != b.FirstNS {
			return a.FirstNS < b.FirstNS
		}
		if a.PointIndex != b.PointIndex {
			return a.PointIndex < b.PointIndex
		}
		return a.FirstFrame < b.FirstFrame
	})
	sortFindings(r.Findings)
	r.renumber()
	r.Summary.Findings = map[string]int{"error": 0, "warning": 0, "info": 0}
	for _, f := range r.Findings {
		r.Summary.Findings[f.Severity]++
	}
	r.Summary.Flows = uint64(r.FlowCount())
	var pk uint64
	for _, in := range r.Inputs {
		pk += in.Packets
	}
	r.Summary.Packets = pk
	if r.Inputs == nil {
		r.Inputs = []Input{}
	}
	if r.Flows == nil {
		r.Flows = []Flow{}
	}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
}

// Worst returns the highest severity among the findings, and false when
// there are none.
func (r *Report) Worst() (policy.Severity, bool) {
	var worst policy.Severity
	any := false
	for i := range r.Findings {
		if s := r.Findings[i].SeverityOf(); !any || s > worst {
			worst, any = s, true
		}
	}
	return worst, any
}

// renumber gives findings ids in their sorted order (F1, F2...) so that the
// same input gives the same ids however the work was scheduled, and points
// the flows' references at the new ids.
func (r *Report) renumber() {
	old := make(map[string]string, len(r.Findings))
	for i := range r.Findings {
		id := "F" + strconv.Itoa(i+1)
		if r.Findings[i].ID != "" {
			old[r.Findings[i].ID] = id
		}
		r.Findings[i].ID = id
	}
	for i := range r.Flows {
		for j, id := range r.Flows[i].Findings {
			if n, ok := old[id]; ok {
				r.Flows[i].Findings[j] = n
			}
		}
	}
	if r.Source == nil {
		return
	}
	if r.renames != nil { // renumbered before: Source still has the first ids
		for src, mid := range r.renames {
			if n, ok := old[mid]; ok {
				r.renames[src] = n
			}
		}
		return
	}
	r.renames = old
}
