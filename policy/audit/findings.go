package audit

import (
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

// aggregator folds repeats of the same finding (same kind, requirement,
// rule and subject) into one with a count, so a port scan is one finding
// with a thousand flows, not a thousand findings.
type aggregator struct {
	sink  Sink
	byKey map[string]*policy.Finding
	order []*policy.Finding
}

func newAggregator(s Sink) *aggregator {
	return &aggregator{sink: s, byKey: map[string]*policy.Finding{}}
}

func (a *aggregator) len() int { return len(a.order) }

// add records f (copied) and returns the aggregated finding's id.
func (a *aggregator) add(f *policy.Finding) string {
	key := aggregateKey(f)
	g, ok := a.byKey[key]
	if !ok {
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
	n := f.Count
	if n == 0 {
		n = 1
	}
	g.Count += n
	for _, id := range f.Flows {
		if len(g.Flows) < maxFlowsPerFinding {
			g.Flows = append(g.Flows, id)
		}
	}
	for _, e := range f.Evidence {
		if len(g.Evidence) < maxEvidencePerFinding {
			g.Evidence = append(g.Evidence, e)
		}
	}
	a.emit(g)
	return g.ID
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
