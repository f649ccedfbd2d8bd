package tui

import (
	"strings"

	"github.com/edgeaudit/edgeaudit/policy/report"
)

// Filter is the quick filters, shared by the findings list and the flows
// table so that "errors on av-vip" narrows both. An empty field lets all
// through. The text filter is per list and lives in the panes.
type Filter struct {
	Severity string
	Kind     string
	App      string
	Role     string
	Point    string
}

// Active reports whether any quick filter is set.
func (f Filter) Active() bool { return f != Filter{} }

// String describes the filter for the status bar.
func (f Filter) String() string {
	var parts []string
	add := func(name, v string) {
		if v != "" {
			parts = append(parts, name+"="+report.Printable(v))
		}
	}
	add("sev", f.Severity)
	add("kind", f.Kind)
	add("app", f.App)
	add("role", f.Role)
	add("point", f.Point)
	return strings.Join(parts, " ")
}

// cycle steps v through "" and then each of values in order.
func cycle(v string, values []string) string {
	for i, x := range values {
		if x == v {
			if i+1 < len(values) {
				return values[i+1]
			}
			return ""
		}
	}
	if len(values) > 0 && v == "" {
		return values[0]
	}
	return ""
}

// MatchFinding applies the quick filters to a finding. App and role look at
// the flows the finding is about; point also at its evidence.
func (f Filter) MatchFinding(d *Data, x *report.Finding) bool {
	if f.Severity != "" && x.Severity != f.Severity {
		return false
	}
	if f.Kind != "" && x.Kind != f.Kind {
		return false
	}
	if f.App == "" && f.Role == "" {
		if f.Point == "" {
			return true
		}
		for _, e := range x.Evidence {
			if e.Point == f.Point {
				return true
			}
		}
	}
	for _, id := range x.Flows {
		fl := d.Flow(id)
		if fl == nil {
			continue
		}
		if (f.App == "" || fl.App == f.App) && (f.Role == "" || fl.ClientRole == f.Role || fl.ServerRole == f.Role) &&
			(f.Point == "" || fl.Point == f.Point) {
			return true
		}
	}
	return false
}

// MatchFlow applies the quick filters to a flow. Severity and kind look at
// the findings about the flow.
func (f Filter) MatchFlow(d *Data, x *report.Flow) bool {
	if f.App != "" && x.App != f.App {
		return false
	}
	if f.Role != "" && x.ClientRole != f.Role && x.ServerRole != f.Role {
		return false
	}
	if f.Point != "" && x.Point != f.Point {
		return false
	}
	if f.Severity == "" && f.Kind == "" {
		return true
	}
	for _, id := range x.Findings {
		g := d.Finding(id)
		if g != nil && (f.Severity == "" || g.Severity == f.Severity) && (f.Kind == "" || g.Kind == f.Kind) {
			return true
		}
	}
	return false
}

// textMatchFinding reports whether the lower-case query q occurs in any
// field a user would read in the finding.
func textMatchFinding(x *report.Finding, q string) bool {
	if q == "" {
		return true
	}
	if containsFold(x.ID, q) || containsFold(x.Kind, q) || containsFold(x.Severity, q) ||
		containsFold(x.Requirement, q) || containsFold(x.Rule, q) || containsFold(x.Message, q) ||
		containsFold(x.WiresharkFilter, q) {
		return true
	}
	for _, e := range x.Evidence {
		if containsFold(e.Point, q) || containsFold(e.Detail, q) {
			return true
		}
	}
	return false
}

// textMatchFlow is textMatchFinding for a flow.
func textMatchFlow(x *report.Flow, q string) bool {
	if q == "" {
		return true
	}
	if containsFold(x.ID, q) || containsFold(x.Client, q) || containsFold(x.Server, q) ||
		containsFold(x.App, q) || containsFold(x.AppDetail, q) || containsFold(x.ClientRole, q) ||
		containsFold(x.ServerRole, q) || containsFold(x.Point, q) || containsFold(x.Transport, q) ||
		(x.Rule != nil && containsFold(*x.Rule, q)) {
		return true
	}
	for _, id := range x.Findings {
		if containsFold(id, q) {
			return true
		}
	}
	for _, v := range x.Details {
		if containsFold(v, q) {
			return true
		}
	}
	return false
}

// containsFold is an allocation-free case-insensitive (ASCII) substring
// test; q must already be lower case. Filtering half a million flows on
// every key press must not build half a million lowered strings.
func containsFold(s, q string) bool {
	n := len(q)
	if n == 0 {
		return true
	}
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != q[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}
