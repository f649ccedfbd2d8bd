package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

type mergeFlags struct {
	format string
	out    string
	failOn string
}

// newMergeCmd is `edgeaudit merge`: the JSON reports of several shards (or
// runs) combined into one report.
func newMergeCmd() *cobra.Command {
	var f mergeFlags
	cmd := &cobra.Command{
		Use:   "merge [flags] REPORT...",
		Short: "Combine JSON reports (the shards of a batch) into one report",
		Long: `Merge reads JSON reports written by "audit --format json" (- for standard
input) and writes one report: every input, flow and finding, the summary
over all of them and, in the text format, the per-file table and total.
The shards of one batch (--shard 1/N ... N/N) merge to the same totals as
the batch audited at once. Reports whose ids are not prefixed by a group
(runs without --shard) get r1/, r2/... so ids stay unique.

Exit status as audit's: 0, 1 when a finding is at or above --fail-on, 2 on
a usage error or an unreadable report.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runMerge(cmd, &f, args) },
	}
	cmd.Flags().StringVar(&f.format, "format", "json", "report format: text, json, ndjson, csv or parquet")
	cmd.Flags().StringVarP(&f.out, "out", "o", "", "write the report to this file instead of standard output (parquet: a directory, default .)")
	cmd.Flags().StringVar(&f.failOn, "fail-on", "error", "exit 1 when a finding has this severity or worse: error, warning or info")
	return cmd
}

// readReport reads one JSON report.
func readReport(path string, stdin io.Reader) (*report.Report, error) {
	var r io.Reader = stdin
	if path != "-" {
		fh, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
	}
	var rep report.Report
	dec := json.NewDecoder(r)
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("%s: not a JSON report: %w", path, err)
	}
	if rep.Schema != report.Schema {
		return nil, fmt.Errorf("%s: schema %q, want %q", path, rep.Schema, report.Schema)
	}
	return &rep, nil
}

// prefixed says whether a report's ids already carry a group prefix.
func prefixed(r *report.Report) bool {
	for _, f := range r.Flows {
		return strings.Contains(f.ID, "/")
	}
	for _, f := range r.Findings {
		if !strings.Contains(f.ID, "/") && !strings.HasPrefix(f.ID, "p") {
			return false
		}
	}
	return true
}

func runMerge(cmd *cobra.Command, f *mergeFlags, args []string) error {
	failOn, err := policy.ParseSeverity(f.failOn)
	if err != nil {
		return usageErr("--fail-on: %v", err)
	}
	if !validFormat(f.format) {
		return usageErr("--format %q: want %s", f.format, strings.Join(auditFormats, ", "))
	}
	out, err := newBatchOutput(cmd.OutOrStdout(), f.out, f.format)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	defer out.abort()
	st := &batchState{}
	for i, path := range args {
		rep, err := readReport(path, cmd.InOrStdin())
		if err != nil {
			return usageErr("%v", err)
		}
		if len(args) > 1 && !prefixed(rep) {
			rep.PrefixIDs("r" + strconv.Itoa(i+1) + "/")
		}
		for j := range rep.Findings {
			st.note(&rep.Findings[j])
		}
		if len(rep.Inputs) > 0 {
			st.readable = true
		}
		if err := out.add(i, rep); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
	}
	if err := out.commit(); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if st.anyFinding && st.worst >= failOn {
		return &exitError{code: exitFindings}
	}
	return nil
}

// add writes a whole report (one shard) to the output.
func (o *batchOutput) add(order int, r *report.Report) error {
	switch {
	case o.nd != nil:
		return o.nd.Group(r, "")
	case o.pq != nil:
		return o.pq.Group(r, "")
	}
	if o.merger == nil {
		return errors.New("no output")
	}
	return o.merger.Add(order, r, "")
}
