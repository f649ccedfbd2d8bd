package audit

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// Bounds on what one aggregated finding keeps: repeats are counted, not
// listed without end.
const (
	maxFlowsPerFinding    = 200
	maxEvidencePerFinding = 20
)

// maxFindingsPerKind bounds the distinct findings (distinct subjects) of
// one kind (issue 11): a scan of every port of every address would
// otherwise make one finding per flow and hold them all. Beyond it the
// findings of that kind are folded into one input finding that counts
// them, with the worst severity folded, so --fail-on still sees them.
const maxFindingsPerKind = 1000

// aggregator folds repeats of the same finding (same kind, requirement,
// rule and subject) into one with a count, so a port scan is one finding
// with a thousand flows, not a thousand findings.
type aggregator struct {
	sink     Sink
	byKey    map[string]*policy.Finding
	order    []*policy.Finding
	perKind  map[policy.Kind]int             // distinct findings kept per kind
	overflow map[policy.Kind]*policy.Finding // the folded rest, per kind
}

func newAggregator(s Sink) *aggregator {
	return &aggregator{sink: s, byKey: map[string]*policy.Finding{},
		perKind: map[policy.Kind]int{}, overflow: map[policy.Kind]*policy.Finding{}}
}

// id is the id of the finding that key was filed under: its own, or the
// overflow finding of its kind when maxFindingsPerKind folded it.
func (a *aggregator) id(key string) string {
	if g, ok := a.byKey[key]; ok {
		return g.ID
	}
	kind, _, _ := strings.Cut(key, "\x00")
	if o := a.overflow[policy.Kind(kind)]; o != nil {
		return o.ID
	}
	return ""
}

// fold counts f in the overflow finding of its kind.
func (a *aggregator) fold(f *policy.Finding) string {
	o := a.overflow[f.Kind]
	if o == nil {
		o = &policy.Finding{Kind: policy.KindInput, Severity: f.Severity,
			Subject:     "finding bound " + string(f.Kind),
			Consequence: "these findings are counted but not listed one by one",
			Fix:         "audit the capture with a narrower --topology or split it; the listed findings show the pattern",
			ID:          "F" + strconv.Itoa(len(a.order)+1)}
		a.overflow[f.Kind] = o
		a.order = append(a.order, o)
	}
	merge(o, f)
	o.Severity = max(o.Severity, f.Severity)
	o.Message = fmt.Sprintf("more than %d distinct findings of kind %s: %d more occurrences were counted here instead of being listed (bound on findings per kind)",
		maxFindingsPerKind, f.Kind, o.Count)
	a.emit(o)
	return o.ID
}

// merge counts f in g and adds its flows and evidence, within the bounds.
func merge(g, f *policy.Finding) {
	n := f.Count
	if n == 0 {
		n = 1
	}
	g.Count += n
	for _, id := range f.Flows {
		if len(g.Flows) < maxFlowsPerFinding && !slices.Contains(g.Flows, id) {
			g.Flows = append(g.Flows, id)
		}
	}
	for _, e := range f.Evidence {
		if len(g.Evidence) < maxEvidencePerFinding && !hasEvidence(g.Evidence, e) {
			g.Evidence = append(g.Evidence, e)
		}
	}
}

// hasEvidence reports whether the same packet already proves the finding.
func hasEvidence(list []policy.Evidence, e policy.Evidence) bool {
	for _, x := range list {
		if x.Point == e.Point && x.Packet == e.Packet && x.Detail == e.Detail {
			return true
		}
	}
	return false
}

func (a *aggregator) len() int { return len(a.order) }

// add records f (copied) and returns the aggregated finding's id.
func (a *aggregator) add(f *policy.Finding) string { return a.addKeyed(aggregateKey(f), f) }

// addKeyed is add for a finding whose aggregateKey is key.
func (a *aggregator) addKeyed(key string, f *policy.Finding) string {
	g, ok := a.byKey[key]
	if !ok {
		if a.perKind[f.Kind] >= maxFindingsPerKind {
			return a.fold(f)
		}
		a.perKind[f.Kind]++
		c := *f
		c.Flows = append([]string(nil), f.Flows...)
		c.Evidence = append([]policy.Evidence(nil), f.Evidence...)
		if c.Count == 0 {
			c.Count = 1
		}
		c.ID = "F" + strconv.Itoa(len(a.order)+1)
		a.byKey[key] = &c
		a.order = append(a.order, &c)
		a.emit(&c)
		return c.ID
	}
	merge(g, f)
	escalate(g, f)
	a.emit(g)
	return g.ID
}

// shows tells whether a finding of severity sev filed under key would be
// shown with its own texts: as a new finding, or as a worse repeat. Other
// repeats only count, and need no texts.
func (a *aggregator) shows(key string, kind policy.Kind, sev policy.Severity) bool {
	if g, ok := a.byKey[key]; ok {
		return sev > g.Severity
	}
	return a.perKind[kind] < maxFindingsPerKind
}

// escalate lets a worse repeat (a port that answered after attempts that
// did not) speak for the finding: its severity and texts.
func escalate(g, f *policy.Finding) {
	if f.Severity > g.Severity {
		g.Severity, g.Message, g.Consequence, g.Fix, g.Filter = f.Severity, f.Message, f.Consequence, f.Fix, f.Filter
	}
}

// again files f under key once more for a flow already counted there (its
// finding was filed when it was classified): it is not counted twice, but
// may be worse now that the flow is complete.
func (a *aggregator) again(key string, f *policy.Finding) string {
	if g, ok := a.byKey[key]; ok && f.Severity > g.Severity {
		escalate(g, f)
		a.emit(g)
	}
	return a.id(key)
}

func (a *aggregator) emit(f *policy.Finding) {
	if a.sink != nil {
		rf := report.FromFinding(f)
		a.sink.Finding(&rf)
	}
}

func (a *aggregator) all() []report.Finding {
	out := make([]report.Finding, 0, len(a.order))
	for _, f := range a.order {
		out = append(out, report.FromFinding(f))
	}
	return out
}

// aggregateKey is what makes two findings the same problem: the subject is
// the filter's server side when there is one, else the message.
func aggregateKey(f *policy.Finding) string {
	subject := f.Subject
	if subject == "" {
		subject = f.Message
	}
	return strings.Join([]string{string(f.Kind), f.Requirement, f.Rule, subject}, "\x00")
}
