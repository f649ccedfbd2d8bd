// Package tui is edgeaudit's interactive terminal UI (Bubble Tea v2): an
// overview, the findings worst first, a sortable flows table and a detail
// view that explains a finding with the packets that prove it. The audit
// runs on its own goroutine and streams into the UI through a Feed; the UI
// takes what arrived about every 100 ms and never waits for the pipeline.
//
// Layout follows soft-serve and gh-dash: a root Model owns the layout and a
// read-only Context (sizes, styles, keys, data, filters); each screen is a
// pane with SetSize and its own small Update. Every string that came from a
// packet passes report.Printable (P) before it is drawn.
package tui

import (
	"context"
	"errors"
	"fmt"
	"log"
	"runtime/debug"

	tea "charm.land/bubbletea/v2"

	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// Config is what the UI needs from its command.
type Config struct {
	// Load runs the audit, calling sink as results come; it must return
	// soon after ctx is cancelled. view runs audit.Run over files; live
	// will run it over interfaces.
	Load func(ctx context.Context, sink audit.Sink) (*report.Report, error)
	// Points maps capture point names to their files, for `w` and the
	// flow timeline.
	Points   []PointSource
	Topology *policy.Topology // nil: inferred
	Rules    *policy.RuleSet  // nil: the default rules
	OutDir   string           // where `w` writes; "" is the current directory
	Mouse    bool             // wheel scrolling (takes the mouse from the terminal's own selection)
	Title    string           // window title suffix, e.g. the capture names
	// Styles overrides the background-dependent styles (tests use
	// PlainStyles); nil follows the terminal's background.
	Styles *Styles
	// Cancel stops Load; set by Run.
	Cancel context.CancelFunc
}

// Run shows the UI while the audit loads, until the user quits. Quitting
// cancels the audit and waits for its goroutine, so nothing is left
// writing when Run returns; the final report is returned if the audit got
// that far.
func Run(ctx context.Context, cfg Config, opts ...tea.ProgramOption) (*report.Report, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg.Cancel = cancel
	feed := NewFeed()
	type result struct {
		rep *report.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				// A crash in the pipeline must not leave the terminal raw:
				// show it as the run's error and log where it happened.
				log.Printf("audit panic: %v\n%s", p, debug.Stack())
				r.err = fmt.Errorf("internal error: %v (details in the log)", p)
			}
			feed.Finish(r.rep, r.err)
			done <- r
		}()
		r.rep, r.err = cfg.Load(ctx, feed)
	}()
	_, err := tea.NewProgram(New(cfg, feed), opts...).Run()
	cancel()
	r := <-done
	if errors.Is(err, tea.ErrInterrupted) {
		err = nil // SIGINT from outside: a clean stop like q
	}
	if err != nil {
		return r.rep, err
	}
	return r.rep, nil
}
