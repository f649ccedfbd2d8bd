package tui

import (
	"sort"

	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// Data is what the UI knows about the run so far. Only the root model
// writes it (on the UI goroutine); panes read it through the Context.
type Data struct {
	Findings  []*report.Finding // in arrival order until the final report
	Flows     []*report.Flow
	findingAt map[string]int // finding ID -> index in Findings
	flowAt    map[string]int // flow ID -> index in Flows
	Progress  audit.Progress
	Report    *report.Report // the final report; nil while loading
	Err       error          // why the run stopped, if it failed
	Gen       int            // bumped on every change, so panes know to refilter
	Epoch     int            // bumped when the records are replaced wholesale

	// Values present, for the quick filters to cycle through.
	Apps, Roles, Points, Kinds map[string]int
}

func newData() *Data {
	d := &Data{}
	d.reset()
	return d
}

func (d *Data) reset() {
	d.Findings, d.Flows = nil, nil
	d.findingAt, d.flowAt = map[string]int{}, map[string]int{}
	d.Apps, d.Roles, d.Points, d.Kinds = map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
}

// apply merges a batch: new flows are appended, a flow or finding seen
// again (same ID) replaces the old record in place.
func (d *Data) apply(b batchMsg) {
	for _, f := range b.Flows {
		d.addFlow(f)
	}
	for _, f := range b.Findings {
		d.addFinding(f)
	}
	if b.HasProg {
		d.Progress = b.Progress
	}
	d.Gen++
}

func (d *Data) addFlow(f *report.Flow) {
	if i, ok := d.flowAt[f.ID]; ok {
		d.Flows[i] = f
		return
	}
	d.flowAt[f.ID] = len(d.Flows)
	d.Flows = append(d.Flows, f)
	d.Apps[f.App]++
	d.Points[f.Point]++
	for _, r := range []string{f.ClientRole, f.ServerRole} {
		if r != "" {
			d.Roles[r]++
		}
	}
}

func (d *Data) addFinding(f *report.Finding) {
	if i, ok := d.findingAt[f.ID]; ok {
		d.Findings[i] = f
		return
	}
	d.findingAt[f.ID] = len(d.Findings)
	d.Findings = append(d.Findings, f)
	d.Kinds[f.Kind]++
	for _, e := range f.Evidence {
		if e.Point != "" {
			d.Points[e.Point] += 0 // a point may hold evidence but no kept flow
		}
	}
}

// finish replaces everything with the final report: its finding IDs are
// renumbered (F1 is the worst), so the streamed records are stale.
func (d *Data) finish(m doneMsg) {
	d.Err = m.Err
	if m.Report == nil {
		d.Gen++
		return
	}
	d.reset()
	d.Epoch++
	d.Report = m.Report
	for i := range m.Report.Flows {
		d.addFlow(&m.Report.Flows[i])
	}
	for i := range m.Report.Findings {
		d.addFinding(&m.Report.Findings[i])
	}
	for _, in := range m.Report.Inputs {
		d.Points[in.Point] += 0
		for _, p := range in.Points {
			d.Points[p] += 0
		}
	}
	d.Progress.Done = true
	d.Gen++
}

// Finding returns the finding with this ID.
func (d *Data) Finding(id string) *report.Finding {
	if i, ok := d.findingAt[id]; ok {
		return d.Findings[i]
	}
	return nil
}

// Flow returns the flow with this ID.
func (d *Data) Flow(id string) *report.Flow {
	if i, ok := d.flowAt[id]; ok {
		return d.Flows[i]
	}
	return nil
}

// Loading reports whether the run is still going.
func (d *Data) Loading() bool { return d.Report == nil && d.Err == nil }

// sortedKeys returns a value set's keys sorted, for a stable cycling order.
func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// severityCounts counts findings by severity name.
func (d *Data) severityCounts() (e, w, i int) {
	for _, f := range d.Findings {
		switch f.Severity {
		case "error":
			e++
		case "warning":
			w++
		default:
			i++
		}
	}
	return
}
