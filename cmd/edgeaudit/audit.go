package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/flows"
	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
)

// commonFlags are the flags every analysing command shares.
type commonFlags struct {
	topology string
	policy   string
	maxFlows int
	maxRecs  int
}

func (c *commonFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&c.topology, "topology", "", "topology file (YAML); without it roles are inferred from the packets")
	cmd.Flags().StringVar(&c.policy, "policy", "", "replace the built-in port rules with this rules file (YAML)")
	cmd.Flags().IntVar(&c.maxFlows, "max-flows", flows.Defaults.MaxFlows, "most flows held at once, per correlated group")
	cmd.Flags().IntVar(&c.maxRecs, "max-flow-records", audit.DefaultMaxFlowRecords, "most flow records a report keeps, per correlated group")
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
	o.MaxFlowRecords = c.maxRecs
	return o, nil
}

type auditFlags struct {
	commonFlags
	format    string
	out       string
	failOn    string
	jobs      int
	group     string
	shard     string
	filesFrom string
	progress  string
}

// auditFormats are the formats of audit and merge: the report writers'
// and parquet.
var auditFormats = append(append([]string{}, report.Formats...), "parquet")

func newAuditCmd() *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit [flags] PATH...",
		Short: "Audit captures and print a report",
		Long: `Audit reads every capture given: files, directories (searched recursively;
files that are not captures are skipped with a note), patterns, the paths
listed in --files-from, or - for standard input. Files are recognised by
content, not by name.

Files of one directory whose time ranges overlap are capture points of the
same moment: they are merged by time and correlated in one run. Every other
file is audited on its own. Runs go --jobs at a time.

--shard i/N audits a deterministic share of the inputs (whole directories,
by a hash of the directory path), so N machines or an Indexed Job can split
an archive; --shard auto/N takes i from JOB_COMPLETION_INDEX (0-based, as
Kubernetes sets it). "edgeaudit merge" combines the shards' JSON reports.

Exit status: 0 no finding at or above --fail-on, 1 at least one, 2 usage
error, unreadable topology, or no input readable at all.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && f.filesFrom == "" {
				return errors.New("requires at least one PATH or --files-from")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runAudit(cmd, &f, args) },
	}
	f.register(cmd)
	cmd.Flags().StringVar(&f.format, "format", "text", "report format: text, json, ndjson, csv or parquet")
	cmd.Flags().StringVarP(&f.out, "out", "o", "", "write the report to this file instead of standard output (parquet: a directory, default .)")
	cmd.Flags().StringVar(&f.failOn, "fail-on", "error", "exit 1 when a finding has this severity or worse: error, warning or info")
	cmd.Flags().IntVarP(&f.jobs, "jobs", "j", runtime.NumCPU(), "correlated groups audited at once")
	cmd.Flags().StringVar(&f.group, "group", "auto", "correlation: auto (same directory, overlapping times), dir (each directory one run), file (each file alone), all (everything one run)")
	cmd.Flags().StringVar(&f.shard, "shard", "", "audit only share i of N (i/N, 1-based; auto/N takes i from JOB_COMPLETION_INDEX+1)")
	cmd.Flags().StringVar(&f.filesFrom, "files-from", "", "read input paths from this file, one per line (- for standard input)")
	cmd.Flags().StringVar(&f.progress, "progress", "auto", "progress line on standard error: auto (when it is a terminal), always, never")
	return cmd
}

// parseShard reads "i/N" or "auto/N".
func parseShard(s string, getenv func(string) string) (audit.Shard, error) {
	if s == "" {
		return audit.Shard{}, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	if !ok {
		return audit.Shard{}, fmt.Errorf("--shard %q: want i/N or auto/N", s)
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 {
		return audit.Shard{}, fmt.Errorf("--shard %q: N must be a positive number", s)
	}
	var i int
	if is == "auto" {
		env := getenv("JOB_COMPLETION_INDEX")
		if env == "" {
			return audit.Shard{}, fmt.Errorf("--shard %s: JOB_COMPLETION_INDEX is not set", s)
		}
		k, err := strconv.Atoi(env)
		if err != nil {
			return audit.Shard{}, fmt.Errorf("--shard %s: JOB_COMPLETION_INDEX=%q is not a number", s, env)
		}
		i = k + 1
	} else if i, err = strconv.Atoi(is); err != nil {
		return audit.Shard{}, fmt.Errorf("--shard %q: i must be a number or auto", s)
	}
	if i < 1 || i > n {
		return audit.Shard{}, fmt.Errorf("--shard %s: want 1 <= i <= %d (got %d)", s, n, i)
	}
	return audit.Shard{Index: i, Count: n}, nil
}

func validFormat(s string) bool {
	for _, f := range auditFormats {
		if f == s {
			return true
		}
	}
	return false
}

func runAudit(cmd *cobra.Command, f *auditFlags, args []string) error {
	failOn, err := policy.ParseSeverity(f.failOn)
	if err != nil {
		return usageErr("--fail-on: %v", err)
	}
	if !validFormat(f.format) {
		return usageErr("--format %q: want %s", f.format, strings.Join(auditFormats, ", "))
	}
	if f.jobs < 1 {
		return usageErr("--jobs %d: want at least 1", f.jobs)
	}
	shard, err := parseShard(f.shard, os.Getenv)
	if err != nil {
		return usageErr("%v", err)
	}
	o, err := f.options()
	if err != nil {
		return err
	}
	// Records stay compact until written (they are rendered one by one
	// into the output or its spool).
	o.LazyFlows = true
	switch f.format {
	case "text":
		// The text report lists only the busiest flows; keeping every
		// record would make memory grow with the number of flows.
		o.TopFlows = report.TextTopFlows
	case "csv":
		o.TopFlows = 1 // findings only
	}
	files, err := collectInputs(args, f.filesFrom, cmd.InOrStdin())
	if err != nil {
		return usageErr("%v", err)
	}
	if len(files) == 0 {
		return usageErr("no input files in %v", args)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b, err := audit.PlanBatch(ctx, files, audit.BatchOptions{Options: o, Jobs: f.jobs, Group: audit.GroupMode(f.group), Shard: shard})
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: exitUsage, err: err}
		}
		return usageErr("%v", err)
	}

	out, err := newBatchOutput(cmd.OutOrStdout(), f.out, f.format)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	defer out.abort()
	if out.merger != nil {
		out.merger.TopologySource = "inferred"
		if f.topology != "" {
			out.merger.TopologySource = f.topology
		}
	}
	st := &batchState{}
	for i := range b.Problems {
		p := &b.Problems[i]
		rf := audit.ProblemFinding(p)
		st.note(&rf)
		if err := out.finding(&rf, p.Path); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
	}
	b.Prepare = out.prepare(b.Prefix)
	defer audit.TuneGC(min(f.jobs, len(b.Groups)))()
	stopProgress := startProgress(cmd.ErrOrStderr(), f.progress, b)
	runErr := b.Run(ctx, func(res *audit.GroupResult) error {
		if res.Err == nil {
			st.readable = true
		}
		if res.Report == nil {
			return nil
		}
		for i := range res.Report.Findings {
			st.note(&res.Report.Findings[i])
		}
		group := ""
		if b.Prefix {
			group = res.Group.ID
		}
		return out.group(res.Group, res.Report, group, res.Prepared)
	})
	stopProgress()
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return &exitError{code: exitUsage, err: runErr}
	}
	if runErr != nil {
		// Interrupted: what was done is written, and says it is partial.
		pr := b.Progress()
		rf := report.FromFinding(&policy.Finding{Kind: policy.KindInput, Severity: policy.Warning, Count: 1,
			Message:     fmt.Sprintf("the audit was interrupted: %d of %d files were read, the last ones perhaps only in part", pr.FilesDone, pr.Files),
			Consequence: "the files not audited are not in this report"})
		rf.ID = "interrupted"
		st.note(&rf)
		if err := out.finding(&rf, ""); err != nil {
			return &exitError{code: exitUsage, err: err}
		}
	}
	if err := out.commit(); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if shard.Count > 0 && len(b.Groups) == 0 && (!st.anyFinding || st.worst == policy.Info) {
		// This shard's share holds no capture (at most skipped files): a
		// clean, empty report, so that an Indexed Job's index succeeds.
		fmt.Fprintf(cmd.ErrOrStderr(), "edgeaudit: shard %d/%d has no captures (%d files belong to other shards)\n", shard.Index, shard.Count, b.Skipped)
		return nil
	}
	if !st.readable {
		why := st.firstInput
		if why == "" {
			why = "no packets"
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("%w: %s", audit.ErrNoInput, report.Printable(why))}
	}
	if st.anyFinding && st.worst >= failOn {
		return &exitError{code: exitFindings}
	}
	return nil
}

// batchState is what the exit status depends on.
type batchState struct {
	readable   bool
	anyFinding bool
	worst      policy.Severity
	firstInput string
}

func (s *batchState) note(f *report.Finding) {
	sev := f.SeverityOf()
	if !s.anyFinding || sev > s.worst {
		s.worst, s.anyFinding = sev, true
	}
	if s.firstInput == "" && f.Kind == string(policy.KindInput) {
		s.firstInput = f.Message
	}
}

// outputFile is where -o writes: a regular file through a temporary name
// renamed into place on commit (decode.CreateAtomic), but an existing
// device, pipe or socket (-o /dev/null, -o /dev/stdout, a FIFO) is written
// directly: renaming over it would replace the device with a file.
type outputFile interface {
	io.Writer
	Commit() error
	Abort() error
	Path() string
}

type directFile struct{ *os.File }

func (d directFile) Commit() error { return d.File.Close() }
func (d directFile) Abort() error  { return d.File.Close() }
func (d directFile) Path() string  { return d.File.Name() }

func createOutput(path string) (outputFile, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		if st.IsDir() {
			return nil, fmt.Errorf("%s is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		return directFile{f}, nil
	}
	return decode.CreateAtomic(path)
}

// batchOutput writes a batch in one format: text, json and csv when all
// groups are done (from a Merger that keeps only what they print), ndjson
// and parquet as each group finishes.
type batchOutput struct {
	format string
	merger *report.Merger
	nd     *report.BatchNDJSON
	pq     *report.ParquetWriter
	w      io.Writer
	files  []outputFile
	closer func() error
}

func newBatchOutput(stdout io.Writer, path, format string) (*batchOutput, error) {
	o := &batchOutput{format: format, w: stdout}
	if format == "parquet" {
		dir := path
		if dir == "" || dir == "-" {
			dir = "."
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		var ws []io.Writer
		for _, name := range []string{report.ParquetFlows, report.ParquetFindings, report.ParquetFiles} {
			af, err := createOutput(filepath.Join(dir, name))
			if err != nil {
				o.abort()
				return nil, err
			}
			o.files = append(o.files, af)
			ws = append(ws, af)
		}
		o.pq = report.NewParquetWriter(ws[0], ws[1], ws[2])
		return o, nil
	}
	if path != "" && path != "-" {
		af, err := createOutput(path)
		if err != nil {
			return nil, err
		}
		o.files = append(o.files, af)
		o.w = af
	}
	switch format {
	case "ndjson":
		o.nd = report.NewBatchNDJSON(o.w)
	case "json":
		o.merger = &report.Merger{Spool: true}
	default:
		o.merger = &report.Merger{DropFlows: true}
	}
	return o, nil
}

func (o *batchOutput) finding(f *report.Finding, path string) error {
	switch {
	case o.nd != nil:
		return o.nd.Finding(f, path)
	case o.pq != nil:
		return o.pq.Finding(f, path)
	}
	o.merger.AddFinding(*f, path)
	return nil
}

// prepare returns the encoding that can run on each group's own goroutine
// (JSON and NDJSON records), so that the serialised part of a batch is
// only the writing.
func (o *batchOutput) prepare(prefix bool) func(*audit.GroupResult) {
	label := func(res *audit.GroupResult) string {
		if prefix {
			return res.Group.ID
		}
		return ""
	}
	switch {
	case o.nd != nil:
		return func(res *audit.GroupResult) {
			if b, err := report.EncodeGroupNDJSON(res.Report, label(res)); err == nil {
				res.Prepared = b
			}
		}
	case o.merger != nil && o.merger.Spool:
		return func(res *audit.GroupResult) {
			if b, err := report.EncodeFlowsJSON(res.Report); err == nil {
				res.Prepared = b
			}
		}
	}
	return nil
}

func (o *batchOutput) group(g *audit.Group, r *report.Report, label string, prepared any) error {
	enc, _ := prepared.(*report.Spool)
	switch {
	case o.nd != nil:
		if enc != nil {
			return o.nd.WriteEncoded(enc)
		}
		return o.nd.Group(r, label)
	case o.pq != nil:
		return o.pq.Group(r, label)
	}
	return o.merger.AddEncoded(orderOf(g), r, label, enc)
}

// orderOf places a group in the combined report: plan order.
func orderOf(g *audit.Group) int { return g.Order() }

// commit writes what is kept and renames the outputs into place.
func (o *batchOutput) commit() error {
	var err error
	switch {
	case o.pq != nil:
		err = o.pq.Close()
	case o.merger != nil:
		switch o.format {
		case "json":
			err = o.merger.WriteJSON(o.w)
		case "csv":
			err = o.merger.WriteCSV(o.w)
		default:
			err = o.merger.WriteText(o.w, report.TextOptions{})
		}
		o.merger.Close()
	}
	if err != nil {
		return err
	}
	for _, af := range o.files {
		if err := af.Commit(); err != nil {
			return fmt.Errorf("%s: %w", af.Path(), err)
		}
	}
	o.files = nil
	return nil
}

func (o *batchOutput) abort() {
	if o.merger != nil {
		o.merger.Close()
	}
	for _, af := range o.files {
		af.Abort()
	}
	o.files = nil
}

// startProgress prints a progress line on w (standard error) while the
// batch runs: files done/total, bytes, rate and the estimated time left.
// By default only when w is a terminal.
func startProgress(w io.Writer, mode string, b *audit.Batch) func() {
	if mode == "never" || (mode != "always" && !isTerminal(w)) {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	go func() {
		defer wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintf(w, "\r\x1b[K")
				return
			case <-t.C:
				fmt.Fprintf(w, "\r\x1b[K%s", progressLine(b.Progress(), time.Since(start)))
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

func progressLine(p audit.BatchProgress, el time.Duration) string {
	rate := float64(p.BytesDone) / max(el.Seconds(), 0.001)
	s := fmt.Sprintf("edgeaudit: %d/%d files  %s", p.FilesDone, p.Files, humanBytes(p.BytesDone))
	if p.Bytes >= 0 {
		s += "/" + humanBytes(p.Bytes)
	}
	s += fmt.Sprintf("  %s/s", humanBytes(int64(rate)))
	if p.Bytes > 0 && rate > 0 && p.BytesDone > 0 {
		eta := time.Duration(float64(p.Bytes-p.BytesDone) / rate * float64(time.Second)).Round(time.Second)
		s += "  ETA " + eta.String()
	}
	return s
}

func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, u := float64(n), "kMGTPE"
	i := -1
	for f >= unit && i < len(u)-1 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, u[i])
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
	af, err := createOutput(path)
	if err != nil {
		return err
	}
	if err := report.Write(af, rep, format); err != nil {
		af.Abort()
		return fmt.Errorf("%s: %w", path, err)
	}
	return af.Commit()
}
