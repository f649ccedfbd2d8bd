package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgeaudit/edgeaudit/decode"
	"github.com/edgeaudit/edgeaudit/policy"
	"github.com/edgeaudit/edgeaudit/policy/audit"
	"github.com/edgeaudit/edgeaudit/policy/report"
	"github.com/edgeaudit/edgeaudit/tui"
)

type liveFlags struct {
	commonFlags
	ifaces       []string
	filter       string
	snaplen      int
	bufferSize   string
	noPromisc    bool
	headless     bool
	write        string
	rotateSize   string
	rotateTime   time.Duration
	zstd         bool
	keep         int
	duration     time.Duration
	count        uint64
	flowInterval time.Duration
	failOn       string
	noMouse      bool
	logFile      string
}

// newLiveCmd is `edgeaudit live`: capture from interfaces (SPAN/mirror
// ports) through the same pipeline as audit.
func newLiveCmd() *cobra.Command {
	var f liveFlags
	cmd := &cobra.Command{
		Use:   "live -i IFACE [-i IFACE2...] [flags]",
		Short: "Capture from interfaces (SPAN ports) and audit live",
		Long: `Live captures from one or more interfaces (each a capture point, correlated
like several files) and audits as the packets arrive. On a terminal it shows
the interactive UI; with --headless, or when standard output is not a
terminal, it streams NDJSON: a "flow" record when a flow ends ("state":"ended")
and every --flow-interval while it is open ("state":"open"), a "finding"
record the moment a finding is established or grows, and at the end an
"input" record per interface and the final state of every finding.

Capture filters (-f) use tcpdump syntax, compiled in-process to classic BPF
and run in the kernel; the subset: ` + decode.FilterSubset + `.
Anything else is refused. Without -f every frame is captured: unexpected
ports are what must be seen.

Needs root or CAP_NET_RAW (and CAP_NET_ADMIN for a receive buffer above
net.core.rmem_max): sudo setcap cap_net_raw,cap_net_admin+ep bin/edgeaudit

Stop with Ctrl-C (SIGINT) or SIGTERM: open flows are flushed, the end-of-input
checks run, the final report is printed and the open segment is finished.
Exit status: 0 no finding at or above --fail-on, 1 at least one, 2 usage
error, unreadable topology, or no interface could be opened.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runLive(cmd, &f) },
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.ifaces, "interface", "i", nil, "interface to capture from (repeat for several capture points)")
	fl.StringVarP(&f.filter, "filter", "f", "", "capture filter, tcpdump syntax (subset; see above); default: everything")
	fl.IntVar(&f.snaplen, "snaplen", decode.DefaultSnapLen, "bytes kept of each frame")
	fl.StringVar(&f.bufferSize, "buffer-size", "128M", "kernel receive buffer per interface (absorbs bursts), K/M/G are 1024-based")
	fl.BoolVar(&f.noPromisc, "no-promisc", false, "do not put the interfaces in promiscuous mode")
	fl.BoolVar(&f.headless, "headless", false, "no UI: stream NDJSON records on standard output")
	fl.StringVar(&f.write, "write", "", "also write the capture to this directory as rotating pcapng segments")
	fl.StringVar(&f.rotateSize, "rotate-size", "", "start a new segment after this much pcapng data (e.g. 100M; before compression)")
	fl.DurationVar(&f.rotateTime, "rotate-time", 0, "start a new segment after this long (e.g. 5m)")
	fl.BoolVar(&f.zstd, "zstd", false, "compress segments with zstd (.pcapng.zst; audit, Wireshark and tshark built with zstd read them)")
	fl.IntVar(&f.keep, "keep", 0, "keep at most this many finished segments, deleting the oldest (0: all)")
	fl.DurationVar(&f.duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	fl.Uint64Var(&f.count, "count", 0, "stop after this many frames over all interfaces (0: no limit)")
	fl.DurationVar(&f.flowInterval, "flow-interval", 30*time.Second, "headless: a record of every open flow this often (0: only when flows end)")
	fl.StringVar(&f.failOn, "fail-on", "error", "exit 1 when a finding has this severity or worse: error, warning or info")
	fl.BoolVar(&f.noMouse, "no-mouse", false, "UI: leave the mouse to the terminal")
	fl.StringVar(&f.logFile, "log", "", "UI: log file (default $XDG_STATE_HOME/edgeaudit/view.log)")
	return cmd
}

// parseSize reads 1048576, 512K, 100M, 2G (1024-based).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "I")
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'K':
			mult, s = 1<<10, s[:n-1]
		case 'M':
			mult, s = 1<<20, s[:n-1]
		case 'G':
			mult, s = 1<<30, s[:n-1]
		case 'T':
			mult, s = 1<<40, s[:n-1]
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (e.g. 100M)", s)
	}
	return v * mult, nil
}

func runLive(cmd *cobra.Command, f *liveFlags) error {
	if len(f.ifaces) == 0 {
		return usageErr("live: name an interface with -i (interfaces here: %s)", strings.Join(decode.InterfaceNames(), ", "))
	}
	seen := map[string]bool{}
	for _, i := range f.ifaces {
		if seen[i] {
			return usageErr("live: interface %s given twice", i)
		}
		seen[i] = true
	}
	failOn, err := policy.ParseSeverity(f.failOn)
	if err != nil {
		return usageErr("--fail-on: %v", err)
	}
	if f.snaplen < 64 || f.snaplen > decode.DefaultSnapLen {
		return usageErr("--snaplen %d: want 64 to %d", f.snaplen, decode.DefaultSnapLen)
	}
	bufSize, err := parseSize(f.bufferSize)
	if err != nil || bufSize > 1<<31-1 {
		return usageErr("--buffer-size: %v", err)
	}
	var rotSize int64
	if f.rotateSize != "" {
		if rotSize, err = parseSize(f.rotateSize); err != nil {
			return usageErr("--rotate-size: %v", err)
		}
	}
	if f.write == "" && (f.rotateSize != "" || f.rotateTime != 0 || f.zstd || f.keep != 0) {
		return usageErr("--rotate-size, --rotate-time, --zstd and --keep need --write DIR")
	}
	if f.keep < 0 || f.rotateTime < 0 || f.duration < 0 || f.flowInterval < 0 {
		return usageErr("--keep, --rotate-time, --duration and --flow-interval cannot be negative")
	}
	// Refuse a bad filter before touching any interface.
	if _, err := decode.CompileFilter(f.filter, decode.LinkTypeEthernet, f.snaplen); err != nil {
		return usageErr("-f: %v", err)
	}
	o, err := f.options()
	if err != nil {
		return err
	}

	var lives []*decode.Live
	closeAll := func() {
		for _, l := range lives {
			l.Close()
		}
	}
	for _, name := range f.ifaces {
		l, err := decode.OpenLive(name, decode.LiveOptions{SnapLen: f.snaplen, NoPromisc: f.noPromisc, BufferSize: int(bufSize), Filter: f.filter})
		if err != nil {
			closeAll()
			return &exitError{code: exitUsage, err: err}
		}
		lives = append(lives, l)
		// The kernel reports twice what was set; less than asked means
		// net.core.rmem_max applied (no CAP_NET_ADMIN).
		if int64(l.Buffer) < bufSize {
			fmt.Fprintf(cmd.ErrOrStderr(), "edgeaudit: %s: the kernel granted a %d KiB receive buffer, not %d KiB: bursts may be dropped (grant CAP_NET_ADMIN or raise net.core.rmem_max)\n",
				l.Name, l.Buffer>>10, bufSize>>10)
		}
	}

	var seg *decode.SegmentWriter
	if f.write != "" {
		var ifs []decode.SegmentInterface
		for _, l := range lives {
			ifs = append(ifs, decode.SegmentInterface{Name: l.Name, LinkType: l.LinkType, SnapLen: l.SnapLen, Filter: f.filter})
		}
		seg, err = decode.NewSegmentWriter(decode.SegmentOptions{Dir: f.write, MaxSize: rotSize, MaxAge: f.rotateTime,
			Zstd: f.zstd, Keep: f.keep, Interfaces: ifs})
		if err != nil {
			closeAll()
			return usageErr("--write: %v", err)
		}
	}

	var inputs []*audit.Input
	for _, l := range lives {
		inputs = append(inputs, &audit.Input{Src: l, Path: l.Name, Name: l.Name})
	}
	lo := audit.LiveOptions{FlowInterval: f.flowInterval, Count: f.count}
	if seg != nil {
		lo.Writer = seg
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// A second Ctrl-C kills at once.
		<-ctx.Done()
		stop()
	}()
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}

	stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
	var rep *report.Report
	if f.headless || !isTerminal(stdout) {
		for _, l := range lives {
			fmt.Fprintf(stderr, "edgeaudit: capturing on %s (receive buffer %d MiB%s)\n", l.Name, l.Buffer>>20, filterNote(f.filter))
		}
		sink := newNDJSONSink(stdout)
		o.Sink = sink
		rep, err = audit.RunLive(ctx, inputs, nil, o, lo)
		if err == nil {
			sink.final(rep)
		}
	} else {
		rep, err = runLiveTUI(ctx, f, o, inputs, lo)
	}
	var segErr error
	if seg != nil {
		segErr = seg.Close()
	}
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if rep != nil {
		s := rep.Summary.Findings
		fmt.Fprintf(stderr, "edgeaudit: %d packets, %d flows; %d error, %d warning, %d info findings\n",
			rep.Summary.Packets, rep.Summary.Flows, s["error"], s["warning"], s["info"])
	}
	if seg != nil {
		if segErr != nil {
			fmt.Fprintf(stderr, "edgeaudit: finishing the last segment: %v\n", segErr)
		}
		if segs := seg.Segments(); len(segs) > 0 {
			fmt.Fprintf(stderr, "edgeaudit: %d segments in %s, last %s\n", len(segs), f.write, segs[len(segs)-1])
		}
	}
	if rep != nil {
		if worst, any := rep.Worst(); any && worst >= failOn {
			return &exitError{code: exitFindings}
		}
	}
	return nil
}

func filterNote(expr string) string {
	if expr == "" {
		return ", no filter"
	}
	return ", filter " + strconv.Quote(expr)
}

// runLiveTUI shows the view UI over the live run.
func runLiveTUI(ctx context.Context, f *liveFlags, o audit.Options, inputs []*audit.Input, lo audit.LiveOptions) (*report.Report, error) {
	logPath, closeLog, err := openLog(f.logFile)
	if err != nil {
		return nil, fmt.Errorf("log file: %v", err)
	}
	defer closeLog()
	var points []tui.PointSource
	for _, in := range inputs {
		points = append(points, tui.PointSource{Point: in.Name, Iface: -1})
	}
	cfg := tui.Config{
		Load: func(ctx context.Context, sink audit.Sink) (*report.Report, error) {
			o := o
			o.Sink = sink
			return audit.RunLive(ctx, inputs, nil, o, lo)
		},
		Points:   points,
		Topology: o.Topology,
		Rules:    o.Rules,
		Mouse:    !f.noMouse,
		Title:    "live " + strings.Join(f.ifaces, " "),
	}
	log.Printf("live %s", strings.Join(f.ifaces, " "))
	rep, err := tui.Run(ctx, cfg)
	if err != nil {
		return rep, fmt.Errorf("terminal UI: %w (log: %s)", err, logPath)
	}
	return rep, nil
}

// ndjsonSink streams the live run as NDJSON. Records are written whole,
// one per line, as they come; a consumer that keeps the last record per
// flow or finding id has the current state.
type ndjsonSink struct {
	mu  sync.Mutex
	w   io.Writer
	enc *json.Encoder
	err error
}

func newNDJSONSink(w io.Writer) *ndjsonSink {
	return &ndjsonSink{w: w, enc: json.NewEncoder(w)}
}

type flowLine struct {
	Type  string `json:"type"`
	State string `json:"state"`
	*report.Flow
}

func (s *ndjsonSink) put(v any) {
	if s.err != nil {
		return
	}
	if err := s.enc.Encode(v); err != nil {
		// A closed pipe (| head) ends the output, not the capture's
		// bookkeeping.
		s.err = err
	}
}

func (s *ndjsonSink) Flow(f *report.Flow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(flowLine{Type: "flow", State: "ended", Flow: f})
}

func (s *ndjsonSink) FlowSnapshot(f *report.Flow, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(flowLine{Type: "flow", State: state, Flow: f})
}

func (s *ndjsonSink) Finding(f *report.Finding) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(report.Record{Type: "finding", Finding: f})
}

func (s *ndjsonSink) Progress(audit.Progress) {}

// final writes an input record per interface. Findings need no repeat:
// each was written when established and again whenever it grew, with the
// id it had in the stream (the final report renumbers worst first; the
// stream keeps the order of discovery).
func (s *ndjsonSink) final(rep *report.Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range rep.Inputs {
		s.put(report.Record{Type: "input", Input: &rep.Inputs[i]})
	}
}

var _ audit.OpenFlowSink = (*ndjsonSink)(nil)
