package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// commonFlags are the flags every analysing command shares.
type commonFlags struct {
	topology string
	policy   string
	maxFlows int
}

func (c *commonFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.topology, "topology", "", "topology file (YAML); without it roles are inferred from the packets")
	cmd.Flags().StringVar(&c.policy, "policy", "", "replace the built-in port rules with this rules file (YAML)")
	cmd.Flags().IntVar(&c.maxFlows, "max-flows", 0, "most flows held at once (default 200000)")
}

// options loads the topology and rules the flags name.
func (c *commonFlags) options() (audit.Options, error) {
	var o audit.Options
	if c.topology != "" {
		t, err := policy.LoadTopology(c.topology)
		if err != nil {
			return o, usageErr("%v", err)
		}
		o.Topology, o.TopologyPath = t, c.topology
	}
	if c.policy != "" {
		rs, err := policy.LoadRules(c.policy)
		if err != nil {
			return o, usageErr("%v", err)
		}
		o.Rules = rs
	}
	o.Flows.MaxFlows = c.maxFlows
	return o, nil
}

type auditFlags struct {
	commonFlags
	format string
	out    string
	failOn string
}

func newAuditCmd() *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit [flags] PATH...",
		Short: "Audit captures and print a report",
		Long: `Audit reads every capture given (files, directories searched recursively, or
- for standard input) as capture points of the same moment, correlates them,
and prints a report. Exit status: 0 no finding at or above --fail-on,
1 at least one, 2 usage error, unreadable topology, or no input readable.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runAudit(cmd, &f, args) },
	}
	f.register(cmd)
	cmd.Flags().StringVar(&f.format, "format", "text", "report format: text, json, ndjson or csv")
	cmd.Flags().StringVarP(&f.out, "out", "o", "", "write the report to this file instead of standard output")
	cmd.Flags().StringVar(&f.failOn, "fail-on", "error", "exit 1 when a finding has this severity or worse: error, warning or info")
	return cmd
}

func runAudit(cmd *cobra.Command, f *auditFlags, args []string) error {
	failOn, err := policy.ParseSeverity(f.failOn)
	if err != nil {
		return usageErr("--fail-on: %v", err)
	}
	if !validFormat(f.format) {
		return usageErr("--format %q: want text, json, ndjson or csv", f.format)
	}
	o, err := f.options()
	if err != nil {
		return err
	}
	paths, notes, err := expandInputs(args)
	if err != nil {
		return usageErr("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	inputs, problems := audit.OpenFiles(paths)
	problems = append(problems, notes...)
	rep, err := audit.Run(ctx, inputs, problems, o)
	if errors.Is(err, audit.ErrNoInput) {
		writeReport(cmd.OutOrStdout(), f.out, rep, f.format)
		return &exitError{code: exitUsage, err: fmt.Errorf("%w: %s", err, describeProblems(rep))}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return &exitError{code: exitUsage, err: err}
	}
	if werr := writeReport(cmd.OutOrStdout(), f.out, rep, f.format); werr != nil {
		return &exitError{code: exitUsage, err: werr}
	}
	if worst, any := rep.Worst(); any && worst >= failOn {
		return &exitError{code: exitFindings}
	}
	return nil
}

func validFormat(s string) bool {
	for _, f := range report.Formats {
		if f == s {
			return true
		}
	}
	return false
}

func describeProblems(rep *report.Report) string {
	for _, f := range rep.Findings {
		if f.Kind == string(policy.KindInput) {
			return f.Message
		}
	}
	return "no packets"
}

// writeReport writes to stdout, or to a file through a temporary name so an
// interrupted run never leaves half a report under the final name.
func writeReport(stdout io.Writer, path string, rep *report.Report, format string) error {
	if path == "" || path == "-" {
		return report.Write(stdout, rep, format)
	}
	af, err := decode.CreateAtomic(path)
	if err != nil {
		return err
	}
	if err := report.Write(af, rep, format); err != nil {
		af.Abort()
		return fmt.Errorf("%s: %w", path, err)
	}
	return af.Commit()
}
